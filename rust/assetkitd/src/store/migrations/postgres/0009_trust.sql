-- assetkit inventory, version 9 (PostgreSQL): trust, round two. See
-- migrations/sqlite/0009_trust.sql for what each change means.

CREATE INDEX assets_hostname_ci ON assets (lower(hostname));
CREATE INDEX asset_names_name_ci ON asset_names (lower(name));

ALTER TABLE assets ADD COLUMN claim TEXT CHECK (claim IN ('approval'));
ALTER TABLE assets ADD COLUMN claim_request TEXT;
UPDATE assets SET claim = 'approval' WHERE source = 'manual' AND enrolment = 'none' AND last_seen IS NULL;

ALTER TABLE changes ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;

CREATE INDEX applied_reports_created ON applied_reports (key_id, at) WHERE action = 'created';
CREATE TABLE event_budgets (
    asset_id   BIGINT PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    day        BIGINT NOT NULL,
    events     BIGINT NOT NULL,
    summary_id BIGINT
);

UPDATE webhooks SET url_shown = regexp_replace(url_shown, '^([a-z]+://[^/]+)/.*$', '\1/…')
    WHERE url_shown ~ '^[a-z]+://[^/]+/';
