//! Query parameters as the API documents them: integers within their bounds, enums from their
//! lists, strings within their length. Anything else is a 400 `bad_query` that names the
//! parameter and says what is allowed; nothing is silently clamped or ignored.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;

use crate::domain::inventory::{AssetFilter, Narrowing};
use crate::http::error::ApiError;
use crate::http::request::counted;
use crate::http::state::AppState;

/// The query string, decoded (the last value of a repeated name wins).
pub struct Params(BTreeMap<String, String>);

impl FromRequestParts<AppState> for Params {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let query = parts.uri.query().unwrap_or("");
        if query.len() > 4096 {
            return Err(counted::<()>(state, Err(bad("query", "the query string is longer than 4096 bytes"))));
        }
        Ok(Params(form_urlencoded::parse(query.as_bytes()).into_owned().collect()))
    }
}

fn bad(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_query", message).with_field(field)
}

impl Params {
    /// Parameters given another way (the CLI's `--filter NAME=VALUE`).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Params {
        Params(pairs.into_iter().collect())
    }

    /// Refuses a parameter not in `known`: a misspelt filter (`bussiness_unit=`) is an error,
    /// not the whole inventory.
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        let custom = known.contains(&"cf_*");
        let unknown = |name: &&String| !(known.contains(&name.as_str()) || custom && name.starts_with("cf_"));
        match self.0.keys().find(unknown) {
            None => Ok(()),
            Some(name) if known.is_empty() => {
                Err(bad(name, format!("unknown parameter {:?}: this route takes none", crate::log::clip(name))))
            }
            Some(name) => Err(bad(
                name,
                format!("unknown parameter {:?}; this route takes {}", crate::log::clip(name), known.join(", ")),
            )),
        }
    }

    /// An integer parameter within `range`, or `default`.
    pub fn int(&self, name: &str, range: RangeInclusive<i64>, default: Option<i64>) -> Result<Option<i64>, ApiError> {
        let Some(raw) = self.0.get(name) else { return Ok(default) };
        let allowed = || format!("{name} must be an integer from {} to {}", range.start(), range.end());
        let value: i64 =
            raw.trim().parse().map_err(|_| bad(name, format!("{}; got {:?}", allowed(), crate::log::clip(raw))))?;
        if !range.contains(&value) {
            return Err(bad(name, format!("{}; got {value}", allowed())));
        }
        Ok(Some(value))
    }

    /// One of `allowed`, if given.
    pub fn choice(&self, name: &str, allowed: &[&str]) -> Result<Option<String>, ApiError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v.clone())),
            Some(v) => {
                Err(bad(name, format!("{name} must be one of {}; got {:?}", allowed.join(", "), crate::log::clip(v))))
            }
        }
    }

    /// A string of at most `max` characters, if given.
    pub fn text(&self, name: &str, max: usize) -> Result<Option<String>, ApiError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(v) if v.chars().count() <= max => Ok(Some(v.clone())),
            Some(_) => Err(bad(name, format!("{name} is longer than {max} characters"))),
        }
    }
}

/// A path id: a positive 64-bit integer.
pub fn id(raw: &str) -> Result<i64, ApiError> {
    match raw.parse::<i64>() {
        Ok(id) if id >= 1 => Ok(id),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the id must be a positive integer; got {:?}", crate::log::clip(raw)),
        )
        .with_field("id")),
    }
}

/// `since` as unix seconds or RFC 3339 (any offset, `T`/`t`, `Z`/`z`).
pub fn since(raw: &str) -> Result<i64, ApiError> {
    if let Ok(n) = raw.trim().parse::<i64>() {
        return Ok(n);
    }
    raw.trim().parse::<jiff::Timestamp>().map(|t| t.as_second()).map_err(|_| {
        bad("since", format!("since must be unix seconds or an RFC 3339 time; got {:?}", crate::log::clip(raw)))
    })
}

/// The sort orders the asset list offers.
pub const SORTS: &[&str] =
    &["hostname", "-hostname", "last_seen", "-last_seen", "serial_number", "id", "-id", "status"];

/// The statuses the asset list filters on ("offline" is derived).
pub const LIST_STATUSES: &[&str] = &["discovered", "online", "offline", "in_stock", "retired"];

/// The asset list's filters and paging, as the list, the exports and the console read them.
pub fn list_filter(params: &Params) -> Result<AssetFilter, ApiError> {
    Ok(AssetFilter {
        status: params.choice("status", LIST_STATUSES)?,
        business_unit: params.text("business_unit", 100)?,
        idc: params.text("idc", 100)?,
        q: params.text("q", 256)?,
        page: params.int("page", 1..=1_000_000, Some(1))?.map(|p| p as u32),
        per_page: params.int("per_page", 1..=500, Some(50))?.map(|p| p as u32),
        sort: params.choice("sort", SORTS)?,
        after_id: params.int("after_id", 0..=i64::MAX, None)?,
        packages: package_filter(params)?,
        more: narrowing(params)?,
    })
}

/// The filters on what an asset is and whose it is, as the list, the exports and the console
/// take them (`cf_NAME=VALUE` for each custom field).
pub const NARROWING_PARAMS: &[&str] = &[
    "tag",
    "owner",
    "manufacturer",
    "model",
    "os",
    "virtual",
    "memory_min_gib",
    "memory_below_gib",
    "cores_min",
    "cores_max",
    "not_seen_days",
    "hypervisor_id",
    "cloud",
    "warranty_within_days",
    "cf_*",
];

/// Reads [`NARROWING_PARAMS`].
pub fn narrowing(params: &Params) -> Result<Narrowing, ApiError> {
    let is_virtual = params.choice("virtual", &["true", "false"])?.map(|v| v == "true");
    let mut fields = Vec::new();
    for (name, value) in params.0.iter().filter(|(k, _)| k.starts_with("cf_")) {
        if fields.len() == 16 {
            return Err(bad(name, "at most 16 custom field filters"));
        }
        if value.chars().count() > 256 {
            return Err(bad(name, format!("{name} is longer than 256 characters")));
        }
        fields.push((name["cf_".len()..].to_owned(), value.clone()));
    }
    Ok(Narrowing {
        tag: params.text("tag", 64)?,
        owner: params.text("owner", 254)?,
        manufacturer: params.text("manufacturer", 256)?,
        model: params.text("model", 256)?,
        os: params.text("os", 256)?,
        is_virtual,
        memory_min_gib: params.int("memory_min_gib", 0..=1 << 20, None)?,
        memory_below_gib: params.int("memory_below_gib", 0..=1 << 20, None)?,
        cores_min: params.int("cores_min", 0..=1 << 20, None)?,
        cores_max: params.int("cores_max", 0..=1 << 20, None)?,
        not_seen_days: params.int("not_seen_days", 0..=36_500, None)?,
        hypervisor_id: params.int("hypervisor_id", 1..=i64::MAX, None)?,
        cloud: params.text("cloud", 32)?,
        warranty_within_days: params.int("warranty_within_days", 0..=36_500, None)?,
        fields,
    })
}

/// The package filter parameters of the asset list and the exports.
pub const PACKAGE_PARAMS: &[&str] =
    &["package", "manager", "arch", "version_lt", "version_le", "version_gt", "version_ge", "version_eq"];

/// `package=NAME` with its manager, architecture and version bounds.
pub fn package_filter(params: &Params) -> Result<crate::domain::software::PackageFilter, ApiError> {
    let f = crate::domain::software::PackageFilter {
        package: params.text("package", 256)?,
        manager: params.text("manager", 8)?,
        arch: params.text("arch", 64)?,
        version_lt: params.text("version_lt", 256)?,
        version_le: params.text("version_le", 256)?,
        version_gt: params.text("version_gt", 256)?,
        version_ge: params.text("version_ge", 256)?,
        version_eq: params.text("version_eq", 256)?,
    };
    match f.problem() {
        Some(problem) => Err(bad("package", problem)),
        None => Ok(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_offsets_and_case() {
        let utc = since("2026-11-27T05:00:00Z").unwrap();
        assert_eq!(since("2026-11-27T00:00:00-05:00").unwrap(), utc);
        assert_eq!(since("2026-11-27t05:00:00z").unwrap(), utc);
        assert_eq!(since("2026-11-27T10:00:00+05:00").unwrap(), utc);
        assert_eq!(since("1700000000").unwrap(), 1_700_000_000);
        assert!(since("yesterday").is_err());
    }

    #[test]
    fn bounds_and_choices() {
        let p = Params(BTreeMap::from([
            ("page".into(), "4294967296".into()),
            ("limit".into(), "-1".into()),
            ("status".into(), "bogus".into()),
        ]));
        assert!(p.int("page", 1..=1_000_000, Some(1)).unwrap_err().message.contains("from 1 to 1000000"));
        assert!(p.int("limit", 1..=1000, None).is_err());
        assert!(p.choice("status", &["online"]).unwrap_err().message.contains("must be one of online"));
        assert_eq!(p.int("per_page", 1..=500, Some(50)).unwrap(), Some(50));
        assert!(id("0").is_err() && id("x").is_err() && id("9223372036854775808").is_err());
    }
}
