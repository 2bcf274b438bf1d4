//! What the console's home page shows: the fleet's make-up and what changed lately, as plain
//! numbers. Every query is an aggregate, bounded by `LIMIT` or by the 30 days, and served by an
//! existing index; the make-up (model, memory, cores), placement (business unit, IDC) and the
//! changes per day are read from the counts triggers keep (`makeup_counts`,
//! `change_day_counts`), a few hundred rows whatever the size of the fleet.

use std::collections::BTreeMap;

use crate::domain::Result;
use crate::domain::inventory;
use crate::store::{Db, DbExt};

/// Bars shown per chart of names (models, IDCs, business units); the rest are summed as "other".
pub const TOP: usize = 10;
/// Days in the changes chart.
pub const DAYS: i64 = 30;
/// A host with no report for this long is listed as silent.
pub const SILENT_AFTER: i64 = 86_400;
/// Rows in the silent-hosts and recent-changes lists.
pub const LIST_ROWS: u32 = 15;

/// Component kinds whose changes are hardware changes (a disk swapped, a DIMM gone...).
pub const HARDWARE: &[&str] = &[
    "memory_module",
    "disk",
    "nic",
    "psu",
    "gpu",
    "fc_hba",
    "raid_controller",
    "logical_drive",
    "cpu",
    "memory",
    "bmc",
];

/// One bar: a name and how many assets (or events) it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Count {
    /// What the bar is ("dc1", "Dell Inc. PowerEdge R640", "16–32 GiB").
    pub label: String,
    /// The asset list's filter for exactly what the bar counts (query parameters), when there
    /// is one ("other" has none).
    pub filter: Option<Vec<(&'static str, String)>>,
    /// How many.
    pub n: u64,
}

/// One day of the changes chart: events per group of component kinds.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    /// Midnight UTC, unix seconds.
    pub start: i64,
    /// Events per [`CHANGE_GROUPS`] entry, in that order.
    pub counts: Vec<u64>,
}

/// The stacks of the changes chart, each a few component kinds.
pub const CHANGE_GROUPS: &[(&str, &[&str])] = &[
    ("disks", &["disk", "logical_drive", "raid_controller"]),
    ("memory", &["memory_module", "memory"]),
    ("network", &["nic", "fc_hba"]),
    ("power", &["psu"]),
    ("other hardware", &["cpu", "gpu", "bmc", "baseboard", "system"]),
    ("software", &["os", "bios", "custom"]),
    ("asset", &["asset", "security"]),
];

/// An asset that has not reported for more than [`SILENT_AFTER`].
#[derive(Debug, Clone, PartialEq)]
pub struct Silent {
    /// Asset id.
    pub id: i64,
    /// Its hostname.
    pub hostname: Option<String>,
    /// Its last report, unix seconds.
    pub last_seen: i64,
}

/// A recent hardware change event.
#[derive(Debug, Clone, PartialEq)]
pub struct HardwareChange {
    /// Asset id.
    pub asset_id: i64,
    /// Its hostname.
    pub hostname: Option<String>,
    /// When, unix seconds.
    pub at: i64,
    /// The component kind (disk, memory_module...).
    pub component: String,
    /// The event's one line ("Disk 2 replaced...").
    pub summary: String,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    /// Assets per status, "offline" derived as in the list.
    pub statuses: Vec<(String, u64)>,
    /// The most common manufacturer + model pairs.
    pub models: Vec<Count>,
    /// Assets per IDC, the largest first.
    pub idcs: Vec<Count>,
    /// Assets per business unit, the largest first.
    pub business_units: Vec<Count>,
    /// Assets per memory size bucket (powers of two in GiB), smallest first.
    pub memory: Vec<Count>,
    /// Assets per CPU core count bucket (powers of two), smallest first.
    pub cores: Vec<Count>,
    /// The last [`DAYS`] days, oldest first.
    pub days: Vec<Day>,
    /// How many online hosts have been silent more than [`SILENT_AFTER`].
    pub silent_total: u64,
    /// The longest-silent of them.
    pub silent: Vec<Silent>,
    /// The latest hardware changes.
    pub hardware_changes: Vec<HardwareChange>,
    /// Assets in service whose warranty ends in the next [`WARRANTY_DAYS`] days: how many, and
    /// the soonest (id, name, end date).
    pub warranties: (u64, Vec<Warranty>),
}

/// An asset whose warranty ends soon: id, name, end date.
pub type Warranty = (i64, String, String);

/// The dashboard's warranty horizon, days.
pub const WARRANTY_DAYS: i64 = 90;

/// Warranties ending within [`WARRANTY_DAYS`] of `now` (retired assets left out).
fn warranties(db: &mut dyn Db, now: i64) -> Result<(u64, Vec<Warranty>)> {
    let day = |t: i64| crate::domain::inventory::list::day_of(t).unwrap_or_default();
    let (from, to) = (day(now), day(now + WARRANTY_DAYS * 86_400));
    let where_ = "warranty_end >= ?1 AND warranty_end <= ?2 AND status <> 'retired'";
    let total: u64 = db.scalar(&format!("SELECT COUNT(*) FROM assets WHERE {where_}"), crate::args![&from, &to])?;
    let soonest = db
        .query(
            &format!(
                "SELECT id, COALESCE(hostname, serial_number, ''), warranty_end FROM assets WHERE {where_} \
                 ORDER BY warranty_end, id LIMIT 10"
            ),
            crate::args![&from, &to],
        )?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .collect::<Result<_>>()?;
    Ok((total, soonest))
}

/// Reads the dashboard as of `now`; `offline_cutoff` is the list's "offline" threshold.
pub fn load(db: &mut dyn Db, now: i64, offline_cutoff: i64) -> Result<Dashboard> {
    let (models, memory, cores) = makeup(db)?;
    let (business_units, idcs) = placement(db)?;
    let (silent_total, silent) = silent(db, now - SILENT_AFTER)?;
    Ok(Dashboard {
        statuses: inventory::status_counts(db, offline_cutoff)?,
        models,
        idcs,
        business_units,
        memory,
        cores,
        days: days(db, now)?,
        silent_total,
        silent,
        hardware_changes: hardware_changes(db, now)?,
        warranties: warranties(db, now)?,
    })
}

/// Folds everything past the first [`TOP`] into one unlinked "other" bar.
fn top(mut counts: Vec<Count>) -> Vec<Count> {
    counts.sort_by(|a, b| b.n.cmp(&a.n).then_with(|| a.label.cmp(&b.label)));
    if counts.len() > TOP {
        let rest: u64 = counts.drain(TOP..).map(|c| c.n).sum();
        counts.push(Count { label: "other".into(), filter: None, n: rest });
    }
    counts
}

/// Assets per business unit and per IDC from the kept counts (the groups are the pairs in
/// use); the small name tables name them.
fn placement(db: &mut dyn Db) -> Result<(Vec<Count>, Vec<Count>)> {
    let rows = db.query(
        "SELECT business_unit_id, idc_id, CAST(SUM(delta) AS BIGINT) FROM makeup_counts \
         GROUP BY business_unit_id, idc_id HAVING SUM(delta) > 0",
        &[],
    )?;
    let (mut bus, mut idcs) = (BTreeMap::<i64, u64>::new(), BTreeMap::<i64, u64>::new());
    for row in rows {
        let (bu, idc, n): (Option<i64>, Option<i64>, u64) = (row.get(0)?, row.get(1)?, row.get(2)?);
        if let Some(bu) = bu {
            *bus.entry(bu).or_default() += n;
        }
        if let Some(idc) = idc {
            *idcs.entry(idc).or_default() += n;
        }
    }
    Ok((named(db, "business_units", bus)?, named(db, "idcs", idcs)?))
}

/// Counts by id as counts by name; `table` is one of the two name lists, never input.
fn named(db: &mut dyn Db, table: &str, counts: BTreeMap<i64, u64>) -> Result<Vec<Count>> {
    let mut out = Vec::with_capacity(counts.len());
    for row in db.query(&format!("SELECT id, name FROM {table}"), &[])? {
        let (id, name): (i64, String) = (row.get(0)?, row.get(1)?);
        if let Some(n) = counts.get(&id) {
            let param = if table == "idcs" { "idc" } else { "business_unit" };
            out.push(Count { label: name.clone(), filter: Some(vec![(param, name)]), n: *n });
        }
    }
    Ok(top(out))
}

const GIB: i64 = 1 << 30;

/// The power-of-two bucket `v` falls in: 0 for 0 and 1, 1 for 2..3, 2 for 4..7...
fn bucket(v: i64) -> u32 {
    if v < 2 { 0 } else { 63 - v.leading_zeros() }
}

/// The fleet's make-up from the kept counts: assets per model, memory bucket and core bucket.
/// The groups are the distinct hardware configurations (a few hundred in a large fleet),
/// bucketed here, not in SQL.
fn makeup(db: &mut dyn Db) -> Result<(Vec<Count>, Vec<Count>, Vec<Count>)> {
    let rows = db.query(
        "SELECT manufacturer, model, memory_bytes, cpu_cores, CAST(SUM(delta) AS BIGINT) FROM makeup_counts \
         GROUP BY manufacturer, model, memory_bytes, cpu_cores HAVING SUM(delta) > 0",
        &[],
    )?;
    let mut models = std::collections::HashMap::<(Option<String>, Option<String>), u64>::new();
    let (mut memory, mut cores) = (BTreeMap::<u32, u64>::new(), BTreeMap::<u32, u64>::new());
    for row in rows {
        let (make, model): (Option<String>, Option<String>) = (row.get(0)?, row.get(1)?);
        let (bytes, n_cores, n): (Option<i64>, Option<i64>, u64) = (row.get(2)?, row.get(3)?, row.get(4)?);
        if make.is_some() || model.is_some() {
            *models.entry((make, model)).or_default() += n;
        }
        if let Some(bytes) = bytes.filter(|b| *b >= 0) {
            *memory.entry(bucket(bytes / GIB)).or_default() += n;
        }
        if let Some(c) = n_cores.filter(|c| *c > 0) {
            *cores.entry(bucket(c)).or_default() += n;
        }
    }
    let models = top(models
        .into_iter()
        .map(|((make, model), n)| {
            let label = [make.clone(), model.clone()].into_iter().flatten().collect::<Vec<_>>().join(" ");
            // A bar for a model with no manufacturer (or the reverse) has no exact filter.
            let filter = make.zip(model).map(|(a, b)| vec![("manufacturer", a), ("model", b)]);
            Count { label, filter, n }
        })
        .collect());
    let memory = memory
        .into_iter()
        .map(|(b, n)| {
            let label = if b == 0 { "< 2 GiB".to_owned() } else { format!("{}–{} GiB", 1u64 << b, 1u64 << (b + 1)) };
            let mut filter = vec![("memory_below_gib", (1u64 << (b + 1)).to_string())];
            if b > 0 {
                filter.push(("memory_min_gib", (1u64 << b).to_string()));
            }
            Count { label, filter: Some(filter), n }
        })
        .collect();
    let cores = cores
        .into_iter()
        .map(|(b, n)| {
            let (lo, hi) = (1u64 << b, (1u64 << (b + 1)) - 1);
            let label = if lo == hi { lo.to_string() } else { format!("{lo}–{hi}") };
            Count { label, filter: Some(vec![("cores_min", lo.to_string()), ("cores_max", hi.to_string())]), n }
        })
        .collect();
    Ok((models, memory, cores))
}

/// Change events per UTC day and group over the last [`DAYS`] days, from the counts triggers
/// keep per day and component (`change_day_counts`).
fn days(db: &mut dyn Db, now: i64) -> Result<Vec<Day>> {
    let today = now.div_euclid(86_400);
    let first = today - (DAYS - 1);
    let mut days: Vec<Day> =
        (first..=today).map(|d| Day { start: d * 86_400, counts: vec![0; CHANGE_GROUPS.len()] }).collect();
    let rows = db.query(
        "SELECT day, component, CAST(SUM(delta) AS BIGINT) FROM change_day_counts WHERE day >= ?1 \
         GROUP BY day, component HAVING SUM(delta) > 0",
        crate::args![first],
    )?;
    for row in rows {
        let (day, component, n): (i64, String, u64) = (row.get(0)?, row.get(1)?, row.get(2)?);
        let group = CHANGE_GROUPS
            .iter()
            .position(|(_, kinds)| kinds.contains(&component.as_str()))
            .unwrap_or(CHANGE_GROUPS.len() - 1);
        if let Some(d) = usize::try_from(day - first).ok().and_then(|i| days.get_mut(i)) {
            d.counts[group] += n;
        }
    }
    Ok(days)
}

/// Online hosts not heard from since `before`: how many, and the longest silent (the
/// `(status, last_seen)` index serves both).
fn silent(db: &mut dyn Db, before: i64) -> Result<(u64, Vec<Silent>)> {
    let total: i64 =
        db.scalar("SELECT COUNT(*) FROM assets WHERE status = 'online' AND last_seen < ?1", crate::args![before])?;
    let rows = db.query(
        "SELECT id, hostname, last_seen FROM assets WHERE status = 'online' AND last_seen < ?1 \
         ORDER BY last_seen LIMIT ?2",
        crate::args![before, i64::from(LIST_ROWS)],
    )?;
    let list = rows
        .iter()
        .map(|r| Ok(Silent { id: r.get(0)?, hostname: r.get(1)?, last_seen: r.get(2)? }))
        .collect::<std::result::Result<_, crate::store::DbError>>()?;
    Ok((total.max(0) as u64, list))
}

/// The latest hardware change events of the last [`DAYS`] days, newest first.
fn hardware_changes(db: &mut dyn Db, now: i64) -> Result<Vec<HardwareChange>> {
    let kinds = HARDWARE.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ");
    // The kinds are the constant above; only the time bound is a parameter.
    let rows = db.query(
        &format!(
            "SELECT c.asset_id, a.hostname, c.at, c.component, c.summary FROM changes c \
             JOIN assets a ON a.id = c.asset_id \
             WHERE c.at >= ?1 AND c.component IN ({kinds}) ORDER BY c.at DESC, c.id DESC LIMIT ?2"
        ),
        crate::args![now - DAYS * 86_400, i64::from(LIST_ROWS)],
    )?;
    rows.iter()
        .map(|r| {
            Ok(HardwareChange {
                asset_id: r.get(0)?,
                hostname: r.get(1)?,
                at: r.get(2)?,
                component: r.get(3)?,
                summary: r.get(4)?,
            })
        })
        .collect::<std::result::Result<_, crate::store::DbError>>()
        .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_powers_of_two() {
        assert_eq!([0, 1, 2, 3, 4, 7, 8, 15, 16, 1024].map(bucket), [0, 0, 1, 1, 2, 2, 3, 3, 4, 10]);
    }

    #[test]
    fn past_the_top_is_other() {
        let counts = (0..13).map(|i| Count { label: format!("m{i:02}"), filter: None, n: i }).collect();
        let top = top(counts);
        assert_eq!(top.len(), TOP + 1);
        assert_eq!(top[0].label, "m12");
        assert_eq!(top[TOP], Count { label: "other".into(), filter: None, n: 3 });
    }
}
