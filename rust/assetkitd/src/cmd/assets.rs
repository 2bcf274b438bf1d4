//! `assetkitd assets`: list, show, add and edit assets.

use anyhow::Context;
use clap::{Args, Subcommand};

use super::table::{Column, Table};
use super::{DbArg, cli_actor};
use crate::domain::inventory;
use crate::out;
use crate::store::{self, Db, DbExt, now};

/// The `assets` subcommands (their doc comments are the help text; `db` is the shared `--db`).
#[derive(Subcommand)]
pub enum AssetsCommand {
    /// List assets, filtered and paged.
    List(ListArgs),
    /// Show one asset (by id or hostname): facts, components, plugin errors, recent changes.
    Show(ShowArgs),
    /// Enter a host by hand (the name SSH and Salt sweeps will use).
    Add(AddArgs),
    /// Change an asset: rename (the rename hosts' cert files follow), assign, retire.
    Set(SetArgs),
}

/// List assets, filtered and paged.
#[allow(missing_docs)]
#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    db: DbArg,
    /// discovered, online, offline, in_stock, retired. Offline: in service (online or
    /// discovered) with its last report older than the server's --offline-after (what the last
    /// `assetkitd serve` on this store was given; 7 days if none ran).
    #[arg(long)]
    status: Option<String>,
    /// Business unit name.
    #[arg(long)]
    business_unit: Option<String>,
    /// IDC name.
    #[arg(long)]
    idc: Option<String>,
    /// Free text over hostname, serial number, IPs and MACs.
    #[arg(short, long)]
    query: Option<String>,
    /// Page (1-based).
    #[arg(long, default_value_t = 1)]
    page: u32,
    /// Rows per page.
    #[arg(long, default_value_t = 50)]
    per_page: u32,
    /// hostname, -hostname, last_seen, -last_seen, serial_number, id, -id.
    #[arg(long)]
    sort: Option<String>,
    /// A filter as the API list takes it, NAME=VALUE, repeatable: tag, owner, manufacturer,
    /// model, os, virtual (true/false), memory_min_gib, memory_below_gib, cores_min, cores_max,
    /// not_seen_days, hypervisor_id, cloud, warranty_within_days, cf_FIELD (a custom field's
    /// value). Example: --filter tag=web --filter cf_cost_centre=4711
    #[arg(long = "filter", value_name = "NAME=VALUE")]
    filters: Vec<String>,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// Show one asset (by id or hostname): facts, components, plugin errors, recent changes.
#[allow(missing_docs)]
#[derive(Args)]
pub struct ShowArgs {
    #[command(flatten)]
    db: DbArg,
    /// Asset id or hostname.
    asset: String,
    /// JSON output (the full asset with its last report).
    #[arg(long)]
    json: bool,
}

/// Enter a host by hand (the name SSH and Salt sweeps will use).
#[allow(missing_docs)]
#[derive(Args)]
pub struct AddArgs {
    #[command(flatten)]
    db: DbArg,
    /// Hostname.
    hostname: String,
    /// Serial number, if known.
    #[arg(long)]
    serial_number: Option<String>,
    /// Business unit (created if new).
    #[arg(long)]
    business_unit: Option<String>,
    /// IDC (created if new).
    #[arg(long)]
    idc: Option<String>,
    /// Rack.
    #[arg(long)]
    rack: Option<String>,
    /// Position in the rack.
    #[arg(long)]
    position: Option<String>,
    /// Let the first report signed with the fleet key that names this host bind it. Without
    /// it, such a report waits for `assetkitd hosts approve` (or pre-enrol the host with
    /// `assetkitd hosts enrol`).
    #[arg(long)]
    open_enrolment: bool,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// Change an asset: rename (the rename hosts' cert files follow), assign, retire.
#[allow(missing_docs)]
#[derive(Args)]
pub struct SetArgs {
    #[command(flatten)]
    db: DbArg,
    /// Asset id or hostname.
    asset: String,
    /// New hostname.
    #[arg(long)]
    hostname: Option<String>,
    /// Business unit ("" clears).
    #[arg(long)]
    business_unit: Option<String>,
    /// IDC ("" clears).
    #[arg(long)]
    idc: Option<String>,
    /// Rack ("" clears).
    #[arg(long)]
    rack: Option<String>,
    /// Position ("" clears).
    #[arg(long)]
    position: Option<String>,
    /// discovered, online, in_stock, retired.
    #[arg(long)]
    status: Option<String>,
    /// The person or team accountable ("" clears).
    #[arg(long)]
    owner: Option<String>,
    /// Their e-mail ("" clears).
    #[arg(long)]
    owner_email: Option<String>,
    /// Purchase date, YYYY-MM-DD ("" clears).
    #[arg(long)]
    purchase_date: Option<String>,
    /// Warranty end, YYYY-MM-DD ("" clears).
    #[arg(long)]
    warranty_end: Option<String>,
    /// The whole set of tags, comma-separated ("" removes them all).
    #[arg(long)]
    tags: Option<String>,
    /// A custom field's value, NAME=VALUE (NAME= clears it); repeatable. Fields are defined
    /// with `assetkitd fields add`.
    #[arg(long = "field", value_name = "NAME=VALUE")]
    fields: Vec<String>,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// `NAME=VALUE` pairs of a repeated flag.
fn pairs(flag: &str, raw: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    raw.iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                .with_context(|| format!("--{flag} takes NAME=VALUE; got {p:?}"))
        })
        .collect()
}

fn resolve(db: &mut dyn Db, asset: &str) -> anyhow::Result<i64> {
    if let Ok(id) = asset.parse::<i64>() {
        return Ok(id);
    }
    let id: Option<i64> = db.scalar_opt(
        "SELECT id FROM assets WHERE hostname = ?1 ORDER BY status = 'retired', id LIMIT 1",
        crate::args![asset],
    )?;
    id.with_context(|| format!("no asset with hostname {asset}"))
}

/// The line the servers draw (`serve --offline-after`, recorded in the store when a server
/// starts; 7 days if none ever ran on it).
fn offline_cutoff(db: &mut dyn Db) -> anyhow::Result<i64> {
    let after = inventory::presence::offline_after(db)?;
    Ok(now() - after.as_secs() as i64)
}

fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "-".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Runs `assets`.
pub fn run(cmd: AssetsCommand) -> anyhow::Result<()> {
    match cmd {
        AssetsCommand::List(args) => list(args),
        AssetsCommand::Show(args) => show(args),
        AssetsCommand::Add(args) => add(args),
        AssetsCommand::Set(args) => set(args),
    }
}

fn list(
    ListArgs { db, status, business_unit, idc, query, page, per_page, sort, filters, json }: ListArgs,
) -> anyhow::Result<()> {
    use crate::http::params::{NARROWING_PARAMS, Params, narrowing};
    let given = Params::from_pairs(pairs("filter", &filters)?);
    let more = given.only(NARROWING_PARAMS).and_then(|()| narrowing(&given)).map_err(|e| anyhow::anyhow!(e.message))?;
    let mut db = db.open()?;
    let filter = inventory::AssetFilter {
        status,
        business_unit,
        idc,
        q: query,
        page: Some(page),
        per_page: Some(per_page),
        sort,
        after_id: None,
        packages: Default::default(),
        more,
    };
    let cutoff = offline_cutoff(db.as_mut())?;
    let result = inventory::list_assets(db.as_mut(), &filter, cutoff)?;
    if json {
        out!("{}", serde_json::to_string_pretty(&result)?);
        return Ok(());
    }
    let mut table = Table::new(&[
        Column::number("ID"),
        Column::text("HOSTNAME", 40),
        Column::text("STATUS", 12),
        Column::text("SERIAL", 24),
        Column::text("MODEL", 28),
        Column::text("IP", 39),
        Column::text("LAST SEEN", 25),
    ]);
    for a in &result.assets {
        table.row([
            cell(&a["id"]),
            cell(&a["hostname"]),
            cell(&a["status"]),
            cell(&a["serial_number"]),
            cell(&a["model"]),
            a["ips"].as_array().and_then(|i| i.first()).map(cell).unwrap_or_else(|| "-".into()),
            cell(&a["last_seen"]),
        ]);
    }
    table.print();
    out!(
        "{} of {}{} assets (page {}, {} per page)",
        result.assets.len(),
        if result.total_exact { "" } else { "more than " },
        result.total,
        result.page,
        result.per_page
    );
    Ok(())
}

fn show(ShowArgs { db, asset, json }: ShowArgs) -> anyhow::Result<()> {
    let mut db = db.open()?;
    let id = resolve(db.as_mut(), &asset)?;
    let cutoff = offline_cutoff(db.as_mut())?;
    let detail = inventory::asset_detail(db.as_mut(), id, cutoff)?.with_context(|| format!("no asset {id}"))?;
    let changes = inventory::asset_changes(db.as_mut(), id, 20, None)?;
    if json {
        let mut detail = detail;
        detail["changes"] = serde_json::Value::Array(changes);
        out!("{}", serde_json::to_string_pretty(&detail)?);
        return Ok(());
    }
    for key in [
        "id",
        "hostname",
        "status",
        "serial_number",
        "uuid",
        "manufacturer",
        "model",
        "os",
        "cpu_model",
        "cpu_cores",
        "memory_bytes",
        "ips",
        "macs",
        "business_unit",
        "idc",
        "rack",
        "position",
        "reported_hostname",
        "last_mode",
        "first_seen",
        "last_seen",
    ] {
        out!("{key:<18} {}", cell(&detail[key]));
    }
    if let Some(components) = detail["components"].as_object() {
        for kind in ["memory_module", "disk", "raid_controller", "logical_drive", "nic", "psu", "fc_hba", "gpu"] {
            let Some(list) = components.get(kind).and_then(|l| l.as_array()) else { continue };
            out!("\n{kind} ({})", list.len());
            for c in list {
                let summary: Vec<String> = [
                    "slot",
                    "location",
                    "name",
                    "host",
                    "pci_address",
                    "model",
                    "raid_level",
                    "size_bytes",
                    "serial_number",
                    "firmware",
                    "state",
                    "port_wwn",
                    "mac",
                    "addresses",
                    "lldp",
                ]
                .iter()
                .filter_map(|k| {
                    c.get(*k)
                        .filter(|v| !v.is_null())
                        .map(|v| format!("{k}={}", crate::domain::components::render(v).unwrap_or_default()))
                })
                .collect();
                out!("  {}", summary.join("  "));
            }
        }
    }
    if let Some(errors) = detail["errors"].as_array().filter(|e| !e.is_empty()) {
        out!("\nplugin errors");
        for e in errors {
            out!("  {}: {}", cell(&e["plugin"]), cell(&e["message"]));
        }
    }
    out!("\nchanges (newest first, {} in all)", detail["change_count"]);
    for c in &changes {
        out!(
            "  {}  {:<14} {}",
            cell(&c["at"]),
            cell(&c["actor"]).chars().take(14).collect::<String>(),
            cell(&c["summary"])
        );
    }
    Ok(())
}

fn add(
    AddArgs { db, hostname, serial_number, business_unit, idc, rack, position, open_enrolment, json }: AddArgs,
) -> anyhow::Result<()> {
    let mut db = db.open()?;
    let input = inventory::NewAsset {
        hostname,
        serial_number,
        business_unit,
        idc,
        rack,
        position,
        status: None,
        open_enrolment,
    };
    let id = store::transaction(db.as_mut(), |db| inventory::create_asset(db, &input, &cli_actor(), now()))?;
    if json {
        out!("{}", serde_json::json!({"asset_id": id}));
    } else {
        out!("asset {id} created");
    }
    Ok(())
}

fn set(
    SetArgs {
        db,
        asset,
        hostname,
        business_unit,
        idc,
        rack,
        position,
        status,
        owner,
        owner_email,
        purchase_date,
        warranty_end,
        tags,
        fields,
        json,
    }: SetArgs,
) -> anyhow::Result<()> {
    let fields = pairs("field", &fields)?;
    let mut db = db.open()?;
    let id = resolve(db.as_mut(), &asset)?;
    let patch = inventory::AssetPatch {
        hostname,
        business_unit,
        idc,
        rack,
        position,
        status,
        owner_name: owner,
        owner_email,
        purchase_date,
        warranty_end,
        tags: tags.map(|t| t.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()),
        fields: (!fields.is_empty()).then(|| fields.into_iter().map(|(k, v)| (k, Some(v))).collect()),
    };
    let n = store::transaction(db.as_mut(), |db| inventory::update_asset(db, id, &patch, &cli_actor(), now()))?;
    if json {
        out!("{}", serde_json::json!({"asset_id": id, "changes": n}));
    } else {
        out!("asset {id}: {n} change(s) recorded");
    }
    Ok(())
}
