//! What changed between two package sets, typed: installed, removed, upgraded, downgraded, in
//! the manager's own version order.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use assetkit_core::model::PackageManager;
use assetkit_core::versions;
use serde::Serialize;

/// One stored package of a set: its id and identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// `packages.id`.
    pub id: i64,
    /// `package_names.id`.
    pub name_id: i64,
    /// Package manager.
    pub manager: PackageManager,
    /// Name.
    pub name: String,
    /// Architecture, "" when none.
    pub arch: String,
    /// Version as the manager prints it.
    pub version: String,
}

/// One typed change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Change {
    /// `installed`, `removed`, `upgraded` or `downgraded`.
    pub kind: String,
    /// Package manager.
    pub manager: String,
    /// Name.
    pub name: String,
    /// Architecture, absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// The version before (removed, upgraded, downgraded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    /// The version after (installed, upgraded, downgraded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

impl Change {
    /// "openssl 3.0.11-1 → 3.0.13-1", "+curl 7.88.1-10", "−telnet 0.17-44".
    pub fn line(&self) -> String {
        let arch = self.arch.as_deref().map(|a| format!(":{a}")).unwrap_or_default();
        let (old, new) = (self.old.as_deref().unwrap_or(""), self.new.as_deref().unwrap_or(""));
        match self.kind.as_str() {
            "installed" => format!("+{}{arch} {new}", self.name),
            "removed" => format!("−{}{arch} {old}", self.name),
            _ => format!("{}{arch} {old} → {new}", self.name),
        }
    }
}

/// The changes from `old` to `new`. A (manager, name, arch) with one version on each side that
/// differ is an upgrade or a downgrade; any other difference (several kernels side by side) is
/// removals and installs. Sorted by name.
pub fn diff(old: &[Held], new: &[Held]) -> Vec<Change> {
    type Key<'a> = (PackageManager, &'a str, &'a str);
    let mut sides: BTreeMap<Key<'_>, (Vec<&str>, Vec<&str>)> = BTreeMap::new();
    for h in old {
        sides.entry((h.manager, &h.name, &h.arch)).or_default().0.push(&h.version);
    }
    for h in new {
        sides.entry((h.manager, &h.name, &h.arch)).or_default().1.push(&h.version);
    }
    let mut out = Vec::new();
    for ((manager, name, arch), (mut before, mut after)) in sides {
        before.retain(|v| !after.contains(v));
        after.retain(|v| {
            !old.iter().any(|h| h.manager == manager && h.name == name && h.arch == arch && h.version == *v)
        });
        let change = |kind: &str, old: Option<&str>, new: Option<&str>| Change {
            kind: kind.to_owned(),
            manager: manager.as_str().to_owned(),
            name: name.to_owned(),
            arch: Some(arch.to_owned()).filter(|a| !a.is_empty()),
            old: old.map(str::to_owned),
            new: new.map(str::to_owned),
        };
        if let ([was], [now]) = (before.as_slice(), after.as_slice()) {
            let kind = match versions::compare(manager, now, was) {
                Ordering::Less => "downgraded",
                // Equal in the manager's order yet spelled differently ("0:1.0" and "1.0"):
                // the newer spelling, counted as an upgrade.
                _ => "upgraded",
            };
            out.push(change(kind, Some(was), Some(now)));
            continue;
        }
        out.extend(before.iter().map(|v| change("removed", Some(v), None)));
        out.extend(after.iter().map(|v| change("installed", None, Some(v))));
    }
    out
}

/// One line for people about a report's changes: counts by kind, then the first few.
pub fn summary(changes: &[Change]) -> String {
    const SHOWN: usize = 5;
    let count = |k: &str| changes.iter().filter(|c| c.kind == k).count();
    let counts: Vec<String> = ["upgraded", "downgraded", "installed", "removed"]
        .iter()
        .map(|k| (k, count(k)))
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    let shown: Vec<String> = changes.iter().take(SHOWN).map(Change::line).collect();
    let more = changes.len().saturating_sub(SHOWN);
    let tail = if more > 0 { format!(", and {more} more") } else { String::new() };
    if changes.len() == 1 {
        return format!("package {} {}", changes[0].kind, changes[0].line());
    }
    format!("{} packages changed ({}): {}{tail}", changes.len(), counts.join(", "), shown.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(id: i64, name: &str, version: &str) -> Held {
        Held {
            id,
            name_id: id,
            manager: PackageManager::Deb,
            name: name.into(),
            arch: "amd64".into(),
            version: version.into(),
        }
    }

    #[test]
    fn each_kind_of_change() {
        let old = [held(1, "openssl", "3.0.11-1"), held(2, "telnet", "0.17-44"), held(3, "zlib1g", "1:1.2.13")];
        let new = [held(4, "openssl", "3.0.13-1"), held(5, "curl", "7.88.1-10"), held(3, "zlib1g", "1:1.2.13")];
        let changes = diff(&old, &new);
        let kinds: Vec<(&str, &str)> = changes.iter().map(|c| (c.kind.as_str(), c.name.as_str())).collect();
        assert_eq!(kinds, [("installed", "curl"), ("upgraded", "openssl"), ("removed", "telnet")]);
        assert_eq!(changes[1].line(), "openssl:amd64 3.0.11-1 → 3.0.13-1");
        assert!(summary(&changes).starts_with("3 packages changed (1 upgraded, 1 installed, 1 removed): "));
    }

    #[test]
    fn several_versions_side_by_side_are_installs_and_removals() {
        let old = [held(1, "linux-image", "6.1.0-1"), held(2, "linux-image", "6.1.0-2")];
        let new = [held(2, "linux-image", "6.1.0-2"), held(3, "linux-image", "6.1.0-3")];
        let changes = diff(&old, &new);
        let kinds: Vec<&str> = changes.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(kinds, ["upgraded"], "one left, one came: {changes:?}");
        let new =
            [held(2, "linux-image", "6.1.0-2"), held(3, "linux-image", "6.1.0-3"), held(4, "linux-image", "6.1.0-4")];
        let kinds: Vec<String> = diff(&old, &new).into_iter().map(|c| c.kind).collect();
        assert_eq!(kinds, ["removed", "installed", "installed"]);
    }
}
