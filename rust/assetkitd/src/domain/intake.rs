//! What a request body must be to be taken in as a report: UTF-8 JSON, the schema version this
//! server speaks, valid against the published JSON Schema (`schema/report.schema.json`, compiled
//! into the binary and served at `GET /api/v1/schema/report`), within [`crate::domain::limits`],
//! with host names for names. Pure: bytes in, a report or a refusal out (fuzzed in
//! `fuzz/fuzz_targets/report_intake.rs`).
//!
//! The schema is the contract and it is checked first, so that the server never takes what the
//! schema refuses; the Rust model then reads what the schema allows (a test walks both to keep
//! them in step). Integers may be sent as integral floats (`2.0`), as JSON Schema's `integer`
//! allows. A refusal names the JSON path of the first offending field.

use std::sync::LazyLock;

use assetkit_core::model::{Report, SCHEMA_VERSION};
use assetkit_core::names;
use serde::Deserialize;
use serde_json::Value;

/// The report schema, as published.
pub const REPORT_SCHEMA: &str = include_str!("../../../../schema/report.schema.json");

static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(REPORT_SCHEMA).expect("the report schema is JSON");
    jsonschema::draft202012::options().should_validate_formats(true).build(&schema).expect("the report schema compiles")
});

/// Why a body is not a report this server takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not UTF-8 or not JSON (400 `malformed_json`).
    #[error("{0}")]
    MalformedJson(String),
    /// JSON, but not a report: the schema or the model refuses a field (422 `invalid_report`).
    #[error("{field}: {message}")]
    InvalidReport {
        /// The JSON path of the first offending field (`facts.system.virtual`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
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
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// No host name, cert host name or serial number (422 `unidentifiable`).
    #[error("{}", crate::domain::Error::Unidentifiable)]
    Unidentifiable,
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
    // A valid report (nearly all) is told apart without collecting errors; only a refused one
    // pays for finding the error to answer with.
    if !VALIDATOR.is_valid(&value)
        && let Some(refusal) = schema_refusal(&value)
    {
        return Err(refusal);
    }
    let mut value = value;
    integral_floats_to_integers(&mut value, false);
    // Likewise the model: read without tracking paths, and read again with them for the answer.
    let report = match Report::deserialize(value) {
        Ok(report) => report,
        Err(_) => {
            let mut value: Value = serde_json::from_str(raw).map_err(|e| Refusal::MalformedJson(e.to_string()))?;
            integral_floats_to_integers(&mut value, false);
            serde_path_to_error::deserialize(value).map_err(|e| Refusal::InvalidReport {
                field: e.path().to_string(),
                message: crate::log::clip_long(&e.inner().to_string()),
            })?
        }
    };
    crate::domain::limits::check(&report)?;
    let mut report = report;
    report.host.hostname = names::configured(report.host.hostname.take());
    if let Some(os) = report.facts.os.as_mut() {
        os.hostname = names::configured(os.hostname.take());
    }
    Ok(Intake { report, raw: raw.to_owned() })
}

/// Most schema errors looked at to pick the one to answer with.
const ERRORS_CONSIDERED: usize = 32;

/// The refusal for the first thing the schema refuses, if any, in the terms an operator acts on:
/// a bad name says what is wrong with the name, a list over its limit is `too_many_components`,
/// and "names no host" is only the answer when nothing more specific is wrong.
fn schema_refusal(value: &Value) -> Option<Refusal> {
    use jsonschema::error::ValidationErrorKind as Kind;
    let mut unidentifiable = false;
    for e in VALIDATOR.iter_errors(value).take(ERRORS_CONSIDERED) {
        let field = dotted(e.instance_path().as_str());
        // The schema's root `if`/`then`: a host with no name must have a serial number.
        let identity_rule = e.schema_path().as_str().starts_with("/then");
        match e.kind() {
            _ if identity_rule => unidentifiable = true,
            Kind::MaxItems { limit } | Kind::MaxProperties { limit } => {
                let count = match e.instance().as_ref() {
                    Value::Array(a) => a.len(),
                    Value::Object(o) => o.len(),
                    _ => 0,
                };
                let limit = usize::try_from(*limit).unwrap_or(usize::MAX);
                return Some(Refusal::OverLimit(crate::domain::limits::OverLimit { field, count, limit }));
            }
            _ if HOSTNAME_FIELDS.contains(&field.as_str()) => {
                let message = match e.instance().as_ref() {
                    Value::String(name) => match names::check_hostname(name) {
                        Err(why) => format!("{:?} {why}", crate::log::clip(name)),
                        Ok(()) => crate::log::clip_long(&e.to_string()),
                    },
                    _ => crate::log::clip_long(&e.to_string()),
                };
                return Some(Refusal::InvalidName { field, message });
            }
            Kind::Pattern { .. } if e.instance().as_str().is_some_and(|t| t.contains('\0')) => {
                let message = "contains a NUL character, which no text field may hold".to_owned();
                return Some(Refusal::InvalidReport { field, message });
            }
            Kind::PropertyNames { .. } => {
                let message = "a key contains a NUL character, which no text field may hold".to_owned();
                return Some(Refusal::InvalidReport { field, message });
            }
            Kind::Format { format } if field.ends_with(".address") => {
                let shown = e.instance().as_str().map(crate::log::clip).unwrap_or_default();
                let family = if format.as_str() == "ipv4" { "an IPv4 (family inet)" } else { "an IPv6 (family inet6)" };
                let message = format!("{shown:?} is not {family} address");
                return Some(Refusal::InvalidReport { field, message });
            }
            _ => return Some(Refusal::InvalidReport { field, message: crate::log::clip_long(&e.to_string()) }),
        }
    }
    unidentifiable.then_some(Refusal::Unidentifiable)
}

/// Where a report carries host names (checked by [`names::check_hostname`]'s rules, which the
/// schema's `hostname` pattern spells out).
const HOSTNAME_FIELDS: [&str; 3] = ["host.hostname", "host.cert_hostname", "facts.os.hostname"];

/// `/facts/nics/0/mac` as `facts.nics[0].mac`; the root as `(report)`.
fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if part.bytes().all(|b| b.is_ascii_digit()) && !part.is_empty() {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&part);
        }
    }
    if out.is_empty() { "(report)".into() } else { out }
}

/// `2.0` as `2`, wherever the model reads integers (JSON Schema's `integer` admits integral
/// floats); custom facts are the plugin's own JSON and are left as they are.
fn integral_floats_to_integers(value: &mut Value, in_custom: bool) {
    match value {
        Value::Number(n) if !in_custom && n.is_f64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0) {
                if f >= 0.0 && f <= u64::MAX as f64 {
                    *value = Value::from(f as u64);
                } else if f < 0.0 && f >= i64::MIN as f64 {
                    *value = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| integral_floats_to_integers(v, in_custom)),
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                integral_floats_to_integers(v, in_custom || k == "custom");
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Value {
        serde_json::json!({
            "schema_version": 1, "report_id": "r-1", "collected_at": "2026-11-27T10:00:00Z",
            "agent": {"name": "assetkit", "version": "t", "mode": "agent"},
            "host": {"hostname": "web01", "cert_hostname": null},
            "facts": {
                "system": {"manufacturer": null, "product_name": null, "serial_number": "SN1", "uuid": null,
                           "sku": null, "chassis_type": null, "virtual": false},
                "cpu": {"model": null, "sockets": 2, "physical_cores": 8, "logical_cores": 16, "mhz": 2400},
                "nics": [{"name": "eth0", "mac": "52:54:00:00:00:01", "up": true, "mtu": 1500, "speed_mbps": null,
                          "addresses": []}],
                "disks": [{"name": "sda", "slot": null, "model": "X", "serial_number": "D1", "size_bytes": 1,
                           "rotational": false, "interface": "sata", "source": "sysfs"}],
                "custom": {"rack_label": {"weight": 2.0}}
            },
            "errors": []
        })
    }

    fn refused(edit: impl FnOnce(&mut Value)) -> (String, String) {
        let mut v = report();
        edit(&mut v);
        match decode(v.to_string().as_bytes()) {
            Err(Refusal::InvalidReport { field, message }) => (field, message),
            other => panic!("not refused as invalid: {other:?}"),
        }
    }

    #[test]
    fn what_the_schema_refuses_the_server_refuses_with_the_path() {
        assert_eq!(refused(|v| v["facts"] = serde_json::json!([])).0, "facts");
        assert_eq!(
            refused(|v| {
                v.as_object_mut().unwrap().remove("errors");
            })
            .0,
            "(report)"
        );
        assert_eq!(refused(|v| v["facts"]["nics"][0]["mac"] = "ZZ".into()).0, "facts.nics[0].mac");
        assert_eq!(refused(|v| v["collected_at"] = "yesterday".into()).0, "collected_at");
        assert_eq!(refused(|v| v["facts"]["disks"][0]["serial_number"] = "".into()).0, "facts.disks[0].serial_number");
        let (field, message) = refused(|v| v["facts"]["system"]["virtual"] = Value::Null);
        assert_eq!(field, "facts.system.virtual");
        assert!(message.contains("boolean"), "{message}");
        assert_eq!(refused(|v| v["facts"]["nics"][0]["mtu"] = 4_294_967_296u64.into()).0, "facts.nics[0].mtu");
    }

    #[test]
    fn addresses_are_ip_addresses_of_their_family() {
        fn address(family: &'static str, a: &'static str) -> impl FnOnce(&mut Value) {
            move |v: &mut Value| {
                v["facts"]["nics"][0]["addresses"] =
                    serde_json::json!([{"family": family, "address": a, "prefix_len": 24}]);
            }
        }
        let (field, message) = refused(address("inet", "-oProxyCommand=touch${IFS}/tmp/pwned x"));
        assert_eq!(field, "facts.nics[0].addresses[0].address");
        assert!(message.contains("is not an IPv4"), "{message}");
        assert_eq!(refused(address("inet", "fe80::1")).0, "facts.nics[0].addresses[0].address");
        assert_eq!(refused(address("inet6", "10.0.0.1")).0, "facts.nics[0].addresses[0].address");
        for (family, a) in [("inet", "10.0.0.1"), ("inet6", "fe80::5054:ff:fe12:3456"), ("inet6", "2001:db8::1")] {
            let mut v = report();
            address(family, a)(&mut v);
            assert!(decode(v.to_string().as_bytes()).is_ok(), "{a}");
        }
    }

    #[test]
    fn no_text_holds_a_nul_character() {
        type Edit = fn(&mut Value);
        let cases: [(&str, Edit); 3] = [
            ("facts.system.manufacturer", |v| v["facts"]["system"]["manufacturer"] = "Dell\u{0}".into()),
            ("facts.disks[0].model", |v| v["facts"]["disks"][0]["model"] = "X\u{0}Y".into()),
            ("errors[0].message", |v| v["errors"] = serde_json::json!([{"plugin": "disk", "message": "a\u{0}b"}])),
        ];
        for (path, edit) in cases {
            let (field, message) = refused(edit);
            assert_eq!(field, path);
            assert!(message.contains("NUL"), "{message}");
        }
        let (field, message) = refused(|v| v["facts"]["custom"]["a\u{0}b"] = serde_json::json!(1));
        assert!(field.starts_with("facts.custom") && message.contains("NUL"), "{field}: {message}");
    }

    #[test]
    fn what_the_schema_allows_the_server_takes() {
        let mut v = report();
        v["facts"]["cpu"]["sockets"] = serde_json::json!(2.0);
        v["collected_at"] = "2026-11-27t10:00:00+05:00".into();
        let intake = decode(v.to_string().as_bytes()).unwrap();
        assert_eq!(intake.report.facts.cpu.unwrap().sockets, Some(2));
        assert_eq!(
            intake.report.facts.custom["rack_label"]["weight"],
            serde_json::json!(2.0),
            "custom JSON is left alone"
        );
    }
}
