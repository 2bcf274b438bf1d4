//! Running the enabled collectors side by side under one deadline and assembling the report.

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant, SystemTime};

use crate::model::{Agent, Facts, Host, Mode, PluginMessage, Report, SCHEMA_VERSION};
use crate::plugins::{self, BUILTIN, CUSTOM, Collector, Ctx, Output};
use crate::source::{CustomOutput, Source};

/// Which plugins run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    builtins: Vec<&'static str>,
    custom: CustomSelection,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum CustomSelection {
    None,
    All,
    Only(BTreeSet<String>),
}

/// A name in the plugin list matches no plugin.
#[derive(Debug, thiserror::Error)]
#[error("unknown plugin {name:?}; known plugins: {}, custom.<name>", plugins::known_names().join(", "))]
pub struct UnknownPlugin {
    /// The offending name.
    pub name: String,
}

impl Selection {
    /// Every built-in plugin and every custom plugin.
    pub fn all() -> Self {
        Selection { builtins: BUILTIN.iter().map(|c| c.name()).collect(), custom: CustomSelection::All }
    }

    /// From names as written in a config file or `--only`: built-in names, `custom` (all custom
    /// plugins) or `custom.<name>`.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, UnknownPlugin> {
        let mut builtins = Vec::new();
        let mut custom = CustomSelection::None;
        for name in names {
            let name = name.as_ref().trim();
            if let Some(c) = BUILTIN.iter().find(|c| c.name() == name) {
                if !builtins.contains(&c.name()) {
                    builtins.push(c.name());
                }
            } else if name == CUSTOM {
                custom = CustomSelection::All;
            } else if let Some(one) = name.strip_prefix("custom.").filter(|n| plugins::custom::valid_name(n)) {
                match &mut custom {
                    CustomSelection::All => {}
                    CustomSelection::Only(set) => {
                        set.insert(one.to_owned());
                    }
                    CustomSelection::None => custom = CustomSelection::Only(BTreeSet::from([one.to_owned()])),
                }
            } else {
                return Err(UnknownPlugin { name: name.to_owned() });
            }
        }
        builtins.sort_by_key(|n| BUILTIN.iter().position(|c| c.name() == *n));
        Ok(Selection { builtins, custom })
    }

    /// True when built-in plugin `name` is selected.
    pub fn has(&self, name: &str) -> bool {
        self.builtins.contains(&name)
    }

    fn wants_custom(&self, name: &str) -> bool {
        match &self.custom {
            CustomSelection::None => false,
            CustomSelection::All => true,
            CustomSelection::Only(set) => set.contains(name),
        }
    }
}

/// How to collect.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Plugins to run.
    pub selection: Selection,
    /// Deadline for every plugin; one that is still running then becomes an error entry.
    pub timeout: Duration,
    /// Recorded in `agent.mode`.
    pub mode: Mode,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions { selection: Selection::all(), timeout: Duration::from_secs(15), mode: Mode::Cli }
    }
}

enum Finished {
    Builtin(&'static str, Box<Result<Output, String>>),
    Custom(Vec<(String, CustomOutput)>),
}

/// Collects a report from `source`. Never fails: whatever goes wrong is in `report.errors`.
pub fn collect(source: Arc<dyn Source>, options: &CollectOptions) -> Report {
    let started = Instant::now();
    let ctx = Arc::new(Ctx::new(Arc::clone(&source)));
    let (tx, rx) = mpsc::channel::<Finished>();
    let mut pending: Vec<&'static str> = Vec::new();

    for collector in BUILTIN.iter().copied().filter(|c| options.selection.has(c.name())) {
        pending.push(collector.name());
        let (ctx, tx) = (Arc::clone(&ctx), tx.clone());
        let job = move || {
            let result = run_guarded(collector, &ctx);
            let _ = tx.send(Finished::Builtin(collector.name(), Box::new(result)));
        };
        spawn_or_run(collector.name(), job);
    }
    if options.selection.custom != CustomSelection::None {
        pending.push(CUSTOM);
        let (source, tx, selection) = (Arc::clone(&source), tx.clone(), options.selection.clone());
        spawn_or_run(CUSTOM, move || {
            let outputs =
                source.custom_plugins().into_iter().filter(|(name, _)| selection.wants_custom(name)).collect();
            let _ = tx.send(Finished::Custom(outputs));
        });
    }
    drop(tx);

    let deadline = started + options.timeout;
    let mut facts = Facts::default();
    let mut finished: Vec<(&'static str, Result<Output, String>)> = Vec::new();
    let mut custom: Vec<(String, CustomOutput)> = Vec::new();
    while !pending.is_empty() {
        let wait = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(Finished::Builtin(name, result)) => {
                pending.retain(|p| *p != name);
                finished.push((name, *result));
            }
            Ok(Finished::Custom(outputs)) => {
                pending.retain(|p| *p != CUSTOM);
                custom = outputs;
            }
            Err(_) => break,
        }
    }

    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    // Report order follows the registry, not completion order, so reports are reproducible.
    finished.sort_by_key(|(name, _)| BUILTIN.iter().position(|c| c.name() == *name));
    for (name, result) in finished {
        match result {
            Ok(output) => {
                absorb(&mut facts, output.facts);
                warnings.extend(
                    output.warnings.into_iter().map(|message| PluginMessage { plugin: name.to_owned(), message }),
                );
            }
            Err(message) => {
                tracing::warn!(plugin = name, %message, "collector failed");
                errors.push(PluginMessage { plugin: name.to_owned(), message });
            }
        }
    }
    for name in &pending {
        let message = format!("timed out after {}", humantime::format_duration(options.timeout));
        tracing::warn!(plugin = *name, %message, "collector failed");
        errors.push(PluginMessage { plugin: (*name).to_owned(), message });
    }
    // SMBIOS's power supplies unknown (board failed, or the table was read in part): the FRU
    // records' alone would read as the others removed, so the section is absent.
    let smbios_failed = ctx.smbios_used().is_some_and(|s| s.error.is_some());
    if smbios_failed || errors.iter().any(|e| e.plugin == "board") {
        facts.power_supplies = None;
    }
    if let Some(message) = ctx.smbios_used().and_then(|s| s.error.clone()) {
        let plugin = ["board", "cpu", "memory"].into_iter().find(|p| options.selection.has(p)).unwrap_or("board");
        errors.push(PluginMessage { plugin: plugin.to_owned(), message });
    }
    custom.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, output) in custom {
        match plugins::custom::decode(&output) {
            Ok(value) => {
                facts.custom.insert(name, value);
            }
            Err(message) => {
                tracing::warn!(plugin = %format!("custom.{name}"), %message, "custom plugin failed");
                errors.push(PluginMessage { plugin: format!("custom.{name}"), message });
            }
        }
    }

    let hostname = crate::names::configured(source.value("/proc/sys/kernel/hostname"));
    tracing::debug!(elapsed_us = started.elapsed().as_micros() as u64, "collection finished");
    Report {
        schema_version: SCHEMA_VERSION,
        report_id: uuid::Uuid::new_v4().to_string(),
        collected_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        agent: Agent {
            name: "assetkit".to_owned(),
            version: crate::model::VERSION.to_owned(),
            mode: options.mode,
            enrol_key: None,
        },
        host: Host { hostname, cert_hostname: None },
        facts,
        errors,
        warnings,
    }
}

fn run_guarded(collector: &dyn Collector, ctx: &Ctx) -> Result<Output, String> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| collector.collect(ctx))) {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(e)) => Err(e.to_string()),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned());
            Err(format!("collector panicked: {}", what.unwrap_or_else(|| "unknown cause".to_owned())))
        }
    }
}

/// Threads let a hung plugin be abandoned at the deadline; if the OS refuses a thread, the job
/// runs inline rather than not at all.
fn spawn_or_run(name: &str, job: impl FnOnce() + Send + 'static) {
    let job = std::sync::Mutex::new(Some(job));
    let job = Arc::new(job);
    let for_thread = Arc::clone(&job);
    let spawned = std::thread::Builder::new().name(format!("collect-{name}")).spawn(move || {
        if let Some(f) = for_thread.lock().ok().and_then(|mut g| g.take()) {
            f();
        }
    });
    if spawned.is_err()
        && let Some(f) = job.lock().ok().and_then(|mut g| g.take())
    {
        f();
    }
}

fn absorb(into: &mut Facts, from: Facts) {
    // Power supplies come from SMBIOS (board) and from the BMC's FRU records (bmc): one unit
    // with one serial in both is reported once.
    match (&mut into.power_supplies, from.power_supplies) {
        (Some(have), Some(more)) => crate::parse::fru::merge_power_supplies(have, more),
        (have @ None, Some(more)) => *have = Some(more),
        (_, None) => {}
    }
    macro_rules! take {
        ($($field:ident),*) => { $( if from.$field.is_some() { into.$field = from.$field; } )* };
    }
    take!(
        os,
        system,
        baseboard,
        bios,
        cpu,
        memory,
        disks,
        raid_controllers,
        nics,
        bmc,
        fc_hbas,
        gpus,
        packages,
        packages_digest,
        guests,
        cloud
    );
    into.custom.extend(from.custom);
}
