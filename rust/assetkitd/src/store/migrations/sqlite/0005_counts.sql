-- assetkit inventory, version 5: asset counts per status without counting rows.
--
-- Every change of an asset's status appends a delta (+1, -1) here; a count is the sum of the
-- deltas of its status, and maintenance folds the deltas into one row per status each minute.
-- Appending never waits on another writer (a single counter row would serialize every
-- replica's discoveries on PostgreSQL), and reading sums a handful of rows whatever the size
-- of the inventory.
CREATE TABLE asset_counts (
    id     INTEGER PRIMARY KEY,
    status TEXT NOT NULL,
    delta  INTEGER NOT NULL
);
INSERT INTO asset_counts (status, delta) SELECT status, COUNT(*) FROM assets GROUP BY status;
CREATE TRIGGER asset_counts_insert AFTER INSERT ON assets BEGIN
    INSERT INTO asset_counts (status, delta) VALUES (new.status, 1);
END;
CREATE TRIGGER asset_counts_delete AFTER DELETE ON assets BEGIN
    INSERT INTO asset_counts (status, delta) VALUES (old.status, -1);
END;
CREATE TRIGGER asset_counts_update AFTER UPDATE OF status ON assets WHEN old.status <> new.status BEGIN
    INSERT INTO asset_counts (status, delta) VALUES (old.status, -1);
    INSERT INTO asset_counts (status, delta) VALUES (new.status, 1);
END;

-- Offline (online, not seen since the cutoff) counted on the index alone.
CREATE INDEX assets_status_last_seen ON assets (status, last_seen);
-- Business unit and IDC filters, together or the first alone, counted on the index alone.
CREATE INDEX assets_bu_idc ON assets (business_unit_id, idc_id);
