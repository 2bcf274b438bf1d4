-- assetkit inventory, version 3 (PostgreSQL): small asset rows, and substring search at
-- 1,000,000 assets through a pg_trgm GIN index (SQLite's FTS5 trigram index in this engine).

CREATE TABLE asset_reports (
    asset_id BIGINT PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    report   TEXT NOT NULL
);
INSERT INTO asset_reports (asset_id, report) SELECT id, last_report FROM assets WHERE last_report IS NOT NULL;
ALTER TABLE assets DROP COLUMN last_report;

-- pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
-- The free-text box matches hostname, serial number, IPs and MACs, case-insensitively; the
-- query (domain::inventory) uses exactly this expression with ILIKE.
CREATE INDEX assets_search ON assets USING gin (
    (lower(coalesce(hostname, '') || ' ' || coalesce(serial_number, '') || ' ' || coalesce(ips, '') || ' ' || coalesce(macs, ''))) gin_trgm_ops
);
