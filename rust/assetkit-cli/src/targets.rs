//! Sweep targets: a hosts file, an Ansible inventory (INI or YAML), or the receiver's pending list.

use std::collections::BTreeMap;

use anyhow::{Context, bail};

/// One host to sweep and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    /// The name the operator uses (inventory hostname).
    pub name: String,
    /// Address to connect to (`ansible_host`), if different from the name.
    pub address: Option<String>,
    /// SSH port (`ansible_port`).
    pub port: Option<u16>,
    /// SSH user (`ansible_user`).
    pub user: Option<String>,
    /// The name the receiver knows the host by, when the target came from its pending list.
    pub inventory_name: Option<String>,
}

/// A hosts file: one host a line, `#` comments, blank lines ignored; `user@host:port` allowed.
pub fn parse_hosts_file(text: &str) -> Vec<Target> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (user, rest) = match l.split_once('@') {
                Some((u, r)) => (Some(u.to_owned()), r),
                None => (None, l),
            };
            let (host, port) = match rest.rsplit_once(':') {
                Some((h, p)) if p.parse::<u16>().is_ok() && !h.contains(':') => (h, p.parse().ok()),
                _ => (rest, None),
            };
            Target { name: host.to_owned(), user, port, ..Target::default() }
        })
        .collect()
}

/// An Ansible inventory, INI or YAML (detected by content). Every host of every group, once.
pub fn parse_inventory(text: &str) -> anyhow::Result<Vec<Target>> {
    let trimmed = text.trim_start();
    let looks_yaml = trimmed.starts_with("---")
        || trimmed.lines().next().is_some_and(|l| l.trim_end().ends_with(':') && !l.starts_with('['));
    let mut hosts = if looks_yaml { parse_yaml(text)? } else { parse_ini(text)? };
    let mut seen = std::collections::BTreeSet::new();
    hosts.retain(|t| seen.insert(t.name.clone()));
    Ok(hosts)
}

fn apply_vars(t: &mut Target, vars: &BTreeMap<String, String>) {
    if let Some(h) = vars.get("ansible_host").or(vars.get("ansible_ssh_host")) {
        t.address.get_or_insert_with(|| h.clone());
    }
    if let Some(p) = vars.get("ansible_port").or(vars.get("ansible_ssh_port")).and_then(|p| p.parse().ok()) {
        t.port.get_or_insert(p);
    }
    if let Some(u) = vars.get("ansible_user").or(vars.get("ansible_ssh_user")) {
        t.user.get_or_insert_with(|| u.clone());
    }
}

fn parse_ini(text: &str) -> anyhow::Result<Vec<Target>> {
    let mut hosts: Vec<Target> = Vec::new();
    let mut group_vars: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut membership: Vec<(String, usize)> = Vec::new();
    let mut section = ("ungrouped".to_owned(), "hosts");
    for (lineno, raw) in text.lines().enumerate() {
        let line = raw.split(['#', ';']).next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = match name.split_once(':') {
                Some((g, "vars")) => (g.to_owned(), "vars"),
                Some((g, "children")) => (g.to_owned(), "children"),
                Some((_, other)) => bail!("inventory line {}: unknown section kind :{other}", lineno + 1),
                None => (name.to_owned(), "hosts"),
            };
            continue;
        }
        match section.1 {
            "vars" => {
                if let Some((k, v)) = line.split_once('=') {
                    group_vars.entry(section.0.clone()).or_default().insert(k.trim().to_owned(), unquote(v.trim()));
                }
            }
            "children" => {}
            _ => {
                let mut words = line.split_whitespace();
                let name = words.next().context("empty host line")?.to_owned();
                if name.contains('[') {
                    bail!("inventory line {}: host ranges like {name} are not supported; list the hosts", lineno + 1);
                }
                let vars: BTreeMap<String, String> =
                    words.filter_map(|w| w.split_once('=')).map(|(k, v)| (k.to_owned(), unquote(v))).collect();
                let mut t = Target { name, ..Target::default() };
                apply_vars(&mut t, &vars);
                membership.push((section.0.clone(), hosts.len()));
                hosts.push(t);
            }
        }
    }
    for (group, index) in membership {
        if let Some(vars) = group_vars.get(&group) {
            apply_vars(&mut hosts[index], vars);
        }
    }
    if let Some(vars) = group_vars.get("all") {
        for h in &mut hosts {
            apply_vars(h, vars);
        }
    }
    Ok(hosts)
}

fn unquote(v: &str) -> String {
    v.trim_matches(|c| c == '"' || c == '\'').to_owned()
}

fn parse_yaml(text: &str) -> anyhow::Result<Vec<Target>> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).context("inventory is not valid YAML")?;
    let mut out = Vec::new();
    if let Some(groups) = doc.as_mapping() {
        for (_, group) in groups {
            walk_yaml(group, &BTreeMap::new(), &mut out);
        }
    }
    Ok(out)
}

fn scalar_map(v: Option<&serde_yaml_ng::Value>) -> BTreeMap<String, String> {
    v.and_then(|v| v.as_mapping())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let value = match v {
                        serde_yaml_ng::Value::String(s) => s.clone(),
                        serde_yaml_ng::Value::Number(n) => n.to_string(),
                        serde_yaml_ng::Value::Bool(b) => b.to_string(),
                        _ => return None,
                    };
                    Some((k.as_str()?.to_owned(), value))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn walk_yaml(group: &serde_yaml_ng::Value, inherited: &BTreeMap<String, String>, out: &mut Vec<Target>) {
    let mut vars = inherited.clone();
    vars.extend(scalar_map(group.get("vars")));
    if let Some(hosts) = group.get("hosts").and_then(|h| h.as_mapping()) {
        for (name, host_vars) in hosts {
            let Some(name) = name.as_str() else { continue };
            let mut t = Target { name: name.to_owned(), ..Target::default() };
            apply_vars(&mut t, &scalar_map(Some(host_vars)));
            apply_vars(&mut t, &vars);
            out.push(t);
        }
    }
    if let Some(children) = group.get("children").and_then(|c| c.as_mapping()) {
        for (_, child) in children {
            walk_yaml(child, &vars, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_inventory() {
        let ini = "web1 ansible_host=10.0.0.1\n[db]\ndb1 ansible_port=2222\ndb2\n[db:vars]\nansible_user=ops\n[all:vars]\nansible_port=22\n";
        let t = parse_inventory(ini).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].address.as_deref(), Some("10.0.0.1"));
        assert_eq!((t[1].port, t[1].user.as_deref()), (Some(2222), Some("ops")));
        assert_eq!((t[2].port, t[2].user.as_deref()), (Some(22), Some("ops")));
    }

    #[test]
    fn yaml_inventory() {
        let yaml = "all:\n  vars:\n    ansible_user: root\n  hosts:\n    a.example:\n      ansible_port: 2200\n  children:\n    db:\n      hosts:\n        b.example:\n          ansible_host: 10.0.0.2\n";
        let t = parse_inventory(yaml).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].port, t[0].user.as_deref()), (Some(2200), Some("root")));
        assert_eq!((t[1].address.as_deref(), t[1].user.as_deref()), (Some("10.0.0.2"), Some("root")));
    }

    #[test]
    fn hosts_file() {
        let t = parse_hosts_file("# fleet\nweb1\nops@db1:2222\n\n");
        assert_eq!(t.len(), 2);
        assert_eq!((t[1].user.as_deref(), t[1].name.as_str(), t[1].port), (Some("ops"), "db1", Some(2222)));
    }
}
