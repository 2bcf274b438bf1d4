-- assetkit inventory, version 4: host-bound credentials, sealed secrets, security events.

-- Keys gain the host scope (a credential that may write one asset only) and the read scope.
-- `secret` holds a sealed value (see store::secrets); a plaintext one left by an older version is
-- sealed when the server key is first loaded.
CREATE TABLE api_keys_v4 (
    key_id     TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    scope      TEXT NOT NULL CHECK (scope IN ('agent', 'admin', 'host', 'read')),
    secret     TEXT NOT NULL,
    asset_id   INTEGER REFERENCES assets (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    CHECK ((scope = 'host') = (asset_id IS NOT NULL))
);
INSERT INTO api_keys_v4 (key_id, name, scope, secret, created_at, revoked_at)
    SELECT key_id, name, scope, secret, created_at, revoked_at FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_v4 RENAME TO api_keys;
CREATE INDEX api_keys_asset ON api_keys (asset_id) WHERE asset_id IS NOT NULL;

-- How an asset's credential stands. none: never enrolled (existing assets enrol on their next
-- report); enrolled: only its own credential writes it; reenrol: an admin lets the next
-- fleet-key report bind a new credential; revoked: its credential was revoked, nothing writes it.
ALTER TABLE assets ADD COLUMN enrolment TEXT NOT NULL DEFAULT 'none'
    CHECK (enrolment IN ('none', 'enrolled', 'reenrol', 'revoked'));

-- A report id is bound to the key that sent it and to its body; an enrolling report remembers
-- the credential its answer carried, so a retry gets the same one.
ALTER TABLE applied_reports ADD COLUMN key_id TEXT;
ALTER TABLE applied_reports ADD COLUMN body_digest TEXT;
ALTER TABLE applied_reports ADD COLUMN host_key_id TEXT;

-- Security events (a refused claim on an enrolled host, a revocation) join the change log.
CREATE TABLE changes_v4 (
    id        INTEGER PRIMARY KEY,
    asset_id  INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    report_id TEXT,
    at        INTEGER NOT NULL,
    component TEXT NOT NULL,
    key       TEXT,
    kind      TEXT NOT NULL CHECK (kind IN ('added', 'removed', 'changed', 'security')),
    field     TEXT,
    old       TEXT,
    new       TEXT,
    actor     TEXT,
    summary   TEXT NOT NULL
);
INSERT INTO changes_v4 SELECT id, asset_id, report_id, at, component, key, kind, field, old, new, actor, summary FROM changes;
DROP TABLE changes;
ALTER TABLE changes_v4 RENAME TO changes;
CREATE INDEX changes_asset ON changes (asset_id, id);
CREATE INDEX changes_at ON changes (at);
