-- assetkit inventory, version 11: server settings the CLI reads, and ids never used twice.

-- What a running server was told that other processes must agree with: `offline_after` (seconds,
-- `serve --offline-after`), written when a server starts, so that `assetkitd assets list --status
-- offline` draws the line where the server's sweep, API and console draw it.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- A removed webhook's id, or a delivery's, is never given to a new one (AUTOINCREMENT): the audit
-- log's "webhook.add 4" and "webhook.remove 4" name one endpoint, and a redelivery names one
-- delivery. SQLite can only add AUTOINCREMENT by rebuilding the table. With foreign keys on, a
-- DROP TABLE deletes its rows first (cascading to the rows that reference them), so the old
-- outbox, the only table that references webhooks, goes before the old webhooks; renaming
-- webhooks_v10 then rewrites outbox_v10's reference.
CREATE TABLE webhooks_v10 (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    url        TEXT NOT NULL,
    url_shown  TEXT NOT NULL,
    secret     TEXT NOT NULL,
    format     TEXT NOT NULL CHECK (format IN ('json', 'slack', 'alertmanager')),
    events     TEXT NOT NULL DEFAULT '',
    business_unit TEXT,
    idc        TEXT,
    status     TEXT,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
);
INSERT INTO webhooks_v10 (id, url, url_shown, secret, format, events, business_unit, idc, status, created_at, created_by)
    SELECT id, url, url_shown, secret, format, events, business_unit, idc, status, created_at, created_by FROM webhooks;
CREATE TABLE outbox_v10 (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id   INTEGER NOT NULL REFERENCES webhooks_v10 (id) ON DELETE CASCADE,
    asset_id     INTEGER NOT NULL,
    event_id     TEXT NOT NULL,
    event        TEXT NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    next_at      INTEGER NOT NULL,
    done_at      INTEGER,
    last_error   TEXT
);
INSERT INTO outbox_v10 SELECT id, webhook_id, asset_id, event_id, event, payload, state, attempts, created_at, next_at, done_at, last_error
    FROM outbox;
DROP TABLE outbox;
DROP TABLE webhooks;
ALTER TABLE webhooks_v10 RENAME TO webhooks;
ALTER TABLE outbox_v10 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (next_at) WHERE state = 'pending';
CREATE INDEX outbox_order ON outbox (webhook_id, asset_id, id) WHERE state = 'pending';
CREATE INDEX outbox_dead ON outbox (id) WHERE state = 'dead';
CREATE INDEX outbox_done ON outbox (done_at) WHERE state = 'delivered';
