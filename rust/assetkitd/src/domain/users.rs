//! Console users and sessions.
//!
//! Passwords are hashed with argon2id; only a SHA-256 of a session token is stored, so a copy of
//! the database does not hold live sessions. Every function takes a connection: the caller
//! decides the transaction (the writer thread, or the admin CLI's own).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::audit;
use crate::domain::error::{Error, Result};
use crate::store::{Db, DbExt, FromValue, rfc3339};

/// What a console user may do. Each role includes the ones before it: an operator may do what a
/// viewer does, an admin what an operator does. The order of the variants is that inclusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the inventory: assets, their changes, discovered hosts, exports. No secrets, no
    /// settings.
    Viewer,
    /// Also edits assets, enters hosts, assigns discovered hosts and imports purchase lists.
    Operator,
    /// Also manages users, API keys, host credentials and settings (business units, IDCs).
    Admin,
}

impl Role {
    /// Every role, least first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    /// The role's name, as stored and as typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Whether this role may do what `needed` may.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| Error::invalid_field("role", format!("{s:?} is not a role (viewer, operator, admin)")))
    }
}

impl FromValue for Role {
    fn from_value(v: &crate::store::Value) -> std::result::Result<Role, String> {
        let s = String::from_value(v)?;
        s.parse().map_err(|_| format!("expected a role, found {s:?}"))
    }
}

/// Shortest accepted password.
pub const MIN_PASSWORD: usize = 10;
/// How long a console session lasts without logging in again.
pub const SESSION_SECONDS: i64 = 12 * 3600;

fn hash_password(password: &str) -> Result<String> {
    let hash: PasswordHash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| Error::invalid_field("password", e.to_string()))?;
    Ok(hash.to_string())
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(Error::invalid_field("password", format!("a password needs at least {MIN_PASSWORD} characters")));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_field("name", format!("{name:?} is not a valid user name (letters, digits, . _ - @)")))
    }
}

/// Creates a console user who is an admin: what every user was before roles existed, so callers
/// written then keep their meaning. New callers choose with [`create_user_as`].
pub fn create_user(db: &mut dyn Db, name: &str, password: &str, actor: &str, now: i64) -> Result<i64> {
    create_user_as(db, name, password, Role::Admin, actor, now)
}

/// Creates a console user with `role`.
pub fn create_user_as(db: &mut dyn Db, name: &str, password: &str, role: Role, actor: &str, now: i64) -> Result<i64> {
    check_name(name)?;
    check_password(password)?;
    let exists: bool = db.scalar("SELECT EXISTS (SELECT 1 FROM users WHERE name = ?1)", crate::args![name])?;
    if exists {
        return Err(Error::invalid_field("name", format!("user {name} already exists")));
    }
    let id: i64 = db.scalar(
        "INSERT INTO users (name, password_hash, created_at, role) VALUES (?1, ?2, ?3, ?4) RETURNING id",
        crate::args![name, hash_password(password)?, now, role.as_str()],
    )?;
    audit::record(db, actor, "user.create", name, &format!("role {role}"), now)?;
    Ok(id)
}

/// Gives a user another role; returns the role they had. Their sessions stay: each request reads
/// the role afresh, so the change holds from their next click.
pub fn set_role(db: &mut dyn Db, name: &str, role: Role, actor: &str, now: i64) -> Result<Role> {
    let Some(old) = db.scalar_opt::<Role>("SELECT role FROM users WHERE name = ?1", crate::args![name])? else {
        return Err(Error::NotFound(format!("no user {name}")));
    };
    if old != role {
        db.execute("UPDATE users SET role = ?2 WHERE name = ?1", crate::args![name, role.as_str()])?;
        audit::record(db, actor, "user.role", name, &format!("{old} -> {role}"), now)?;
    }
    Ok(old)
}

/// Sets a user's password and ends their sessions.
pub fn set_password(db: &mut dyn Db, name: &str, password: &str, actor: &str, now: i64) -> Result<()> {
    check_password(password)?;
    let n = db
        .execute("UPDATE users SET password_hash = ?2 WHERE name = ?1", crate::args![name, hash_password(password)?])?;
    if n == 0 {
        return Err(Error::NotFound(format!("no user {name}")));
    }
    db.execute("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)", crate::args![name])?;
    audit::record(db, actor, "user.password", name, "", now)?;
    Ok(())
}

/// Disables a user and ends their sessions.
pub fn disable_user(db: &mut dyn Db, name: &str, actor: &str, now: i64) -> Result<()> {
    let n = db.execute(
        "UPDATE users SET disabled_at = ?2 WHERE name = ?1 AND disabled_at IS NULL",
        crate::args![name, now],
    )?;
    if n == 0 {
        return Err(Error::NotFound(format!("no active user {name}")));
    }
    db.execute("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)", crate::args![name])?;
    audit::record(db, actor, "user.disable", name, "", now)?;
    Ok(())
}

/// A user as listed.
#[derive(Debug, Serialize)]
pub struct UserInfo {
    /// Login name.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, when disabled.
    pub disabled_at: Option<String>,
}

/// All users.
pub fn list_users(db: &mut dyn Db) -> Result<Vec<UserInfo>> {
    db.query("SELECT name, created_at, disabled_at, role FROM users ORDER BY name", &[])?
        .iter()
        .map(|r| {
            Ok(UserInfo {
                name: r.get(0)?,
                role: r.get(3)?,
                created_at: rfc3339(r.get(1)?),
                disabled_at: r.get::<Option<i64>>(2)?.map(rfc3339),
            })
        })
        .collect()
}

/// The id of the active user `name`, if there is one.
pub fn id_by_name(db: &mut dyn Db, name: &str) -> Result<Option<i64>> {
    Ok(db.scalar_opt("SELECT id FROM users WHERE name = ?1 AND disabled_at IS NULL", crate::args![name])?)
}

/// Checks a login. Unknown users cost an argon2 verification too, so timing does not tell
/// which names exist.
pub fn verify(db: &mut dyn Db, name: &str, password: &str) -> Result<Option<i64>> {
    let row = db
        .query_opt("SELECT id, password_hash FROM users WHERE name = ?1 AND disabled_at IS NULL", crate::args![name])?;
    const DUMMY: &str =
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$x4T5Zp6UyGQ4f0S2mI3cQvWzv8iUJmG4oQ3q9j2bK0E";
    let (id, stored): (Option<i64>, String) = match &row {
        Some(r) => (Some(r.get(0)?), r.get(1)?),
        None => (None, DUMMY.to_owned()),
    };
    let ok = PasswordHash::new(&stored)
        .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false);
    Ok(if ok { id } else { None })
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct Session {
    /// User id.
    pub user_id: i64,
    /// Login name.
    pub name: String,
    /// What they may do, read with the session (a role change holds from the next request).
    pub role: Role,
    /// The session's CSRF token, embedded in every form.
    pub csrf: String,
}

/// Starts a session; returns the cookie token.
pub fn create_session(db: &mut dyn Db, user_id: i64, now: i64) -> Result<String> {
    let token = assetkit_sign::random_hex(32);
    let csrf = assetkit_sign::random_hex(16);
    db.execute("DELETE FROM sessions WHERE expires_at < ?1", crate::args![now])?;
    db.execute(
        "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        crate::args![token_hash(&token), user_id, csrf, now, now + SESSION_SECONDS],
    )?;
    Ok(token)
}

/// The session a cookie token belongs to, if it is live.
pub fn session(db: &mut dyn Db, token: &str, now: i64) -> Result<Option<Session>> {
    db.query_opt(
        "SELECT s.user_id, u.name, s.csrf, u.role FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled_at IS NULL",
        crate::args![token_hash(token), now],
    )?
    .map(|r| Ok(Session { user_id: r.get(0)?, name: r.get(1)?, csrf: r.get(2)?, role: r.get(3)? }))
    .transpose()
}

/// Ends a session.
pub fn end_session(db: &mut dyn Db, token: &str) -> Result<()> {
    db.execute("DELETE FROM sessions WHERE token_hash = ?1", crate::args![token_hash(token)])?;
    Ok(())
}
