//! What one delivery sends: the plain JSON event, a Slack/Mattermost text, or an
//! Alertmanager alert, made from the stored event.

use serde_json::{Value, json};

use crate::domain::error::{Error, Result};

/// What a delivery's body looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The event as JSON (see the README's "Webhooks").
    Json,
    /// A Slack or Mattermost incoming webhook: `{"text": "..."}`.
    Slack,
    /// Alertmanager's `POST /api/v2/alerts` body: a list of one alert.
    Alertmanager,
}

impl Format {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Slack => "slack",
            Format::Alertmanager => "alertmanager",
        }
    }

    /// The format a stored or posted name stands for (the names `--format` takes).
    pub fn parse(s: &str) -> Result<Format> {
        <Format as clap::ValueEnum>::from_str(s, false).map_err(|_| {
            Error::invalid_field(
                "format",
                format!("format {:?} is not one of json, slack, alertmanager", crate::log::clip(s)),
            )
        })
    }
}

/// The body of a delivery in `format`, from the stored plain event.
pub fn render(format: Format, payload: &str) -> Vec<u8> {
    let event: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let asset = &event["asset"];
    let host = asset["hostname"].as_str().or(asset["serial_number"].as_str()).unwrap_or("?").to_owned();
    match format {
        Format::Json => payload.as_bytes().to_vec(),
        Format::Slack => {
            let place: Vec<String> =
                [&asset["business_unit"], &asset["idc"]].iter().filter_map(|v| v.as_str()).map(str::to_owned).collect();
            let place = if place.is_empty() { String::new() } else { format!(" ({})", place.join(", ")) };
            json!({ "text": format!("[assetkit] {host}{place}: {} ({})", text(&event["summary"]), text(&event["type"])) })
                .to_string()
                .into_bytes()
        }
        Format::Alertmanager => {
            let event_type = text(&event["type"]);
            let at = text(&event["at"]);
            // A host silent is a condition that lasts until it reports again ("host.online"
            // resolves it: same labels, ending now). Alertmanager resolves an alert without
            // `endsAt` after its resolve_timeout (5 minutes) unless it is sent again, so the
            // silence is sent ending in 30 days. A change is a fact, shown for a day.
            let (alertname, ends) = match event_type.as_str() {
                "host.offline" => ("AssetkitHostOffline", Some(plus(&at, 30 * 86_400))),
                "host.online" => ("AssetkitHostOffline", Some(at.clone())),
                _ => ("AssetkitChange", Some(plus(&at, 86_400))),
            };
            let mut labels = json!({
                "alertname": alertname,
                "asset_id": asset["id"].to_string(),
                "hostname": host,
                "severity": if alertname == "AssetkitHostOffline" { "warning" } else { "info" },
            });
            if alertname == "AssetkitChange" {
                labels["event"] = json!(event_type);
                labels["event_id"] = event["id"].clone();
                labels["component"] = event["component"].clone();
                labels["key"] = event["key"].clone();
            }
            for (label, field) in [("business_unit", "business_unit"), ("idc", "idc")] {
                if let Some(v) = asset[field].as_str() {
                    labels[label] = json!(v);
                }
            }
            let mut alert = json!({
                "labels": labels,
                "annotations": { "summary": text(&event["summary"]), "event_type": event_type },
                "startsAt": at,
            });
            if let Some(ends) = ends {
                alert["endsAt"] = json!(ends);
            }
            json!([alert]).to_string().into_bytes()
        }
    }
}

fn plus(rfc3339: &str, secs: u64) -> String {
    humantime::parse_rfc3339(rfc3339)
        .map(|t| humantime::format_rfc3339_seconds(t + std::time::Duration::from_secs(secs)).to_string())
        .unwrap_or_else(|_| rfc3339.to_owned())
}
