//! Custom fields an admin defines (NetBox-style): a name, a type (text, integer, date, or one of
//! a list) and a label. Every way a value arrives (console, API, CLI, purchase-list import) goes
//! through [`Field::normalise`], so a value stored is a value of its type.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::error::{Error, Result};
use crate::store::{Db, DbExt};

/// Most custom fields a store holds.
pub const MAX_FIELDS: i64 = 64;
/// Longest text value.
pub const MAX_VALUE: usize = 1024;

/// A field's type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Any text up to [`MAX_VALUE`] characters.
    Text,
    /// A whole number.
    Integer,
    /// A calendar date, YYYY-MM-DD.
    Date,
    /// One of `choices`.
    Choice,
}

impl FieldType {
    fn parse(s: &str) -> Option<FieldType> {
        match s {
            "text" => Some(FieldType::Text),
            "integer" => Some(FieldType::Integer),
            "date" => Some(FieldType::Date),
            "choice" => Some(FieldType::Choice),
            _ => None,
        }
    }

    /// Its name as stored and shown.
    pub fn as_str(&self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Integer => "integer",
            FieldType::Date => "date",
            FieldType::Choice => "choice",
        }
    }
}

/// A defined field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    /// Its id.
    pub id: i64,
    /// Its name: lower-case letters, digits and `_`, starting with a letter.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// For a choice: the values allowed.
    pub choices: Vec<String>,
    /// What people read.
    pub label: Option<String>,
}

/// A name a field may have: it becomes a query parameter (`cf_NAME`), an import column and an
/// Ansible host variable.
pub fn valid_name(name: &str) -> bool {
    (1..=48).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A calendar date as YYYY-MM-DD, or why not.
pub fn date(value: &str) -> std::result::Result<String, String> {
    value
        .trim()
        .parse::<jiff::civil::Date>()
        .map(|d| d.to_string())
        .map_err(|_| format!("{:?} is not a date (YYYY-MM-DD)", crate::log::clip(value)))
}

impl Field {
    /// `value` as stored for this field (integers in decimal, dates as YYYY-MM-DD), or why it
    /// is not one.
    pub fn normalise(&self, value: &str) -> Result<String> {
        let bad = |why: String| Error::invalid_field(format!("fields.{}", self.name), why);
        let value = value.trim();
        match self.kind {
            FieldType::Text if value.chars().count() > MAX_VALUE => {
                Err(bad(format!("{} holds at most {MAX_VALUE} characters", self.name)))
            }
            FieldType::Text if value.chars().any(char::is_control) => {
                Err(bad(format!("{} holds no control characters", self.name)))
            }
            FieldType::Text => Ok(value.to_owned()),
            FieldType::Integer => value
                .parse::<i64>()
                .map(|n| n.to_string())
                .map_err(|_| bad(format!("{} is an integer; got {:?}", self.name, crate::log::clip(value)))),
            FieldType::Date => date(value).map_err(|why| bad(format!("{}: {why}", self.name))),
            FieldType::Choice if self.choices.iter().any(|c| c == value) => Ok(value.to_owned()),
            FieldType::Choice => Err(bad(format!(
                "{} is one of {}; got {:?}",
                self.name,
                self.choices.join(", "),
                crate::log::clip(value)
            ))),
        }
    }

    /// As the API shows it.
    pub fn json(&self) -> Value {
        json!({"name": self.name, "type": self.kind.as_str(), "choices": self.choices, "label": self.label})
    }
}

fn field(r: &crate::store::Row) -> Result<Field> {
    let kind: String = r.get(2)?;
    let choices: Option<String> = r.get(3)?;
    Ok(Field {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: FieldType::parse(&kind).unwrap_or(FieldType::Text),
        choices: choices.and_then(|c| serde_json::from_str(&c).ok()).unwrap_or_default(),
        label: r.get(4)?,
    })
}

/// Every defined field, by name.
pub fn list(db: &mut dyn Db) -> Result<Vec<Field>> {
    db.query("SELECT id, name, type, choices, label FROM custom_fields ORDER BY name", &[])?.iter().map(field).collect()
}

/// The field called `name`.
pub fn by_name(db: &mut dyn Db, name: &str) -> Result<Option<Field>> {
    db.query_opt("SELECT id, name, type, choices, label FROM custom_fields WHERE name = ?1", crate::args![name])?
        .as_ref()
        .map(field)
        .transpose()
}

/// A field to define.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewField {
    /// Its name.
    pub name: String,
    /// text, integer, date or choice.
    #[serde(rename = "type")]
    pub kind: String,
    /// For a choice: the values allowed.
    #[serde(default)]
    pub choices: Vec<String>,
    /// What people read.
    #[serde(default)]
    pub label: Option<String>,
}

/// Defines a field (audited); its id.
pub fn define(db: &mut dyn Db, new: &NewField, actor: &str, now: i64) -> Result<i64> {
    if !valid_name(&new.name) {
        return Err(Error::invalid_field(
            "name",
            "a field name is 1 to 48 lower-case letters, digits and _, starting with a letter",
        ));
    }
    let Some(kind) = FieldType::parse(&new.kind) else {
        return Err(Error::invalid_field("type", "type is one of text, integer, date, choice"));
    };
    if new.choices.iter().any(|c| c.trim().is_empty()) {
        return Err(Error::invalid_field("choices", "a choice is not empty or blank"));
    }
    let choices: Vec<String> = new.choices.iter().map(|c| c.trim().to_owned()).collect();
    if (kind == FieldType::Choice) == choices.is_empty() || choices.len() > 100 {
        return Err(Error::invalid_field("choices", "a choice field lists 1 to 100 values; other types list none"));
    }
    if let Some(bad) = choices.iter().find(|c| c.chars().count() > 128 || c.contains(char::is_control)) {
        return Err(Error::invalid_field("choices", format!("{:?} is not a usable value", crate::log::clip(bad))));
    }
    if by_name(db, &new.name)?.is_some() {
        return Err(Error::invalid_field("name", format!("a field {} exists already", new.name)));
    }
    if db.scalar::<i64>("SELECT COUNT(*) FROM custom_fields", &[])? >= MAX_FIELDS {
        return Err(Error::invalid_field("name", format!("at most {MAX_FIELDS} custom fields")));
    }
    let label = new.label.as_deref().map(str::trim).filter(|l| !l.is_empty() && l.chars().count() <= 128);
    let stored_choices = (kind == FieldType::Choice).then(|| json!(choices).to_string());
    let id: i64 = db.scalar(
        "INSERT INTO custom_fields (name, type, choices, label, created_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        crate::args![new.name.as_str(), kind.as_str(), stored_choices, label, now],
    )?;
    crate::domain::audit::record(db, actor, "field.add", &new.name, kind.as_str(), now)?;
    Ok(id)
}

/// Removes a field and every asset's value of it (audited); whether it existed.
pub fn remove(db: &mut dyn Db, name: &str, actor: &str, now: i64) -> Result<bool> {
    let Some(f) = by_name(db, name)? else { return Ok(false) };
    db.execute("DELETE FROM asset_fields WHERE field_id = ?1", crate::args![f.id])?;
    db.execute("DELETE FROM custom_fields WHERE id = ?1", crate::args![f.id])?;
    crate::domain::audit::record(db, actor, "field.remove", name, "", now)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(kind: FieldType, choices: &[&str]) -> Field {
        Field {
            id: 1,
            name: "cost_centre".into(),
            kind,
            choices: choices.iter().map(|s| (*s).to_owned()).collect(),
            label: None,
        }
    }

    #[test]
    fn values_are_checked_and_normalised_by_type() {
        assert_eq!(f(FieldType::Integer, &[]).normalise(" 042 ").unwrap(), "42");
        assert!(f(FieldType::Integer, &[]).normalise("4.2").is_err());
        assert_eq!(f(FieldType::Date, &[]).normalise("2027-02-28").unwrap(), "2027-02-28");
        assert!(f(FieldType::Date, &[]).normalise("2027-02-30").is_err());
        assert_eq!(f(FieldType::Choice, &["gold", "silver"]).normalise("gold").unwrap(), "gold");
        let e = f(FieldType::Choice, &["gold", "silver"]).normalise("bronze").unwrap_err().to_string();
        assert!(e.contains("one of gold, silver"), "{e}");
        assert!(f(FieldType::Text, &[]).normalise("a\u{0}b").is_err());
        assert!(valid_name("rack_unit2") && !valid_name("Rack") && !valid_name("2x") && !valid_name("a-b"));
    }
}
