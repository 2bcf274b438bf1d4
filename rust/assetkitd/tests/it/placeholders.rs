//! The schema and the receiver agree on what identifies a host: a report the published schema
//! allows is never refused as `unidentifiable`, because the placeholder rules that decide
//! identity (`localhost` and its kin; serials such as "0" and "To Be Filled By O.E.M.") are
//! spelled out in the schema as patterns, generated from the code's own lists.

use assetkit_core::model::Report;
use assetkit_core::names::{check_hostname, is_placeholder_hostname, placeholder_hostname_pattern};
use assetkit_core::placeholder::{is_placeholder, serial_pattern};
use assetkitd::domain::apply::{Names, Policy};

use crate::support::{TestServer, physical};

fn schema() -> serde_json::Value {
    serde_json::from_str(assetkitd::domain::intake::REPORT_SCHEMA).unwrap()
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::options().should_validate_formats(true).build(&schema()).unwrap()
}

/// A report named only by `hostname` (no cert file) and `serial`.
fn named(hostname: Option<&str>, serial: Option<&str>) -> Report {
    let mut report = physical("placeholder", "SN-X");
    report.host.hostname = hostname.map(str::to_owned);
    report.host.cert_hostname = None;
    report.facts.os.as_mut().unwrap().hostname = None;
    report.facts.system.as_mut().unwrap().serial_number = serial.map(str::to_owned);
    report
}

#[test]
fn the_schema_patterns_are_generated_from_the_code() {
    let schema = schema();
    assert_eq!(schema["$defs"]["placeholder_serial"]["pattern"], serial_pattern(), "regenerate the schema's pattern");
    assert_eq!(schema["$defs"]["placeholder_hostname"]["pattern"], placeholder_hostname_pattern());
}

/// Case and white-space variants of `core`, and near misses that are real values.
fn variants(core: &str, out: &mut Vec<String>) {
    let upper = core.to_ascii_uppercase();
    let alternating: String =
        core.chars().enumerate().map(|(i, c)| if i % 2 == 0 { c.to_ascii_uppercase() } else { c }).collect();
    for v in [core.to_owned(), upper, alternating] {
        for (l, r) in
            [("", ""), (" ", "  "), ("\t", "\n"), ("\u{a0}", "\u{2003}"), ("\u{85}", "\u{3000}"), ("\u{feff}", "")]
        {
            out.push(format!("{l}{v}{r}"));
        }
        out.push(format!("{v}x"));
        out.push(format!("x{v}"));
        out.push(format!("{v}1"));
        out.push(format!("{v} {v}"));
    }
    if core.len() > 1 {
        out.push(core[1..].to_owned());
    }
}

/// A small deterministic generator: strings over the characters placeholders are made of.
fn scrambled(n: usize) -> Vec<String> {
    const ALPHABET: &[char] = &[
        '0', '0', 'f', 'F', 'x', 'X', '*', '-', '.', ':', '_', ' ', '\t', 'a', 'e', 'l', 'm', 'n', 'o', 'r', 's', 'u',
        'O', 'E', 'M', '<', '>', '1', '9', '\u{a0}',
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|_| {
            let len = 1 + (next() % 12) as usize;
            (0..len).map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize]).collect()
        })
        .collect()
}

#[test]
fn the_schema_refuses_an_unnamed_report_exactly_when_its_serial_is_a_placeholder() {
    let validator = validator();
    let mut serials: Vec<String> = Vec::new();
    for core in [
        "To Be Filled By O.E.M.",
        "Not Specified",
        "n/a",
        "Default string",
        "SKU=NotProvided;ModelName=",
        "03000200-0400-0500-0006-000700080009",
        "OEM Define 4",
        "oem define",
        "SerNum0",
        "PartNum12",
        "AssetTag",
        "Module7SerNum",
        "module 7 sernum",
        "0",
        "00000000",
        "FFFF-FFFF-FF",
        "xx:xx",
        "****",
        "-",
        "0f0f",
        "0 0\t0",
        "System Serial Number",
        "x16 <BAD INDEX>",
        "<out of spec>",
        "PSU Serial",
        "CN7016372M0014",
        "SN-REAL-1",
        "J3X4L93",
        "oem",
        "null",
    ] {
        variants(core, &mut serials);
    }
    serials.extend(scrambled(4000));
    let mut placeholders = 0;
    for serial in serials.iter().filter(|s| !s.is_empty()) {
        let report = serde_json::to_value(named(None, Some(serial))).unwrap();
        let by_schema = validator.is_valid(&report);
        let by_receiver = Names::of(&named(None, Some(serial)), Policy::Sn).serial.is_some();
        assert_eq!(by_schema, by_receiver, "{serial:?}: schema valid {by_schema}, receiver identifies {by_receiver}");
        assert_eq!(by_receiver, !is_placeholder(serial.trim()), "{serial:?}");
        placeholders += usize::from(!by_receiver);
    }
    // The corpus sits on both sides of the rule.
    assert!(placeholders > 200 && placeholders + 200 < serials.len(), "{placeholders} of {}", serials.len());
}

#[test]
fn the_schema_refuses_a_report_named_only_by_a_placeholder_hostname() {
    let validator = validator();
    let mut names: Vec<String> = Vec::new();
    for core in ["localhost", "localhost.localdomain", "localhost6", "localhost6.localdomain6", "web01"] {
        variants(core, &mut names);
    }
    names.extend(
        ["localhost.localdomain6", "localhost6.localdomain", "my-localhost", "localhost.example"].map(String::from),
    );
    for name in names {
        let report = named(Some(&name), None);
        let value = serde_json::to_value(&report).unwrap();
        let reported_ok = check_hostname(&name).is_ok();
        let by_schema = validator.is_valid(&value);
        let by_receiver = Names::of(&report, Policy::Sn).current.is_some();
        assert_eq!(by_schema, reported_ok && by_receiver, "{name:?}");
        assert_eq!(by_receiver && reported_ok, reported_ok && !is_placeholder_hostname(&name), "{name:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_the_schema_allows_is_never_refused_as_unidentifiable() {
    // What property-based testing found: hostname "(none)" and serial "0" passed the schema and
    // were answered 422 unidentifiable. Now the schema says what the receiver does.
    let s = TestServer::start(Policy::Auto).await;
    let validator = validator();
    let cases: &[(Option<&str>, Option<&str>)] = &[
        (Some("(none)"), Some("0")),
        (Some("localhost"), Some("0")),
        (Some("LOCALHOST.localdomain"), Some("To Be Filled By O.E.M.")),
        (Some("localhost6"), Some(" SerNum0 ")),
        (None, Some("FFFFFFFF")),
        (Some("localhost"), None),
        (Some("localhost"), Some("SN-PLACEHOLDER-NAME")),
        (Some("(none)"), Some("SN-UNNAMED-2")),
        (Some("ph-web-1"), Some("0")),
    ];
    for (hostname, serial) in cases {
        let report = named(*hostname, *serial);
        let valid = validator.is_valid(&serde_json::to_value(&report).unwrap());
        let (status, body) = s.report(&report).await;
        if valid {
            assert_eq!(status, 200, "{hostname:?} {serial:?}: schema-valid, yet refused: {body}");
        } else {
            assert_eq!((status, body["error"]["code"].as_str()), (422, Some("unidentifiable")), "{body}");
        }
    }
    // Both sides of the rule were crossed.
    assert!(!validator.is_valid(&serde_json::to_value(named(Some("localhost"), Some("0"))).unwrap()));
    assert!(validator.is_valid(&serde_json::to_value(named(Some("localhost"), Some("SN-1"))).unwrap()));
    s.stop().await;
}
