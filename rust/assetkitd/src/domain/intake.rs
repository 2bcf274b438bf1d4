//! What a request body must be to be taken in as a report: UTF-8 JSON, the schema version this
//! server speaks, the report's shape, and within [`crate::domain::limits`]. Pure: bytes in, a report or
//! a refusal out (fuzzed in `fuzz/fuzz_targets/report_intake.rs`).

use assetkit_core::model::{Report, SCHEMA_VERSION};
use serde_json::Value;

/// Why a body is not a report this server takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not UTF-8 or not JSON (400 `malformed_json`).
    #[error("{0}")]
    MalformedJson(String),
    /// JSON, but not a report (400 `malformed_report`).
    #[error("{0}")]
    MalformedReport(String),
    /// Another schema version (422 `unsupported_schema_version`).
    #[error("{0}")]
    UnsupportedVersion(String),
    /// Over a limit (422 `too_many_components`).
    #[error(transparent)]
    OverLimit(#[from] crate::domain::limits::OverLimit),
    /// A host name that is not an RFC 1123 name (422 `invalid_hostname`).
    #[error("{field}: {message}")]
    InvalidName {
        /// The JSON path of the name.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

/// A report taken in, with the exact text it came as (stored as the asset's last report).
#[derive(Debug, Clone)]
pub struct Intake {
    /// The report.
    pub report: Report,
    /// Its JSON text.
    pub raw: String,
}

/// Decodes and checks a report body.
pub fn decode(bytes: &[u8]) -> Result<Intake, Refusal> {
    let raw = std::str::from_utf8(bytes).map_err(|_| Refusal::MalformedJson("body is not UTF-8".into()))?;
    let value: Value =
        serde_json::from_str(raw).map_err(|e| Refusal::MalformedJson(format!("body is not valid JSON: {e}")))?;
    match value.get("schema_version").and_then(Value::as_u64) {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(Refusal::UnsupportedVersion(format!(
                "schema_version {v} is not supported (this server speaks {SCHEMA_VERSION}); upgrade assetkitd"
            )));
        }
        None => return Err(Refusal::UnsupportedVersion("schema_version is missing or not a number".into())),
    }
    let report: Report = serde_json::from_value(value)
        .map_err(|e| Refusal::MalformedReport(format!("body is not a valid report: {e}")))?;
    if report.report_id.is_empty() || report.report_id.len() > 64 {
        return Err(Refusal::MalformedReport("report_id must be 1 to 64 characters".into()));
    }
    crate::domain::limits::check(&report)?;
    check_names(&report)?;
    Ok(Intake { report, raw: raw.to_owned() })
}

/// The names a report identifies its host by must be host names: nothing else reaches the
/// inventory as a name. `(none)`, what an unconfigured kernel reports, is no name at all and is
/// ignored by identity, so it passes.
fn check_names(report: &Report) -> Result<(), Refusal> {
    let names = [
        ("host.hostname", report.host.hostname.as_deref()),
        ("host.cert_hostname", report.host.cert_hostname.as_deref()),
        ("facts.os.hostname", report.facts.os.as_ref().and_then(|o| o.hostname.as_deref())),
    ];
    for (field, name) in names {
        if let Some(name) = name.filter(|n| *n != "(none)") {
            assetkit_core::names::check_hostname(name).map_err(|why| Refusal::InvalidName {
                field,
                message: format!("{:?} {why}", crate::log::clip(name)),
            })?;
        }
    }
    Ok(())
}
