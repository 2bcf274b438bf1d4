-- assetkit inventory, version 2: the console (users, sessions), purchase-list import, and an
-- audit log for admin writes that do not belong to one asset.

ALTER TABLE assets ADD COLUMN purchase TEXT;     -- JSON: the purchase-list row the asset came from
ALTER TABLE assets ADD COLUMN mismatches TEXT;   -- JSON list: purchase row vs what the host reports
CREATE INDEX assets_business_unit ON assets (business_unit_id);
CREATE INDEX assets_idc ON assets (idc_id);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,                 -- argon2id PHC string
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER
);

-- Console sessions. Only a hash of the cookie's token is stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Admin writes that are not about one asset (keys, users, business units, IDCs, imports).
CREATE TABLE admin_events (
    id     INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
);
CREATE INDEX admin_events_at ON admin_events (at);
