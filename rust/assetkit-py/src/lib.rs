//! assetkit-py: the `assetkit._native` extension module. A thin edge: every function converts
//! arguments, releases the GIL around the Rust call (collection, file and network I/O), and
//! converts the result to plain Python dicts. Errors map to the typed exceptions defined here.
//!
//! Invariant: no logic lives here that the `assetkit` command does not share; a report from
//! Python is byte-for-byte the report the CLI makes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use assetkit_agent::Config;
use assetkit_core::{CollectOptions, LiveSource, Mode, SnapshotDir, Source};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(assetkit, AssetkitError, PyException, "Base class of every assetkit error.");
create_exception!(assetkit, ConfigError, AssetkitError, "The config file or an argument is invalid.");
create_exception!(assetkit, CollectError, AssetkitError, "Facts could not be collected (e.g. a missing snapshot).");
create_exception!(assetkit, ReportError, AssetkitError, "The report could not be delivered to the receiver.");

fn config_error(e: impl std::fmt::Display) -> PyErr {
    ConfigError::new_err(e.to_string())
}

fn load_config(path: Option<PathBuf>) -> PyResult<Config> {
    Config::load(path.as_deref()).map(|(c, _)| c).map_err(config_error)
}

fn parse_mode(mode: &str) -> PyResult<Mode> {
    mode.parse().map_err(config_error)
}

fn to_py(py: Python<'_>, value: &impl serde::Serialize) -> PyResult<Py<PyAny>> {
    Ok(pythonize::pythonize(py, value)?.unbind())
}

#[pymodule]
mod _native {
    use super::*;

    #[pymodule_export]
    use super::{AssetkitError, CollectError, ConfigError, ReportError};

    /// The package version.
    #[pymodule_export]
    #[allow(non_upper_case_globals)]
    const __version__: &str = env!("CARGO_PKG_VERSION");

    /// Collects this host (or a snapshot directory) and returns the report as a dict.
    #[pyfunction]
    #[pyo3(signature = (only=None, snapshot=None, config=None, mode="cli"))]
    fn collect(
        py: Python<'_>,
        only: Option<Vec<String>>,
        snapshot: Option<PathBuf>,
        config: Option<PathBuf>,
        mode: &str,
    ) -> PyResult<Py<PyAny>> {
        let mode = parse_mode(mode)?;
        let report = py.detach(move || -> PyResult<_> {
            let config = load_config(config)?;
            let selection = match &only {
                Some(names) => assetkit_core::Selection::from_names(names).map_err(config_error)?,
                None => config.selection().map_err(config_error)?,
            };
            let source: Arc<dyn Source> = match snapshot {
                Some(dir) => Arc::new(SnapshotDir::open(&dir).map_err(|e| CollectError::new_err(e.to_string()))?),
                None => Arc::new(LiveSource::new(config.live_options())),
            };
            let options = CollectOptions { selection, timeout: config.plugin_timeout + Duration::from_secs(5), mode };
            Ok(assetkit_core::collect(source, &options))
        })?;
        to_py(py, &report)
    }

    /// Parses a snapshot directory into a report dict (same as `collect(snapshot=path)`).
    #[pyfunction]
    #[pyo3(signature = (path, only=None))]
    fn parse_snapshot(py: Python<'_>, path: PathBuf, only: Option<Vec<String>>) -> PyResult<Py<PyAny>> {
        collect(py, only, Some(path), None, "cli")
    }

    /// The POSIX sh script that prints a snapshot stream (what `assetkit sweep` runs remotely).
    #[pyfunction]
    fn snapshot_script() -> &'static str {
        assetkit_core::script::SNAPSHOT_SCRIPT
    }

    /// Agent mode: collects, sends the spool then this report, updates the cert file.
    /// Returns {"answer": {...}, "spool_sent", "spool_waiting", "cert_hostname", "plugin_errors"}.
    /// Keyword arguments override the config file's keys of the same names.
    #[pyfunction]
    #[pyo3(signature = (config=None, mode="agent", server=None, key_id=None, key_file=None, cert_file=None, spool_dir=None, plugins=None, host_key_file=None))]
    #[allow(clippy::too_many_arguments)]
    fn report(
        py: Python<'_>,
        config: Option<PathBuf>,
        mode: &str,
        server: Option<String>,
        key_id: Option<String>,
        key_file: Option<PathBuf>,
        cert_file: Option<PathBuf>,
        spool_dir: Option<PathBuf>,
        plugins: Option<Vec<String>>,
        host_key_file: Option<PathBuf>,
    ) -> PyResult<Py<PyAny>> {
        let mode = parse_mode(mode)?;
        let outcome = py.detach(move || -> PyResult<_> {
            let mut config = load_config(config)?;
            config.server = server.or(config.server);
            config.key_id = key_id.or(config.key_id);
            config.key_file = key_file.unwrap_or(config.key_file);
            config.host_key_file = host_key_file.unwrap_or(config.host_key_file);
            config.cert_file = cert_file.unwrap_or(config.cert_file);
            config.spool_dir = spool_dir.unwrap_or(config.spool_dir);
            config.plugins = plugins.unwrap_or(config.plugins);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ReportError::new_err(e.to_string()))?;
            let options = assetkit_agent::run::RunOptions { mode, splay: false };
            runtime.block_on(assetkit_agent::run::report(&config, &options)).map_err(|e| match e {
                assetkit_agent::run::RunError::Config(_) | assetkit_agent::run::RunError::Key(_) => config_error(e),
                other => ReportError::new_err(other.to_string()),
            })
        })?;
        to_py(py, &outcome)
    }

    /// Sends an already collected report dict (e.g. gathered from minions by a Salt runner),
    /// signed with the host's own credential (`credential_file`, or `<credentials_dir>/<target>`)
    /// when it has one, else with the fleet key, which enrols it; the credential the answer
    /// carries is stored there. Returns the receiver's answer (never the secret). No spool, no
    /// cert file.
    #[pyfunction]
    #[pyo3(signature = (report, config=None, server=None, key_id=None, key_file=None, timeout=20.0, credential_file=None, credentials_dir=None, target=None))]
    #[allow(clippy::too_many_arguments)]
    fn send_report(
        py: Python<'_>,
        report: &Bound<'_, PyAny>,
        config: Option<PathBuf>,
        server: Option<String>,
        key_id: Option<String>,
        key_file: Option<PathBuf>,
        timeout: f64,
        credential_file: Option<PathBuf>,
        credentials_dir: Option<PathBuf>,
        target: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let report: assetkit_core::Report =
            pythonize::depythonize(report).map_err(|e| ReportError::new_err(format!("not a valid report: {e}")))?;
        let answer = py.detach(move || -> PyResult<_> {
            let mut config = load_config(config)?;
            config.server = server.or(config.server);
            config.key_id = key_id.or(config.key_id);
            if let Some(k) = key_file {
                config.key_file = k;
            }
            let timeout = Duration::from_secs_f64(timeout.max(0.1));
            config.timeout = timeout;
            let credential = match (credential_file, target) {
                (Some(file), _) => assetkit_agent::credential::CredentialFile::new(file),
                (None, Some(target)) => {
                    let dir = credentials_dir.unwrap_or_else(|| config.credentials_dir.clone());
                    assetkit_agent::credential::CredentialStore::new(dir).file(&target).map_err(config_error)?
                }
                (None, None) => assetkit_agent::credential::CredentialFile::new(config.host_key_file.clone()),
            };
            let signer = assetkit_agent::run::signer_for(&config, credential).map_err(config_error)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ReportError::new_err(e.to_string()))?;
            runtime
                .block_on(signer.post_report(&report, Instant::now() + timeout))
                .map_err(|e| ReportError::new_err(e.to_string()))
        })?;
        to_py(py, &answer)
    }

    /// The four signature headers for a request, as {"X-Assetkit-Key": ..., ...}.
    #[pyfunction]
    fn sign(
        method: &str,
        path: &str,
        body: &[u8],
        key_id: &str,
        secret: &str,
    ) -> std::collections::BTreeMap<&'static str, String> {
        let h = assetkit_sign::sign(key_id, &assetkit_sign::Secret::new(secret), method, path, body);
        [
            ("X-Assetkit-Key", h.key_id),
            ("X-Assetkit-Timestamp", h.timestamp.to_string()),
            ("X-Assetkit-Nonce", h.nonce),
            ("X-Assetkit-Signature", h.signature),
        ]
        .into_iter()
        .collect()
    }

    /// The plugin names a config may enable.
    #[pyfunction]
    fn plugins() -> Vec<&'static str> {
        assetkit_core::plugins::known_names()
    }
}
