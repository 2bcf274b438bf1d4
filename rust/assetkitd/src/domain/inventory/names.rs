//! The lists people choose from (business units, IDCs), kept as names.

use crate::domain::error::{Error, Result};
use crate::store::{Db, DbExt};

/// Which list a name belongs to: business units or IDCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameList {
    /// `business_units`.
    BusinessUnits,
    /// `idcs`.
    Idcs,
}

impl NameList {
    fn table(self) -> &'static str {
        match self {
            NameList::BusinessUnits => "business_units",
            NameList::Idcs => "idcs",
        }
    }
}

/// The id of `name` in `list`, created if new.
pub fn named_id(db: &mut dyn Db, list: NameList, name: Option<&str>) -> Result<Option<i64>> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else { return Ok(None) };
    let table = list.table();
    db.execute(&format!("INSERT INTO {table} (name) VALUES (?1) ON CONFLICT (name) DO NOTHING"), crate::args![name])?;
    Ok(Some(db.scalar(&format!("SELECT id FROM {table} WHERE name = ?1"), crate::args![name])?))
}

/// The business units and IDCs an asset can be assigned to, each sorted by name.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    /// Business unit names.
    pub business_units: Vec<String>,
    /// IDC names.
    pub idcs: Vec<String>,
}

/// Reads [`Choices`].
pub fn choices(db: &mut dyn Db) -> Result<Choices> {
    Ok(Choices {
        business_units: db.column("SELECT name FROM business_units ORDER BY name", &[])?,
        idcs: db.column("SELECT name FROM idcs ORDER BY name", &[])?,
    })
}

/// Adds a business unit or an IDC; false when it already exists.
pub fn add_name(db: &mut dyn Db, list: NameList, name: &str, actor: &str, now: i64) -> Result<bool> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(Error::invalid_field("name", "a name needs 1 to 100 characters"));
    }
    let table = list.table();
    let added = db.execute(
        &format!("INSERT INTO {table} (name) VALUES (?1) ON CONFLICT (name) DO NOTHING"),
        crate::args![name],
    )? > 0;
    if added {
        crate::domain::audit::record(db, actor, &format!("{table}.add"), name, "", now)?;
    }
    Ok(added)
}
