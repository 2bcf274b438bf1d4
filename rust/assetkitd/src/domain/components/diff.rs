//! The typed change events between the stored components of one kind and the reported ones:
//! changed fields, replacements in place (a removed and an added component at one position),
//! additions and removals.

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::{Map, Value};

use super::component::Component;
use super::describe::{bmc_field, describe, noun, render, subject};
use crate::domain::changelog::Event;

/// Fields that change without anything worth recording happening.
const IGNORED_FIELDS: &[(&str, &str)] = &[("os", "hostname"), ("memory", "os_visible_bytes"), ("system", "source")];

/// What to write for one kind.
#[derive(Debug, Default)]
pub struct Diff {
    /// Events to record.
    pub events: Vec<Event>,
    /// Components to insert or replace.
    pub upserts: Vec<Component>,
    /// Component keys to delete.
    pub deletes: Vec<String>,
}

/// Differences between the stored components of one kind and the reported ones.
///
/// O(n log n) in the number of components (hash lookups by key and by position), so a report
/// at the component limits holds the writer for milliseconds, not minutes.
pub fn diff(kind: &'static str, old: &[Component], new: &[Component]) -> Diff {
    let mut out = Diff::default();
    let old_by_key: HashMap<&str, &Component> = old.iter().map(|c| (c.key.as_str(), c)).collect();
    let new_keys: HashSet<&str> = new.iter().map(|c| c.key.as_str()).collect();

    for n in new {
        if let Some(o) = old_by_key.get(n.key.as_str()) {
            let verb = replaced_in_place(kind, &o.data, &n.data).then_some("replaced");
            let events = field_changes(kind, label(n), &o.data, &n.data, verb);
            if !events.is_empty() || o.data != n.data {
                out.upserts.push(n.clone());
            }
            out.events.extend(events);
        }
    }
    let removed: Vec<&Component> = old.iter().filter(|c| !new_keys.contains(c.key.as_str())).collect();
    let added: Vec<&Component> = new.iter().filter(|c| !old_by_key.contains_key(c.key.as_str())).collect();

    let mut paired = vec![false; added.len()];
    // A power supply under a new key with the serial it had is the same unit, re-keyed: two
    // units sharing a name are keyed by place ("#2"), and when one leaves the other is keyed by
    // its name again.
    let removed: Vec<&Component> = if kind == "psu" {
        let mut added_by_serial: HashMap<&str, usize> = HashMap::new();
        for (i, a) in added.iter().enumerate() {
            if let Some(sn) = a.data.get("serial_number").and_then(Value::as_str) {
                added_by_serial.entry(sn).or_insert(i);
            }
        }
        removed
            .into_iter()
            .filter(|r| {
                let same =
                    r.data.get("serial_number").and_then(Value::as_str).and_then(|sn| added_by_serial.remove(sn));
                let Some(ai) = same else { return true };
                out.events.extend(field_changes(kind, label(added[ai]), &r.data, &added[ai].data, None));
                out.deletes.push(r.key.clone());
                out.upserts.push(added[ai].clone());
                paired[ai] = true;
                false
            })
            .collect()
    } else {
        removed
    };
    // A removed and an added component in the same position is a replacement. Added components
    // are queued by position, so the k-th removed one in a position pairs with the k-th added.
    let mut added_at: HashMap<String, VecDeque<usize>> = HashMap::new();
    for (i, a) in added.iter().enumerate().filter(|(i, _)| !paired[*i]) {
        if let Some(pos) = place(a) {
            added_at.entry(pos).or_default().push_back(i);
        }
    }
    let mut unpaired_removed = Vec::new();
    for r in removed {
        let partner = place(r).and_then(|pos| added_at.get_mut(&pos)).and_then(VecDeque::pop_front);
        let Some(ai) = partner else {
            unpaired_removed.push(r);
            continue;
        };
        let a = added[ai];
        // A GPU whose serial comes or goes (nvidia-smi installed or gone) is the same card. A
        // serial-less disk whose WWN appears (an agent that reports WWNs, first run) is the
        // same drive: only a WWN that changes says another drive sits in the slot.
        let has = |m: &Map<String, Value>, k: &str| m.get(k).is_some_and(|v| !v.is_null());
        let same_card = match kind {
            "gpu" => has(&r.data, "serial_number") != has(&a.data, "serial_number"),
            "disk" => !has(&r.data, "serial_number") && !has(&a.data, "serial_number") && !has(&r.data, "wwn"),
            _ => false,
        };
        out.events.extend(field_changes(kind, label(a), &r.data, &a.data, (!same_card).then_some("replaced")));
        out.deletes.push(r.key.clone());
        out.upserts.push(a.clone());
        paired[ai] = true;
    }
    for r in unpaired_removed {
        out.events.push(Event {
            component: kind.to_owned(),
            key: label(r),
            kind: "removed",
            field: None,
            old: Some(describe(kind, &r.data)),
            new: None,
            summary: format!("{} removed ({})", subject(kind, &label(r)), describe(kind, &r.data)),
            replaced: false,
        });
        out.deletes.push(r.key.clone());
    }
    for (a, _) in added.into_iter().zip(paired).filter(|(_, p)| !p) {
        out.events.push(Event {
            component: kind.to_owned(),
            key: label(a),
            kind: "added",
            field: None,
            old: None,
            new: Some(describe(kind, &a.data)),
            summary: format!("{} added ({})", subject(kind, &label(a)), describe(kind, &a.data)),
            replaced: false,
        });
        out.upserts.push(a.clone());
    }
    out
}

fn label(c: &Component) -> String {
    c.position.clone().unwrap_or_else(|| c.key.clone())
}

/// Where a removed and an added component must sit to be one replaced in place. A memory
/// module sits in a bank and a slot, whatever its key was when it was stored. A disk is
/// replaced in its slot or bay (what a RAID tool reports, "32:3"); a kernel name (`sda`,
/// `nvme0n1`) is handed out in probe order and names no place, so a slotless disk with another
/// serial is one disk removed and one added, never a guess at a replacement.
fn place(c: &Component) -> Option<String> {
    match (c.kind, c.data.get("slot").and_then(Value::as_str)) {
        ("memory_module", Some(slot)) => {
            Some(format!("{}\u{1f}{slot}", c.data.get("bank").and_then(Value::as_str).unwrap_or("")))
        }
        ("disk", slot) => slot.map(str::to_owned),
        _ => c.position.clone(),
    }
}

/// A power supply keeps its key (its bay) when it is swapped: a new serial there is a
/// replacement, not a change of the old unit.
fn replaced_in_place(kind: &str, old: &Map<String, Value>, new: &Map<String, Value>) -> bool {
    let serial = |m: &Map<String, Value>| m.get("serial_number").and_then(Value::as_str).map(str::to_owned);
    kind == "psu" && matches!((serial(old), serial(new)), (Some(o), Some(n)) if o != n)
}

fn field_changes(
    kind: &str,
    label: String,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    replaced: Option<&str>,
) -> Vec<Event> {
    let mut fields: Vec<&String> = old.keys().chain(new.keys()).collect();
    fields.sort();
    fields.dedup();
    let mut events = Vec::new();
    for field in fields {
        if IGNORED_FIELDS.contains(&(kind, field.as_str())) {
            continue;
        }
        let (o, n) = (old.get(field).unwrap_or(&Value::Null), new.get(field).unwrap_or(&Value::Null));
        if o == n {
            continue;
        }
        let (old_s, new_s) = (render(o), render(n));
        let arrow = format!("{} → {}", old_s.as_deref().unwrap_or("(none)"), new_s.as_deref().unwrap_or("(none)"));
        let where_ = if label.is_empty() { noun(kind).to_owned() } else { subject(kind, &label) };
        let summary = match (replaced, kind) {
            (Some(_), "disk") => format!("disk in slot {label} replaced: {field} {arrow}"),
            (Some(verb), _) => format!("{where_} {verb}: {field} {arrow}"),
            (None, "nic") if field == "lldp" => match (&old_s, &new_s) {
                (Some(_), Some(_)) if same_link(o, n) => format!("{label}: LLDP neighbour {arrow}"),
                (Some(_), Some(to)) => format!("{label} moved to {to}"),
                (None, Some(to)) => format!("{label} connected to {to}"),
                (_, None) => format!("{label}: no LLDP neighbour any more (was {arrow})"),
            },
            (None, "bmc") => format!("BMC {} {arrow}", bmc_field(field)),
            (None, _) => format!("{where_}: {field} {arrow}"),
        };
        events.push(Event {
            component: kind.to_owned(),
            key: label.clone(),
            kind: "changed",
            field: Some(field.clone()),
            old: old_s,
            new: new_s,
            summary,
            replaced: replaced.is_some(),
        });
    }
    events
}

/// Same switch and port, whatever else (the VLAN) changed.
fn same_link(old: &Value, new: &Value) -> bool {
    let part = |v: &Value, k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    ["chassis_name", "chassis_id", "port_id"].iter().all(|k| part(old, k) == part(new, k))
}
