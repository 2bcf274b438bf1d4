-- assetkit inventory, version 3: keep the asset rows small and searchable at 100,000 assets.

-- The raw last report (10-20 KB each) moves out of the asset row, so lists and counts scan small
-- rows only.
CREATE TABLE asset_reports (
    asset_id INTEGER PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    report   TEXT NOT NULL
);
INSERT INTO asset_reports (asset_id, report) SELECT id, last_report FROM assets WHERE last_report IS NOT NULL;
ALTER TABLE assets DROP COLUMN last_report;

-- Substring search over hostname, serial number, IPs and MACs (the console's free-text box)
-- without a full scan: a trigram index kept in step by triggers.
CREATE VIRTUAL TABLE assets_fts USING fts5 (
    hostname, serial_number, ips, macs,
    content = 'assets', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO assets_fts (assets_fts) VALUES ('rebuild');
CREATE TRIGGER assets_fts_insert AFTER INSERT ON assets BEGIN
    INSERT INTO assets_fts (rowid, hostname, serial_number, ips, macs) VALUES (new.id, new.hostname, new.serial_number, new.ips, new.macs);
END;
CREATE TRIGGER assets_fts_delete AFTER DELETE ON assets BEGIN
    INSERT INTO assets_fts (assets_fts, rowid, hostname, serial_number, ips, macs) VALUES ('delete', old.id, old.hostname, old.serial_number, old.ips, old.macs);
END;
CREATE TRIGGER assets_fts_update AFTER UPDATE OF hostname, serial_number, ips, macs ON assets
WHEN old.hostname IS NOT new.hostname OR old.serial_number IS NOT new.serial_number OR old.ips IS NOT new.ips OR old.macs IS NOT new.macs
BEGIN
    INSERT INTO assets_fts (assets_fts, rowid, hostname, serial_number, ips, macs) VALUES ('delete', old.id, old.hostname, old.serial_number, old.ips, old.macs);
    INSERT INTO assets_fts (rowid, hostname, serial_number, ips, macs) VALUES (new.id, new.hostname, new.serial_number, new.ips, new.macs);
END;
