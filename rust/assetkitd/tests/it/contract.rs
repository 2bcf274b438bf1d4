//! The API as `openapi.yaml` documents it: each finding of the contract review, answered as
//! documented (the property-based run over the whole document is `tests/test_contract.py`).

use assetkitd::domain::apply::Policy;

use crate::support::{TestServer, physical};

async fn get(s: &TestServer, path: &str) -> (u16, serde_json::Value) {
    s.send_as(&s.admin, "GET", path, b"").await
}

fn bad(got: &(u16, serde_json::Value), field: &str, words: &str) {
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["error"]["code"], "bad_query", "{}", got.1);
    assert_eq!(got.1["error"]["field"], field, "{}", got.1);
    assert!(got.1["error"]["message"].as_str().unwrap().contains(words), "{}", got.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_parameters_are_bounded_enumerated_and_never_silently_clamped() {
    let s = TestServer::start(Policy::Auto).await;
    s.report_ok(&physical("web01", "SN-1")).await;
    // A NUL in the free text is data: it matches nothing, it is not a server error.
    let (status, body) = get(&s, "/api/v1/assets?q=a%00b").await;
    assert_eq!((status, body["total"].as_u64()), (200, Some(0)), "{body}");
    let (status, body) = get(&s, "/api/v1/assets?q=%22%20OR%20*").await;
    assert_eq!(status, 200, "quotes and operators are data too: {body}");
    bad(&get(&s, "/api/v1/assets?page=4294967296").await, "page", "from 1 to 1000000");
    bad(&get(&s, "/api/v1/assets?per_page=501").await, "per_page", "from 1 to 500");
    bad(&get(&s, "/api/v1/assets?status=bogus").await, "status", "discovered, online, offline, in_stock, retired");
    bad(&get(&s, "/api/v1/assets?sort=bogus").await, "sort", "-last_seen");
    bad(&get(&s, "/api/v1/changes?limit=-1").await, "limit", "from 1 to 5000");
    bad(&get(&s, "/api/v1/changes?limit=5001").await, "limit", "from 1 to 5000");
    bad(&get(&s, "/api/v1/changes?since=yesterday").await, "since", "RFC 3339");
    // The effective values are echoed.
    let (_, page) = get(&s, "/api/v1/assets?per_page=7").await;
    assert_eq!((page["page"].as_u64(), page["per_page"].as_u64()), (Some(1), Some(7)));
    // RFC 3339 with any offset, in either case.
    for since in ["2026-11-27T00:00:00-05:00", "2026-11-27T00:00:00%2B05:00", "2026-11-27t00:00:00z", "1700000000"] {
        let (status, body) = get(&s, &format!("/api/v1/changes?since={since}")).await;
        assert_eq!(status, 200, "{since}: {body}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_the_documented_ones() {
    let s = TestServer::start(Policy::Auto).await;
    let id = s.report_ok(&physical("web01", "SN-1")).await["asset_id"].as_i64().unwrap();
    // Unknown routes and methods answer the API's JSON error.
    let resp = s.client.get(format!("{}/api/v1/nothing", s.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let resp = s.client.delete(format!("{}/api/v1/assets", s.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert!(resp.headers()["allow"].to_str().unwrap().contains("GET"));
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");
    // A create says where the new thing is.
    let (status, body) = s.send_as(&s.admin, "POST", "/api/v1/assets", br#"{"hostname": "web02"}"#).await;
    assert_eq!(status, 201, "{body}");
    // A name another live asset has is a conflict, not a validation error.
    let (status, body) = s.send_as(&s.admin, "POST", "/api/v1/assets", br#"{"hostname": "web02"}"#).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("hostname_taken")), "{body}");
    // The API takes a name as the schema describes it: no silent trimming.
    let (status, body) = s.send_as(&s.admin, "POST", "/api/v1/assets", br#"{"hostname": " web04"}"#).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("hostname")), "{body}");
    let resp = {
        let body = br#"{"hostname": "web03"}"#;
        let h = assetkit_sign::sign(&s.admin.0, &s.admin.1, "POST", "/api/v1/assets", body);
        let mut req = s.client.post(format!("{}/api/v1/assets", s.base)).body(body.to_vec());
        for (n, v) in h.pairs() {
            req = req.header(n, v);
        }
        req.send().await.unwrap()
    };
    assert_eq!(resp.status().as_u16(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let created: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/assets/{}", created["asset_id"]));
    assert_eq!(get(&s, &location).await.0, 200);
    // Valid JSON of the wrong shape is 422 with the field, not "malformed JSON".
    let (status, body) = s.send_as(&s.admin, "POST", "/api/v1/assets", br#"{"hostname": 3}"#).await;
    assert_eq!(
        (status, body["error"]["code"].as_str(), body["error"]["field"].as_str()),
        (422, Some("invalid"), Some("hostname")),
        "{body}"
    );
    let (status, body) = s.send_as(&s.admin, "POST", "/api/v1/assets", b"{\"hostname\": ").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("malformed_json")), "{body}");
    // The hostname cannot be cleared (documented), with the field named.
    let (status, body) = s.send_as(&s.admin, "PATCH", &format!("/api/v1/assets/{id}"), br#"{"hostname": ""}"#).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("hostname")), "{body}");
    // A missing parent is 404, not an empty list.
    let (status, body) = get(&s, "/api/v1/assets/999999/changes").await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
    // The feed cursor never points back: an empty page gives where the feed ends now.
    let (_, all) = get(&s, "/api/v1/changes").await;
    let end = all["next_after_id"].as_i64().unwrap();
    assert!(end > 0);
    let (_, empty) = get(&s, "/api/v1/changes?since=2099-01-01T00:00:00Z").await;
    assert_eq!(empty["changes"].as_array().unwrap().len(), 0);
    assert_eq!(empty["next_after_id"].as_i64(), Some(end));
    // The report schema is published, as the server checks it.
    let resp = s.client.get(format!("{}/api/v1/schema/report", s.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let schema: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(schema["title"], "assetkit report");
    s.stop().await;
}

/// Every golden fixture's report (real captures, collected as `assetkit collect --snapshot`
/// would) validates against the schema and the receiver takes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_golden_report_is_taken() {
    use std::sync::Arc;
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let s = TestServer::start(Policy::Hostname).await;
    let mut n = 0;
    for entry in std::fs::read_dir(fixtures.join("golden")).unwrap() {
        let path = entry.unwrap().path();
        let spec: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let snap = tempfile::tempdir().unwrap();
        // Small sysfs files written inline (a SCSI host's driver name, say).
        for (file, contents) in spec.get("files").and_then(|f| f.as_object()).into_iter().flatten() {
            let dest = snap.path().join("files").join(file.trim_start_matches('/'));
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::write(dest, contents.as_str().unwrap()).unwrap();
        }
        for (kind, rel) in spec["sources"].as_object().unwrap() {
            // RAID tools: the kind is the snapshot command name.
            if ["storcli-", "perccli-", "ssacli-", "arcconf-"].iter().any(|p| kind.starts_with(p)) {
                let dest = snap.path().join("commands").join(kind);
                std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
                std::fs::copy(fixtures.join("raw").join(rel.as_str().unwrap()), dest).unwrap();
                continue;
            }
            let target = match kind.as_str() {
                "dmidecode" => "commands/dmidecode",
                "megacli" => "commands/megacli-pdlist",
                "cpuinfo" => "files/proc/cpuinfo",
                "ip" => "commands/ip-addr",
                "ipmitool-lan" => "commands/ipmitool-lan-print",
                "ipmitool-fru" => "commands/ipmitool-fru-print",
                "ipmitool-mc" => "commands/ipmitool-mc-info",
                other => panic!("unknown source kind {other}"),
            };
            let dest = snap.path().join(target);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(fixtures.join("raw").join(rel.as_str().unwrap()), dest).unwrap();
        }
        let source: Arc<dyn assetkit_core::Source> = Arc::new(assetkit_core::SnapshotDir::open(snap.path()).unwrap());
        let mut report = assetkit_core::collect(source, &assetkit_core::CollectOptions::default());
        let name = path.file_stem().unwrap().to_string_lossy().replace(['_', '.'], "-").to_lowercase();
        report.host.hostname = Some(format!("golden-{name}"));
        let (status, body) = s.report(&report).await;
        assert_eq!(status, 200, "{}: {body}", path.display());
        n += 1;
    }
    assert!(n >= 49, "{n} golden cases");
    s.stop().await;
}

/// A report with every fact set, written without `..Default::default()`: a field added to the
/// model does not compile here until it is set, and then the test below asks the schema for it.
fn full_report() -> assetkit_core::model::Report {
    use assetkit_core::model::*;
    let s = |v: &str| Some(v.to_owned());
    Report {
        schema_version: SCHEMA_VERSION,
        report_id: "full-1".into(),
        collected_at: "2026-11-27T10:00:00Z".into(),
        agent: Agent {
            name: "assetkit".into(),
            version: "1".into(),
            mode: Mode::Agent,
            enrol_key: Some("ab".repeat(32)),
        },
        host: Host { hostname: s("full"), cert_hostname: s("full") },
        facts: Facts {
            os: Some(Os {
                hostname: s("full"),
                fqdn: s("full.example.com"),
                name: s("Debian GNU/Linux"),
                version: s("12"),
                id: s("debian"),
                pretty_name: s("Debian GNU/Linux 12"),
                kernel: s("6.1.0"),
                arch: s("x86_64"),
            }),
            system: Some(System {
                manufacturer: s("Dell Inc."),
                product_name: s("PowerEdge R640"),
                serial_number: s("SN1"),
                uuid: s("4C4C4544"),
                sku: s("SKU"),
                family: s("PowerEdge"),
                chassis_type: s("Rack Mount Chassis"),
                chassis_serial_number: s("SN1"),
                r#virtual: false,
                hypervisor: s("kvm"),
                container: s("docker"),
                source: s("smbios"),
            }),
            baseboard: Some(Baseboard { manufacturer: s("Dell"), product_name: s("0X45NX"), serial_number: s("BB1") }),
            bios: Some(Bios { vendor: s("Dell"), version: s("2.6.4"), release_date: s("01/01/2020") }),
            cpu: Some(Cpu {
                model: s("Xeon"),
                vendor: s("GenuineIntel"),
                sockets: Some(2),
                physical_cores: Some(16),
                logical_cores: Some(32),
                mhz: Some(3600),
            }),
            memory: Some(Memory {
                total_bytes: Some(1 << 36),
                os_visible_bytes: Some(1 << 35),
                slots: Some(24),
                modules: Some(vec![MemoryModule {
                    slot: s("A1"),
                    bank: s("P0"),
                    size_bytes: Some(1 << 34),
                    r#type: s("DDR4"),
                    speed_mts: Some(2933),
                    manufacturer: s("Hynix"),
                    serial_number: s("M1"),
                    part_number: s("HMA"),
                }]),
            }),
            disks: Some(vec![Disk {
                name: s("sda"),
                slot: s("32:0"),
                model: s("ST2000"),
                vendor: s("SEAGATE"),
                serial_number: s("D1"),
                size_bytes: Some(2_000_000_000_000),
                rotational: Some(true),
                interface: s("sas"),
                firmware: s("GS0F"),
                state: s("Online"),
                wwn: s("5000c500a1b2c3d4"),
                sas_address: s("5000c500a1b2c3d5"),
                source: "megacli".into(),
            }]),
            raid_controllers: Some(vec![RaidController {
                id: "0".into(),
                model: s("PERC H740P Adapter"),
                serial_number: s("0AC1234"),
                firmware: s("5.160.00-3936"),
                cache_bytes: Some(8 << 30),
                battery: s("Optimal"),
                status: s("Optimal"),
                source: "perccli".into(),
                logical_drives: vec![LogicalDrive {
                    id: "0".into(),
                    name: s("data"),
                    raid_level: s("RAID6"),
                    size_bytes: Some(94_046_000_000_000),
                    state: s("Optimal"),
                    members: vec!["32:0".into()],
                }],
            }]),
            nics: Some(vec![Nic {
                name: "eno1".into(),
                mac: s("e4:43:4b:00:00:01"),
                up: Some(true),
                mtu: Some(1500),
                speed_mbps: Some(10_000),
                driver: s("ixgbe"),
                firmware: s("0x800003e7"),
                addresses: vec![Address { family: "inet".into(), address: "10.1.2.3".into(), prefix_len: 24 }],
                lldp: Some(assetkit_core::model::LldpNeighbor {
                    chassis_name: s("sw-b12.dc3"),
                    chassis_id: s("38:20:56:67:90:80"),
                    port_id: s("Gi1/0/17"),
                    port_description: s("GigabitEthernet1/0/17"),
                    vlan_id: Some(140),
                }),
            }]),
            bmc: Some(assetkit_core::model::Bmc {
                ip_address: s("10.0.0.5"),
                ip_source: s("static"),
                netmask: s("255.255.255.0"),
                gateway: s("10.0.0.1"),
                mac: s("18:fb:7b:9b:57:27"),
                vlan_id: Some(120),
                firmware: s("7.00"),
                manufacturer: s("DELL Inc"),
                board_serial: s("CNIVC0005G0184"),
                product_serial: s("2RJF153"),
                frus: Some(vec![assetkit_core::model::FruDevice {
                    description: s("PERC1"),
                    product: s("Dell Storage Cntlr. H740P - Mini"),
                    manufacturer: s("DELL"),
                    serial_number: s("CNFCP0005M01NC"),
                    part_number: s("00878MA03"),
                }]),
            }),
            fc_hbas: Some(vec![assetkit_core::model::FcHba {
                host: "host3".into(),
                port_wwn: s("0x21000024ff3dd1b0"),
                node_wwn: s("0x20000024ff3dd1b0"),
                port_state: s("Online"),
                speed: s("16 Gbit"),
            }]),
            gpus: Some(vec![assetkit_core::model::Gpu {
                pci_address: "0000:3b:00.0".into(),
                class: s("0x030200"),
                vendor_id: s("0x10de"),
                device_id: s("0x1eb8"),
                vendor: s("NVIDIA Corporation"),
                model: s("TU104GL [Tesla T4]"),
                driver: s("nvidia"),
                serial_number: s("1562720012345"),
                uuid: s("GPU-9c1b7f0e-54d3-2a8b-1c6e-0f3d2b4a5c6d"),
                firmware: s("90.04.96.00.02"),
            }]),
            power_supplies: Some(vec![PowerSupply {
                location: s("PSU1"),
                name: s("PWS-406P-1R"),
                manufacturer: s("SUPERMICRO"),
                serial_number: s("P406PCG17LT2411"),
                part_number: s("PWS-406P-1R"),
                revision: s("1.3"),
                max_power_w: Some(400),
                present: Some(true),
                status: s("OK"),
                hot_replaceable: Some(false),
            }]),
            packages: Some(vec![
                assetkit_core::model::Package {
                    manager: assetkit_core::model::PackageManager::Deb,
                    name: "openssl".into(),
                    version: "3.0.13-1~deb12u1".into(),
                    arch: s("amd64"),
                    source: s("openssl"),
                    source_version: s("3.0.13-1~deb12u1"),
                    vendor: s("Debian"),
                    installed_at: Some(1_700_000_000),
                },
                assetkit_core::model::Package {
                    manager: assetkit_core::model::PackageManager::Rpm,
                    name: "bash".into(),
                    version: "1:5.1.8-6.el9".into(),
                    arch: s("x86_64"),
                    source: s("bash-5.1.8-6.el9.src.rpm"),
                    source_version: s("5.1.8-6.el9"),
                    vendor: s("Rocky Enterprise Software Foundation"),
                    installed_at: Some(1_700_000_000),
                },
            ]),
            packages_digest: Some(format!("sha256:{}", "0".repeat(64))),
            packages_delta: Some(assetkit_core::model::PackagesDelta {
                from: format!("sha256:{}", "1".repeat(64)),
                added: vec![assetkit_core::model::Package {
                    manager: assetkit_core::model::PackageManager::Apk,
                    name: "musl".into(),
                    version: "1.2.4-r2".into(),
                    arch: s("x86_64"),
                    source: s("musl"),
                    source_version: s("1.2.4-r2"),
                    vendor: s("Alpine"),
                    installed_at: Some(1_700_000_000),
                }],
                removed: Vec::new(),
            }),
            guests: Some(vec![assetkit_core::model::Guest {
                name: "web01".into(),
                uuid: s("6f1c2b3a-1d2e-4f50-8a9b-0c1d2e3f4a5b"),
                kind: "vm".into(),
                source: "libvirt".into(),
                id: s("7"),
                vcpus: Some(4),
                memory_bytes: Some(8 << 30),
                state: s("running"),
            }]),
            cloud: Some(assetkit_core::model::Cloud {
                provider: "aws".into(),
                instance_id: s("i-0123456789abcdef0"),
                instance_type: s("m5.large"),
            }),
            custom: [("rack".to_owned(), serde_json::json!({"label": "R1"}))].into(),
        },
        errors: vec![PluginMessage { plugin: "disk".into(), message: "x".into() }],
        warnings: vec![PluginMessage { plugin: "board".into(), message: "y".into() }],
    }
}

/// The properties the schema gives the object at `schema` (following `$ref` and `items`).
fn schema_at<'a>(
    root: &'a serde_json::Value,
    mut schema: &'a serde_json::Value,
    path: &[&str],
) -> &'a serde_json::Value {
    for step in path {
        while let Some(r) = schema.get("$ref").and_then(|r| r.as_str()) {
            schema = &root["$defs"][r.trim_start_matches("#/$defs/")];
        }
        schema = if *step == "[]" { &schema["items"] } else { &schema["properties"][*step] };
    }
    while let Some(r) = schema.get("$ref").and_then(|r| r.as_str()) {
        schema = &root["$defs"][r.trim_start_matches("#/$defs/")];
    }
    schema
}

fn walk(root: &serde_json::Value, value: &serde_json::Value, path: &mut Vec<&'static str>, missing: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            let props = schema_at(root, root, path)["properties"].as_object().cloned().unwrap_or_default();
            for key in props.keys() {
                if !map.contains_key(key) {
                    missing.push(format!("the model has no {}.{key}", path.join(".")));
                }
            }
            for (key, v) in map {
                if path.last() == Some(&"custom") {
                    continue;
                }
                if !props.contains_key(key) {
                    missing.push(format!("the schema has no {}.{key}", path.join(".")));
                    continue;
                }
                path.push(Box::leak(key.clone().into_boxed_str()));
                walk(root, v, path, missing);
                path.pop();
            }
        }
        serde_json::Value::Array(items) => {
            path.push("[]");
            for v in items {
                walk(root, v, path, missing);
            }
            path.pop();
        }
        _ => {}
    }
}

#[test]
fn the_model_and_the_schema_name_the_same_fields_and_agree() {
    let schema: serde_json::Value = serde_json::from_str(assetkitd::domain::intake::REPORT_SCHEMA).unwrap();
    let report = serde_json::to_value(full_report()).unwrap();
    let mut missing = Vec::new();
    walk(&schema, &report, &mut Vec::new(), &mut missing);
    assert!(missing.is_empty(), "the Rust model and schema/report.schema.json drifted:\n{}", missing.join("\n"));
    // And the full report is valid and taken as it is.
    let decoded = assetkitd::domain::intake::decode(report.to_string().as_bytes()).unwrap();
    assert_eq!(decoded.report, full_report());
}

/// The schema's `hostname` pattern and `assetkit_core::names::check_hostname` are two spellings
/// of one rule (clients validate with the first, the agent with the second): they agree on names
/// built to sit on every edge of it.
#[test]
fn the_schema_hostname_rule_is_the_check_hostname_rule() {
    let schema: serde_json::Value = serde_json::from_str(assetkitd::domain::intake::REPORT_SCHEMA).unwrap();
    let mut hostname = schema["$defs"]["hostname"].clone();
    hostname["$schema"] = schema["$schema"].clone();
    let validator = jsonschema::validator_for(&hostname).unwrap();
    // What reports carry: the same names, "(none)" (taken as no name) and null.
    let mut reported = schema["$defs"]["reported_hostname"].clone();
    reported["$schema"] = schema["$schema"].clone();
    let reported = jsonschema::validator_for(&reported).unwrap();
    assert!(reported.is_valid(&serde_json::Value::Null));
    let label63 = "a".repeat(63);
    let mut names: Vec<String> = [
        "a",
        "web01",
        "WEB-01.Example.COM",
        "3com.net",
        "xn--bcher-kva.example",
        "-web",
        "web-",
        "web..01",
        ".web",
        "web.",
        "web_01",
        "web 01",
        "wéb",
        "web\n",
        "(none)",
        "",
        "a-b-c",
        "a--b",
        "1.2.3.4",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    names.push(label63.clone());
    names.push(format!("{label63}a"));
    // 253 bytes exactly, and one over.
    let long = [label63.as_str(); 4].join(".");
    names.push(long[..253].trim_end_matches('.').to_owned());
    names.push(format!("{}a", &long[..253]));
    for name in names {
        let by_schema = validator.is_valid(&serde_json::Value::String(name.clone()));
        let by_code = assetkit_core::names::check_hostname(&name).is_ok();
        assert_eq!(by_schema, by_code, "{name:?}: schema says {by_schema}, check_hostname says {by_code}");
        let in_reports = reported.is_valid(&serde_json::Value::String(name.clone()));
        assert_eq!(in_reports, by_code || name == "(none)", "{name:?} in a report");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_the_cause_an_operator_acts_on() {
    let s = TestServer::start(Policy::Auto).await;
    // "(none)", what older agents sent for an unset kernel hostname, is no name: the host is
    // known by its serial, and "(none)" never becomes an asset's name.
    let mut unnamed = physical("placeholder", "SN-UNNAMED");
    unnamed.host.hostname = Some("(none)".into());
    unnamed.facts.os.as_mut().unwrap().hostname = Some("(none)".into());
    let (status, body) = s.report(&unnamed).await;
    assert_eq!(status, 200, "{body}");
    let (_, asset) = get(&s, &format!("/api/v1/assets/{}", body["asset_id"])).await;
    assert_eq!(asset["hostname"], serde_json::Value::Null, "{asset}");
    assert_eq!(asset["serial_number"], "SN-UNNAMED", "{asset}");
    // No name and no serial at all: "cannot be identified", not a schema riddle.
    let mut nameless = physical("placeholder", "SN-X");
    nameless.host.hostname = None;
    nameless.facts.system.as_mut().unwrap().serial_number = None;
    let (status, body) = s.report(&nameless).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("unidentifiable")), "{body}");
    // A list over its limit names the list and the limit.
    let mut crowded = physical("crowded", "SN-CROWDED");
    let nic = crowded.facts.nics.as_ref().unwrap()[0].clone();
    crowded.facts.nics = Some(vec![nic; 4097]);
    let (status, body) = s.report(&crowded).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("too_many_components")), "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("facts.nics has 4097 entries; the limit is 4096"),
        "{body}"
    );
    // A wrong type names its path.
    let mut wrong = serde_json::to_value(physical("wrong", "SN-WRONG")).unwrap();
    wrong["facts"]["nics"][0]["mtu"] = serde_json::json!("1500");
    let (status, body) = s.send_as(&s.agent, "POST", "/api/v1/reports", wrong.to_string().as_bytes()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_report")), "{body}");
    assert_eq!(body["error"]["field"], "facts.nics[0].mtu", "{body}");
    s.stop().await;
}

/// Where the receiver and the schema used to disagree, they now agree, and the refusal names the
/// field: each report below broke the schema and was taken, or kept it and was refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiver_takes_exactly_what_the_schema_allows() {
    let s = TestServer::start(Policy::Auto).await;
    let base = serde_json::to_value(physical("agree", "SN-AGREE")).unwrap();
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = base.clone();
        v["report_id"] = uuid::Uuid::new_v4().to_string().into();
        f(&mut v);
        v
    };
    let refused: [(&str, serde_json::Value, &str, &str); 6] = [
        ("facts: []", edit(&|v| v["facts"] = serde_json::json!([])), "facts", "object"),
        ("no errors", edit(&|v| drop(v.as_object_mut().unwrap().remove("errors"))), "(report)", "errors"),
        ("mac ZZ", edit(&|v| v["facts"]["nics"][0]["mac"] = "ZZ".into()), "facts.nics[0].mac", "ZZ"),
        ("collected_at yesterday", edit(&|v| v["collected_at"] = "yesterday".into()), "collected_at", "date-time"),
        (
            "empty disk serial",
            edit(&|v| v["facts"]["disks"][0]["serial_number"] = "".into()),
            "facts.disks[0].serial_number",
            "",
        ),
        (
            "mtu over u32",
            edit(&|v| v["facts"]["nics"][0]["mtu"] = 4_294_967_296u64.into()),
            "facts.nics[0].mtu",
            "4294967295",
        ),
    ];
    for (what, report, field, words) in refused {
        let (status, body) = s.send_as(&s.agent, "POST", "/api/v1/reports", report.to_string().as_bytes()).await;
        assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_report")), "{what}: {body}");
        assert_eq!(body["error"]["field"], field, "{what}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(words), "{what}: {body}");
    }
    // Integral floats are integers, as JSON Schema says: taken, and stored as integers.
    let floats = edit(&|v| {
        v["facts"]["cpu"]["sockets"] = serde_json::json!(2.0);
        v["facts"]["nics"][0]["mtu"] = serde_json::json!(9000.0);
    });
    let (status, body) = s.send_as(&s.agent, "POST", "/api/v1/reports", floats.to_string().as_bytes()).await;
    assert_eq!(status, 200, "{body}");
    let (_, asset) = get(&s, &format!("/api/v1/assets/{}", body["asset_id"])).await;
    assert_eq!(asset["components"]["cpu"][0]["sockets"], serde_json::json!(2), "{asset}");
    assert_eq!(asset["components"]["nic"][0]["mtu"], serde_json::json!(9000), "{asset}");
    s.stop().await;
}
