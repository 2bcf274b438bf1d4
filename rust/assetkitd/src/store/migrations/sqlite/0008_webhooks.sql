-- assetkit inventory, version 8: webhooks for change events, their outbox, and the offline sweep.
--
-- An endpoint (`webhooks`) receives the change events its filters select. Each matching event
-- is written into `outbox` in the transaction that records it, so a crash never loses one; the
-- delivery worker POSTs it, in order per (endpoint, asset), until it is delivered or, after
-- the retry horizon, dead (shown in the console, redeliverable).
CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY,
    -- The URL and the secret are sealed with the server key (aad "webhook-url:<id>",
    -- "webhook:<id>"): a Slack or Mattermost URL is itself a credential. `url_shown` is what
    -- lists and logs show: scheme, host, port and the first path segment.
    url        TEXT NOT NULL,
    url_shown  TEXT NOT NULL,
    secret     TEXT NOT NULL,
    format     TEXT NOT NULL CHECK (format IN ('json', 'slack', 'alertmanager')),
    -- Filters; '' (events) or NULL (the others) selects everything.
    events     TEXT NOT NULL DEFAULT '',
    business_unit TEXT,
    idc        TEXT,
    status     TEXT,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
);

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    webhook_id   INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    asset_id     INTEGER NOT NULL,
    -- X-Assetkit-Event-Id: one per change event, the same for every endpoint it goes to.
    event_id     TEXT NOT NULL,
    event        TEXT NOT NULL,
    -- The event as JSON (the plain format); templates are applied when it is sent.
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    -- Unix milliseconds: the next attempt, or the end of the lease of an attempt under way.
    next_at      INTEGER NOT NULL,
    done_at      INTEGER,
    last_error   TEXT
);
CREATE INDEX outbox_due ON outbox (next_at) WHERE state = 'pending';
CREATE INDEX outbox_order ON outbox (webhook_id, asset_id, id) WHERE state = 'pending';
CREATE INDEX outbox_dead ON outbox (id) WHERE state = 'dead';
CREATE INDEX outbox_done ON outbox (done_at) WHERE state = 'delivered';

-- When the offline sweep flagged the asset silent (NULL: reporting). Cleared, with a
-- "back online" event, by its next report: one event per silence.
ALTER TABLE assets ADD COLUMN silent_since INTEGER;
-- Hosts already silent for the default --offline-after (7 days) when this version first starts
-- are flagged without an event: upgrading does not send one alert per long-gone host. Their
-- next report sends "back online".
UPDATE assets SET silent_since = last_seen
    WHERE status IN ('online', 'discovered') AND last_seen < CAST(strftime('%s', 'now') AS INTEGER) - 604800;
