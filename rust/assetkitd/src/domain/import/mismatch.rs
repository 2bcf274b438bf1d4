//! What the purchase list promised against what the host reports, flagged when a purchased
//! asset first comes online.

/// Differences between a purchase row and what the host reports, one line each.
pub fn mismatches(purchase: &serde_json::Value, report: &assetkit_core::Report) -> Vec<String> {
    let facts = &report.facts;
    let norm = |s: &str| {
        s.to_ascii_lowercase().replace("(r)", "").replace("(tm)", "").split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let loosely_equal = |a: &str, b: &str| {
        let (a, b) = (norm(a), norm(b));
        let first = |s: &str| s.split([' ', ',']).next().unwrap_or("").to_owned();
        a.contains(&b) || b.contains(&a) || first(&a) == first(&b)
    };
    let mut out = Vec::new();
    let text = |k: &str| purchase.get(k).and_then(|v| v.as_str()).filter(|s| !s.is_empty());
    if let (Some(want), Some(got)) = (text("vendor"), facts.system.as_ref().and_then(|s| s.manufacturer.as_deref()))
        && !loosely_equal(want, got)
    {
        out.push(format!("vendor: purchase list says {want}, host reports {got}"));
    }
    if let (Some(want), Some(got)) = (text("model"), facts.system.as_ref().and_then(|s| s.product_name.as_deref()))
        && !norm(got).contains(&norm(want))
        && !norm(want).contains(&norm(got))
    {
        out.push(format!("model: purchase list says {want}, host reports {got}"));
    }
    if let (Some(want), Some(got)) = (text("cpu"), facts.cpu.as_ref().and_then(|c| c.model.as_deref()))
        && !norm(got).contains(&norm(want))
    {
        out.push(format!("cpu: purchase list says {want}, host reports {got}"));
    }
    if let (Some(want), Some(got)) =
        (text("memory").and_then(parse_gib), facts.memory.as_ref().and_then(|m| m.total_bytes))
    {
        let got_gib = got as f64 / (1u64 << 30) as f64;
        if (got_gib - want).abs() > want * 0.05 + 1.0 {
            out.push(format!("memory: purchase list says {want} GiB, host reports {got_gib:.0} GiB"));
        }
    }
    if let (Some(want), Some(disks)) = (text("disks").and_then(disk_count), facts.disks.as_ref()) {
        let physical = disks.iter().filter(|d| d.source == "megacli").count();
        let got = if physical > 0 { physical } else { disks.len() };
        if got != want {
            out.push(format!("disks: purchase list says {want}, host reports {got}"));
        }
    }
    out
}

/// "256GB", "256 GiB", "262144MB", "256" -> GiB.
pub(super) fn parse_gib(s: &str) -> Option<f64> {
    let s = s.trim().to_ascii_lowercase();
    let digits: String = s.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let n: f64 = digits.parse().ok()?;
    let unit = s[digits.len()..].trim();
    Some(match unit {
        "" | "g" | "gb" | "gib" => n,
        "t" | "tb" | "tib" => n * 1024.0,
        "m" | "mb" | "mib" => n / 1024.0,
        _ => return None,
    })
}

/// "6x2TB", "6 x 1.2TB SAS", "4*960G" -> 6, 6, 4.
pub(super) fn disk_count(s: &str) -> Option<usize> {
    let s = s.trim().to_ascii_lowercase();
    let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    let rest = s[digits.len()..].trim_start();
    (rest.starts_with('x') || rest.starts_with('*') || rest.starts_with('×')).then(|| digits.parse().ok()).flatten()
}
