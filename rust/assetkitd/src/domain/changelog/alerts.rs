//! Which change events are *alerts*, the ones an operator wants to hear about: a disk, memory
//! module, NIC or PSU added, removed or replaced; hostname drift; a discovered asset; a
//! purchase-list mismatch; a host gone offline or back; a report's package changes (one alert
//! for all of them). The several field events of one replacement make one alert.

use super::Event;

/// The parts whose arrival, removal and replacement are alerts, by component kind.
const PARTS: &[&str] = &["disk", "memory_module", "nic", "psu"];

/// Every alert type an endpoint can select (`--events`); `disk.*` selects a part's three.
pub const EVENT_TYPES: &[&str] = &[
    "disk.added",
    "disk.removed",
    "disk.replaced",
    "memory_module.added",
    "memory_module.removed",
    "memory_module.replaced",
    "nic.added",
    "nic.removed",
    "nic.replaced",
    "psu.added",
    "psu.removed",
    "psu.replaced",
    "hostname.drift",
    "asset.discovered",
    "purchase.mismatch",
    "host.offline",
    "host.online",
    "package.changed",
    "warranty.expiring",
];

/// One alert made from a report's events.
pub struct Alert<'a> {
    /// `disk.replaced`, `host.offline`...
    pub event_type: String,
    /// Its first event.
    pub first: &'a Event,
    /// Its events with their change ids.
    pub changes: Vec<(i64, &'a Event)>,
}

/// The alert type of one event, `None` for the events no webhook hears about.
pub fn alert_type(e: &Event, report_id: Option<&str>) -> Option<String> {
    let c = e.component.as_str();
    if PARTS.contains(&c) {
        return match e.kind {
            "added" | "removed" => Some(format!("{c}.{}", e.kind)),
            "changed" if e.replaced => Some(format!("{c}.replaced")),
            _ => None,
        };
    }
    match (c, e.kind, e.field.as_deref()) {
        ("host", "changed", Some("hostname")) => Some("hostname.drift".into()),
        ("host", "changed", Some("online")) if e.new.as_deref() == Some("offline") => Some("host.offline".into()),
        ("host", "changed", Some("online")) => Some("host.online".into()),
        // Discovered by a report (an import or a manual entry has no report id).
        ("asset", "added", _) if report_id.is_some() => Some("asset.discovered".into()),
        ("asset", "changed", Some("purchase")) => Some("purchase.mismatch".into()),
        // One per report, whatever the number of packages it lists (a first inventory is none).
        ("packages", "changed", Some("packages")) => Some("package.changed".into()),
        // Once per asset, threshold and end date ([`crate::domain::webhooks::offline::sweep_warranties`]).
        ("warranty", "changed", Some("warranty_end")) => Some("warranty.expiring".into()),
        _ => None,
    }
}

/// The alerts among `events` (recorded with `ids`): one per event, except a replacement's
/// field events, which make one.
pub fn alerts<'a>(events: &'a [Event], ids: &[i64], report_id: Option<&str>) -> Vec<Alert<'a>> {
    let mut out: Vec<Alert<'a>> = Vec::new();
    for (e, id) in events.iter().zip(ids) {
        let Some(event_type) = alert_type(e, report_id) else { continue };
        if e.replaced
            && let Some(a) = out
                .iter_mut()
                .find(|a| a.event_type == event_type && a.first.component == e.component && a.first.key == e.key)
        {
            a.changes.push((*id, e));
            continue;
        }
        out.push(Alert { event_type, first: e, changes: vec![(*id, e)] });
    }
    out
}

/// Whether an endpoint's `events` filter ("" for all, a list, `part.*`) selects `event_type`.
pub fn selects(events: &str, event_type: &str) -> bool {
    events.is_empty()
        || events
            .split(',')
            .any(|e| e == event_type || e.strip_suffix(".*").is_some_and(|p| event_type.split('.').next() == Some(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replaced(field: &str) -> Event {
        Event {
            component: "disk".into(),
            key: "32:3".into(),
            kind: "changed",
            field: Some(field.into()),
            old: Some("A".into()),
            new: Some("B".into()),
            summary: format!("disk in slot 32:3 replaced: {field} A → B"),
            replaced: true,
        }
    }

    #[test]
    fn one_replacement_is_one_alert_whatever_the_fields() {
        let events = [replaced("model"), replaced("serial_number"), replaced("size_bytes")];
        let a = alerts(&events, &[1, 2, 3], Some("r"));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].event_type, "disk.replaced");
        assert_eq!(a[0].changes.len(), 3);
    }

    #[test]
    fn only_the_listed_events_are_alerts() {
        let nic_state = Event::whole("nic", "changed", Some("state"), Some("up"), Some("down"), "eth0: state".into());
        assert_eq!(alert_type(&nic_state, Some("r")), None);
        let imported = Event::whole("asset", "added", None, None, Some("SN1"), "in stock".into());
        assert_eq!(alert_type(&imported, None), None, "an import is not a discovery");
        assert_eq!(alert_type(&imported, Some("r")).as_deref(), Some("asset.discovered"));
        let back = Event::whole("host", "changed", Some("online"), Some("offline"), Some("online"), "back".into());
        assert_eq!(alert_type(&back, Some("r")).as_deref(), Some("host.online"));
    }

    #[test]
    fn filters_select_types_and_parts() {
        assert!(selects("", "disk.added"));
        assert!(selects("disk.*,host.offline", "disk.replaced"));
        assert!(!selects("disk.*,host.offline", "nic.added"));
        assert!(!selects("memory_module.added", "memory_module.removed"));
    }
}
