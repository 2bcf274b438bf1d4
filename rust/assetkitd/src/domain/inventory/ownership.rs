//! Whose an asset is and what people add to it: the owner (the person or team accountable),
//! purchase and warranty dates, tags and custom field values. Each change is a change event with
//! its actor; every value is checked the same way whichever way it came in.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::domain::components::Event;
use crate::domain::error::{Error, Result};
use crate::domain::fields;
use crate::store::{Db, DbExt, Value as SqlValue};

/// Most tags on one asset.
pub const MAX_TAGS: usize = 64;

/// What a patch may say about ownership; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct Ownership {
    /// Owner's name ("" clears).
    pub owner_name: Option<String>,
    /// Owner's e-mail ("" clears).
    pub owner_email: Option<String>,
    /// YYYY-MM-DD ("" clears).
    pub purchase_date: Option<String>,
    /// YYYY-MM-DD ("" clears).
    pub warranty_end: Option<String>,
    /// The whole set of tags (replaces the current set).
    pub tags: Option<Vec<String>>,
    /// Custom field values by field name; null or "" clears one.
    pub fields: Option<BTreeMap<String, Option<String>>>,
}

impl Ownership {
    /// Whether it changes anything.
    pub fn is_empty(&self) -> bool {
        [&self.owner_name, &self.owner_email, &self.purchase_date, &self.warranty_end].iter().all(|v| v.is_none())
            && self.tags.is_none()
            && self.fields.is_none()
    }
}

/// A tag as stored, or why it cannot be one: 1 to 64 characters, no control characters, no
/// commas (a list of tags is comma-separated in forms and files), surrounding spaces trimmed.
pub fn valid_tag(tag: &str) -> Result<String> {
    let t = tag.trim();
    if t.is_empty() || t.chars().count() > 64 || t.contains(',') || t.chars().any(char::is_control) {
        return Err(Error::invalid_field(
            "tags",
            format!("{:?} is not a tag: 1 to 64 characters, no commas or control characters", crate::log::clip(tag)),
        ));
    }
    Ok(t.to_owned())
}

/// An e-mail address as stored, or why not (a person reads it; it is not sent to).
pub(crate) fn email(value: &str) -> Result<String> {
    let v = value.trim();
    let ok = v.len() <= 254
        && v.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !v.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(v.to_owned())
    } else {
        Err(Error::invalid_field("owner_email", format!("{:?} is not an e-mail address", crate::log::clip(v))))
    }
}

/// `Some(None)` to clear, `Some(Some(v))` to set, `None` to leave.
fn patched(v: &Option<String>) -> Option<Option<String>> {
    v.as_deref().map(str::trim).map(|s| (!s.is_empty()).then(|| s.to_owned()))
}

fn changed(field: &str, old: Option<&str>, new: Option<&str>, actor: &str) -> Event {
    let shown = new.unwrap_or("(none)");
    Event::whole("asset", "changed", Some(field), old, new, format!("{field} set to {shown} by {actor}"))
}

/// Applies `o` to asset `id`; the change events.
pub fn apply(db: &mut dyn Db, id: i64, o: &Ownership, actor: &str) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    let row = db.query_one(
        "SELECT owner_name, owner_email, purchase_date, warranty_end FROM assets WHERE id = ?1",
        crate::args![id],
    )?;
    type Check = fn(&str) -> Result<String>;
    let checks: [(&str, &Option<String>, Check); 4] = [
        ("owner_name", &o.owner_name, |v| {
            if v.chars().count() > 200 || v.chars().any(char::is_control) {
                Err(Error::invalid_field("owner_name", "an owner's name is at most 200 characters"))
            } else {
                Ok(v.to_owned())
            }
        }),
        ("owner_email", &o.owner_email, email),
        ("purchase_date", &o.purchase_date, |v| fields::date(v).map_err(|e| Error::invalid_field("purchase_date", e))),
        ("warranty_end", &o.warranty_end, |v| fields::date(v).map_err(|e| Error::invalid_field("warranty_end", e))),
    ];
    for (i, (column, value, check)) in checks.into_iter().enumerate() {
        let Some(new) = patched(value) else { continue };
        let new = new.as_deref().map(check).transpose()?;
        let old: Option<String> = row.get(i)?;
        if new != old {
            db.execute(&format!("UPDATE assets SET {column} = ?2 WHERE id = ?1"), crate::args![id, &new])?;
            events.push(changed(column, old.as_deref(), new.as_deref(), actor));
        }
    }
    if let Some(tags) = &o.tags {
        events.extend(set_tags(db, id, tags, actor)?);
    }
    if let Some(values) = &o.fields {
        events.extend(set_fields(db, id, values, actor)?);
    }
    Ok(events)
}

/// Replaces the asset's tags; one event per tag added or removed.
fn set_tags(db: &mut dyn Db, id: i64, tags: &[String], actor: &str) -> Result<Vec<Event>> {
    let wanted: BTreeSet<String> = tags.iter().map(|t| valid_tag(t)).collect::<Result<_>>()?;
    if wanted.len() > MAX_TAGS {
        return Err(Error::invalid_field("tags", format!("at most {MAX_TAGS} tags per asset")));
    }
    let current: BTreeSet<String> =
        db.column::<String>("SELECT tag FROM asset_tags WHERE asset_id = ?1", crate::args![id])?.into_iter().collect();
    let mut events = Vec::new();
    for tag in wanted.difference(&current) {
        db.execute("INSERT INTO asset_tags (asset_id, tag) VALUES (?1, ?2)", crate::args![id, tag.as_str()])?;
        events.push(Event::whole(
            "asset",
            "added",
            Some("tag"),
            None,
            Some(tag),
            format!("tag {tag} added by {actor}"),
        ));
    }
    for tag in current.difference(&wanted) {
        db.execute("DELETE FROM asset_tags WHERE asset_id = ?1 AND tag = ?2", crate::args![id, tag.as_str()])?;
        events.push(Event::whole(
            "asset",
            "removed",
            Some("tag"),
            Some(tag),
            None,
            format!("tag {tag} removed by {actor}"),
        ));
    }
    Ok(events)
}

/// Sets or clears custom field values; an unknown field or a value not of its type is an error
/// naming it.
fn set_fields(db: &mut dyn Db, id: i64, values: &BTreeMap<String, Option<String>>, actor: &str) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    for (name, value) in values {
        let Some(field) = fields::by_name(db, name)? else {
            return Err(Error::invalid_field(
                format!("fields.{}", crate::log::clip(name)),
                format!("there is no custom field {:?} (assetkitd fields list)", crate::log::clip(name)),
            ));
        };
        let new = value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(|v| field.normalise(v)).transpose()?;
        let old: Option<String> = db.scalar_opt(
            "SELECT value FROM asset_fields WHERE asset_id = ?1 AND field_id = ?2",
            crate::args![id, field.id],
        )?;
        if new == old {
            continue;
        }
        match &new {
            Some(v) => db.execute(
                "INSERT INTO asset_fields (asset_id, field_id, value) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (asset_id, field_id) DO UPDATE SET value = excluded.value",
                crate::args![id, field.id, v.as_str()],
            )?,
            None => db.execute(
                "DELETE FROM asset_fields WHERE asset_id = ?1 AND field_id = ?2",
                crate::args![id, field.id],
            )?,
        };
        events.push(changed(&format!("fields.{name}"), old.as_deref(), new.as_deref(), actor));
    }
    Ok(events)
}

/// Whether any asset has a tag or a custom field value (an export of a store without any
/// reads none).
pub fn any_extras(db: &mut dyn Db) -> Result<bool> {
    Ok(db.scalar::<bool>("SELECT EXISTS (SELECT 1 FROM asset_tags) OR EXISTS (SELECT 1 FROM asset_fields)", &[])?)
}

/// Adds `tags` and `fields` (by name) to each asset of a page, in two queries for the page.
/// Ids close together (an export's batches, in id order) are read by range, with one statement
/// text whatever the batch; scattered ones (a page sorted by name) by their list.
/// With `sparse` (the exports' batches), an asset with neither gets no keys: its object does not
/// grow, which keeps a streamed export's memory where it was.
pub fn with_extras(db: &mut dyn Db, assets: &mut [Value], sparse: bool) -> Result<()> {
    let ids: Vec<i64> = assets.iter().filter_map(|a| a["id"].as_i64()).collect();
    let mut tags: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut values: BTreeMap<i64, serde_json::Map<String, Value>> = BTreeMap::new();
    if let (Some(lo), Some(hi)) = (ids.iter().min(), ids.iter().max()) {
        let dense = (hi - lo) as usize <= ids.len().saturating_mul(4);
        let (which, args): (String, Vec<SqlValue>) = if dense {
            ("BETWEEN ?1 AND ?2".into(), vec![(*lo).into(), (*hi).into()])
        } else {
            let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("?{i}")).collect();
            (format!("IN ({})", placeholders.join(", ")), ids.iter().map(|i| SqlValue::from(*i)).collect())
        };
        for r in
            db.query(&format!("SELECT asset_id, tag FROM asset_tags WHERE asset_id {which} ORDER BY tag"), &args)?
        {
            tags.entry(r.get(0)?).or_default().push(r.get(1)?);
        }
        for r in db.query(
            &format!(
                "SELECT af.asset_id, f.name, f.type, af.value FROM asset_fields af JOIN custom_fields f ON f.id = af.field_id \
                 WHERE af.asset_id {which}"
            ),
            &args,
        )? {
            let (asset, name, kind, value): (i64, String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            let shown = match kind.as_str() {
                "integer" => value.parse::<i64>().map(Value::from).unwrap_or(Value::String(value)),
                _ => Value::String(value),
            };
            values.entry(asset).or_default().insert(name, shown);
        }
    }
    for a in assets.iter_mut() {
        let id = a["id"].as_i64().unwrap_or_default();
        if let Value::Object(m) = a {
            let (t, f) = (tags.remove(&id), values.remove(&id));
            if !sparse || t.is_some() {
                m.insert("tags".into(), json!(t.unwrap_or_default()));
            }
            if !sparse || f.is_some() {
                m.insert("fields".into(), Value::Object(f.unwrap_or_default()));
            }
        }
    }
    Ok(())
}
