//! `os`: hostname, fqdn, distribution, kernel and architecture.

use super::{CollectError, Collector, Ctx, Output};
use crate::model::Os;
use crate::parse::os_release;

/// Hostname, fqdn, distribution name and version, kernel, arch.
pub struct OsCollector;

impl Collector for OsCollector {
    fn name(&self) -> &'static str {
        "os"
    }
    fn describe(&self) -> &'static str {
        "hostname, fqdn (from /etc/hosts, never DNS), distribution, kernel, arch"
    }
    fn collect(&self, ctx: &Ctx) -> Result<Output, CollectError> {
        let src = ctx.source.as_ref();
        let hostname = crate::names::configured(src.value("/proc/sys/kernel/hostname"));
        let kernel = src.value("/proc/sys/kernel/osrelease");
        if hostname.is_none() && kernel.is_none() {
            return Err(CollectError::Missing("/proc/sys/kernel is unreadable (is /proc mounted?)".to_owned()));
        }
        let release = src
            .text("/etc/os-release")
            .or_else(|| src.text("/usr/lib/os-release"))
            .map(|t| os_release::parse(&t))
            .or_else(|| src.text("/etc/redhat-release").map(|t| os_release::parse_redhat_release(&t)))
            .unwrap_or_default();
        let fqdn = hostname.as_deref().and_then(|h| {
            if h.contains('.') { Some(h.to_owned()) } else { os_release::fqdn_from_hosts(h, &src.text("/etc/hosts")?) }
        });
        let arch = src
            .command("uname-m")
            .ok()
            .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
            .filter(|s| !s.is_empty());
        let mut out = Output::default();
        out.facts.os = Some(Os {
            hostname,
            fqdn,
            name: release.name,
            version: release.version_id,
            id: release.id,
            pretty_name: release.pretty_name,
            kernel,
            arch,
        });
        Ok(out)
    }
}
