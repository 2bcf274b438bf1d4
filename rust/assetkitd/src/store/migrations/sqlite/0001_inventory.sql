-- assetkit inventory, version 1.

CREATE TABLE api_keys (
    key_id       TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('agent', 'admin')),
    secret       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);

-- Nonces seen inside the timestamp window: replay protection that survives restarts and is
-- shared by every process using this database.
CREATE TABLE nonces (
    key_id TEXT NOT NULL,
    nonce  TEXT NOT NULL,
    ts     INTEGER NOT NULL,
    PRIMARY KEY (key_id, nonce)
) WITHOUT ROWID;
CREATE INDEX nonces_ts ON nonces (ts);

CREATE TABLE business_units (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE idcs (
    id       INTEGER PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    location TEXT
);

CREATE TABLE assets (
    id                INTEGER PRIMARY KEY,
    -- The authoritative name: set by an admin or by the first report; what the cert file holds.
    hostname          TEXT,
    -- What the host last called itself.
    reported_hostname TEXT,
    serial_number     TEXT,
    uuid              TEXT,
    status            TEXT NOT NULL CHECK (status IN ('discovered', 'online', 'in_stock', 'retired')),
    virtual           INTEGER NOT NULL DEFAULT 0,
    manufacturer      TEXT,
    model             TEXT,
    os                TEXT,
    cpu_model         TEXT,
    cpu_cores         INTEGER,
    memory_bytes      INTEGER,
    ips               TEXT,
    macs              TEXT,
    business_unit_id  INTEGER REFERENCES business_units (id),
    idc_id            INTEGER REFERENCES idcs (id),
    rack              TEXT,
    position          TEXT,
    source            TEXT NOT NULL CHECK (source IN ('report', 'manual', 'import')),
    facts_digest      TEXT,
    last_report_id    TEXT,
    last_mode         TEXT,
    last_report       TEXT,
    first_seen        INTEGER,
    last_seen         INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX assets_hostname ON assets (hostname);
CREATE INDEX assets_serial ON assets (serial_number);
CREATE INDEX assets_status ON assets (status, id);
CREATE INDEX assets_last_seen ON assets (last_seen);

-- Names an asset used to have: a host whose cert file still holds an old name is still found.
CREATE TABLE asset_names (
    name     TEXT NOT NULL,
    asset_id INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    until    INTEGER NOT NULL,
    PRIMARY KEY (name, asset_id)
) WITHOUT ROWID;

-- Memory modules, disks, NICs: one row per component, keyed by what identifies it.
CREATE TABLE components (
    asset_id INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    kind     TEXT NOT NULL,
    key      TEXT NOT NULL,
    data     TEXT NOT NULL,
    PRIMARY KEY (asset_id, kind, key)
) WITHOUT ROWID;

-- Typed change events.
CREATE TABLE changes (
    id        INTEGER PRIMARY KEY,
    asset_id  INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    report_id TEXT,
    at        INTEGER NOT NULL,
    component TEXT NOT NULL,
    key       TEXT,
    kind      TEXT NOT NULL CHECK (kind IN ('added', 'removed', 'changed')),
    field     TEXT,
    old       TEXT,
    new       TEXT,
    actor     TEXT,
    summary   TEXT NOT NULL
);
CREATE INDEX changes_asset ON changes (asset_id, id);
CREATE INDEX changes_at ON changes (at);

-- Report ids already applied, with their answer: retries are answered the same and change nothing.
CREATE TABLE applied_reports (
    report_id     TEXT PRIMARY KEY,
    asset_id      INTEGER NOT NULL,
    action        TEXT NOT NULL,
    cert_hostname TEXT,
    at            INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX applied_reports_at ON applied_reports (at);

-- The plugin errors of each asset's latest report.
CREATE TABLE plugin_errors (
    asset_id  INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    plugin    TEXT NOT NULL,
    message   TEXT NOT NULL,
    report_id TEXT,
    at        INTEGER NOT NULL
);
CREATE INDEX plugin_errors_asset ON plugin_errors (asset_id);
