-- assetkit inventory, version 9: trust, round two.

-- Host names compare without regard to case, as DNS, Salt and the pillar compare them: one live
-- asset per name. The lookups are `lower(hostname) = lower(?)`, served by these indexes.
CREATE INDEX assets_hostname_ci ON assets (lower(hostname));
CREATE INDEX asset_names_name_ci ON asset_names (lower(name));

-- Who may claim an asset with a fleet key. NULL: the identity rules decide (an imported asset
-- still needs its serial). 'approval': entered by hand; a fleet-key report naming it is refused
-- until an admin approves the claim (or pre-enrols the host). `claim_request` holds the last
-- refused claim (JSON: when, key, serial, reported name, how many times), for the console.
ALTER TABLE assets ADD COLUMN claim TEXT CHECK (claim IN ('approval'));
ALTER TABLE assets ADD COLUMN claim_request TEXT;
UPDATE assets SET claim = 'approval' WHERE source = 'manual' AND enrolment = 'none' AND last_seen IS NULL;

-- Repeats of one event (a fleet key refused again and again on one host) are one row, counted.
ALTER TABLE changes ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;

-- Budgets. New assets per fleet key are counted from the reports that created them.
CREATE INDEX applied_reports_created ON applied_reports (key_id, at) WHERE action = 'created';
-- Change events recorded per asset and day, and the row that sums up those over the budget.
CREATE TABLE event_budgets (
    asset_id   INTEGER PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    day        INTEGER NOT NULL,
    events     INTEGER NOT NULL,
    summary_id INTEGER
);

-- A webhook's URL is shown as scheme, host and port only: a path can be a credential (ntfy
-- topics, healthchecks.io UUIDs, Telegram's bot<token>). Earlier rows kept the first segment.
UPDATE webhooks SET url_shown = substr(url_shown, 1, 8 + instr(substr(url_shown, 9), '/') - 1) || '/…'
    WHERE instr(substr(url_shown, 9), '/') > 0;
