//! `/etc/assetkit/agent.toml`: the one config file of every assetkit host-side command.
//!
//! The key names are a contract: the Cobbler snippet, the Ansible role and users' own tooling
//! write this file. Unknown keys are refused, so a typo is an error instead of a silently
//! ignored setting.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Default config path; `ASSETKIT_CONFIG` or `--config` override it.
pub const DEFAULT_CONFIG: &str = "/etc/assetkit/agent.toml";

/// The agent configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Receiver base URL, e.g. `https://cmdb.example.com:8600`.
    pub server: Option<String>,
    /// API key id (`ak_...`).
    pub key_id: Option<String>,
    /// File holding the fleet key's secret, alone, mode 0600 (used to enrol).
    pub key_file: PathBuf,
    /// A read key's id (`ak_...`), for `assetkit sweep --pending` on a control machine: the list
    /// of hosts entered by hand is not given to the fleet key.
    pub read_key_id: Option<String>,
    /// File holding that read key's secret, mode 0600.
    pub read_key_file: Option<PathBuf>,
    /// The host's own credential, issued at enrolment (mode 0600, written by the agent).
    pub host_key_file: PathBuf,
    /// A control machine's credentials for the hosts it sweeps, one file per host (mode 0700).
    pub credentials_dir: PathBuf,
    /// The cert file: the hostname the server knows this host by.
    pub cert_file: PathBuf,
    /// Reports that could not be sent wait here.
    pub spool_dir: PathBuf,
    /// Enabled plugins: built-in names, `custom`, or `custom.<name>`.
    pub plugins: Vec<String>,
    /// Custom plugin executables.
    pub plugins_dir: PathBuf,
    /// Deadline for the whole `assetkit report` run, retries included.
    #[serde(with = "humantime_serde_compat")]
    pub timeout: Duration,
    /// Deadline for each plugin and external command.
    #[serde(with = "humantime_serde_compat")]
    pub plugin_timeout: Duration,
    /// Random delay before reporting, up to this long.
    #[serde(with = "humantime_serde_compat")]
    pub splay: Duration,
    /// CA bundle to trust for the receiver, in addition to the system roots.
    pub ca_file: Option<PathBuf>,
    /// Spool bound: number of reports.
    pub spool_max_reports: usize,
    /// Spool bound: total bytes.
    pub spool_max_bytes: u64,
    /// Run `smartctl -j -i` per disk (root only).
    pub smartctl: bool,
    /// The file this config was read from; `None` when there was none (defaults apply).
    #[serde(skip)]
    pub origin: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server: None,
            key_id: None,
            key_file: PathBuf::from("/etc/assetkit/key"),
            read_key_id: None,
            read_key_file: None,
            host_key_file: PathBuf::from("/etc/assetkit/host.key"),
            credentials_dir: PathBuf::from("/var/lib/assetkit/credentials"),
            cert_file: PathBuf::from("/etc/assetkit/cert"),
            spool_dir: PathBuf::from("/var/spool/assetkit"),
            plugins: assetkit_core::plugins::known_names().into_iter().map(str::to_owned).collect(),
            plugins_dir: PathBuf::from(assetkit_core::DEFAULT_PLUGINS_DIR),
            timeout: Duration::from_secs(20),
            plugin_timeout: Duration::from_secs(10),
            splay: Duration::ZERO,
            ca_file: None,
            spool_max_reports: 200,
            spool_max_bytes: 64 << 20,
            origin: None,
            smartctl: false,
        }
    }
}

/// The config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named explicitly does not exist or cannot be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// Config path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown keys or bad values.
    #[error("invalid config {path}: {message}")]
    Parse {
        /// Config path.
        path: PathBuf,
        /// What is wrong, with the line.
        message: String,
    },
    /// A plugin name matches no plugin.
    #[error("invalid config {path}: {source}")]
    Plugin {
        /// Config path.
        path: PathBuf,
        /// The unknown name.
        source: assetkit_core::UnknownPlugin,
    },
}

impl Config {
    /// Loads `explicit` (which must exist), else `ASSETKIT_CONFIG`, else the default path
    /// (which may be absent: defaults then apply).
    pub fn load(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>), ConfigError> {
        let from_env = std::env::var_os("ASSETKIT_CONFIG").map(PathBuf::from);
        let (path, required) = match (explicit, from_env) {
            (Some(p), _) => (p.to_path_buf(), true),
            (None, Some(p)) => (p, true),
            (None, None) => (PathBuf::from(DEFAULT_CONFIG), false),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let config = Config { origin: Some(path.clone()), ..Self::parse(&text, &path)? };
                Ok((config, Some(path)))
            }
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok((Config::default(), None)),
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    /// Says that setting `key` is missing, naming the file that was read, or the one that was
    /// looked for when there was none.
    pub fn missing(&self, key: &str) -> String {
        match &self.origin {
            Some(path) => format!("`{key}` is not set in the agent config {}", path.display()),
            None => format!(
                "`{key}` is not set: there is no agent config at {DEFAULT_CONFIG}. Write one (every setting is \
                 in contrib/agent.toml.example), or name another with --config FILE or ASSETKIT_CONFIG"
            ),
        }
    }

    /// Parses config text; `path` is only for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string() })?;
        config.selection().map_err(|source| ConfigError::Plugin { path: path.to_path_buf(), source })?;
        Ok(config)
    }

    /// The enabled plugins.
    pub fn selection(&self) -> Result<assetkit_core::Selection, assetkit_core::UnknownPlugin> {
        assetkit_core::Selection::from_names(&self.plugins)
    }

    /// Live-source options derived from this config.
    pub fn live_options(&self) -> assetkit_core::LiveOptions {
        assetkit_core::LiveOptions {
            plugins_dir: self.plugins_dir.clone(),
            command_timeout: self.plugin_timeout,
            smartctl: self.smartctl,
        }
    }
}

/// Durations as humantime strings ("20s", "1m 30s").
mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s)
            .map_err(|e| serde::de::Error::custom(format!("{s:?} is not a duration like \"20s\" ({e})")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_example_parses() {
        let text = r#"
server    = "https://cmdb.example.com:8600"
key_id    = "ak_0123"
key_file  = "/etc/assetkit/key"
cert_file = "/etc/assetkit/cert"
spool_dir = "/var/spool/assetkit"
plugins   = ["os", "board", "cpu", "memory", "disk", "nic"]
timeout   = "20s"
splay     = "0s"
"#;
        let c = Config::parse(text, Path::new("x")).unwrap();
        assert_eq!(c.timeout, Duration::from_secs(20));
        assert_eq!(c.plugins.len(), 6);
    }

    #[test]
    fn typos_and_bad_values_are_refused() {
        let err = Config::parse("plugns = []", Path::new("a.toml")).unwrap_err().to_string();
        assert!(err.contains("plugns"), "{err}");
        let err = Config::parse("timeout = \"soon\"", Path::new("a.toml")).unwrap_err().to_string();
        assert!(err.contains("soon"), "{err}");
        let err =
            Config::parse("plugins = [\"cpu\", \"flux_capacitor\"]", Path::new("a.toml")).unwrap_err().to_string();
        assert!(err.contains("flux_capacitor"), "{err}");
    }
}
