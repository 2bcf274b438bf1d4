-- assetkit inventory, version 12: where each host runs and whose it is.

-- The person or team accountable (the seed's "administrator"), purchase and warranty dates as
-- built-in fields (until now only in the purchase-list row), the hypervisor a VM runs on, and
-- the cloud instance a host is.
ALTER TABLE assets ADD COLUMN owner_name TEXT;
ALTER TABLE assets ADD COLUMN owner_email TEXT;
ALTER TABLE assets ADD COLUMN purchase_date TEXT;
ALTER TABLE assets ADD COLUMN warranty_end TEXT;
ALTER TABLE assets ADD COLUMN hypervisor_id INTEGER REFERENCES assets (id);
ALTER TABLE assets ADD COLUMN cloud_provider TEXT;
ALTER TABLE assets ADD COLUMN cloud_instance_id TEXT;
ALTER TABLE assets ADD COLUMN cloud_instance_type TEXT;
UPDATE assets SET purchase_date = json_extract(purchase, '$.purchase_date'),
                  warranty_end = json_extract(purchase, '$.warranty_end')
    WHERE purchase IS NOT NULL AND json_valid(purchase);
CREATE INDEX assets_warranty_end ON assets (warranty_end) WHERE warranty_end IS NOT NULL;
CREATE INDEX assets_hypervisor ON assets (hypervisor_id) WHERE hypervisor_id IS NOT NULL;
CREATE INDEX assets_cloud ON assets (cloud_provider) WHERE cloud_provider IS NOT NULL;
CREATE INDEX assets_owner ON assets (lower(owner_name)) WHERE owner_name IS NOT NULL;
CREATE INDEX assets_manufacturer ON assets (manufacturer, model);
CREATE INDEX assets_os ON assets (os);
CREATE INDEX assets_memory ON assets (memory_bytes);
CREATE INDEX assets_cores ON assets (cpu_cores);

-- UUIDs as the kernel prints them (RFC 4122's output form): guests are matched on them.
UPDATE assets SET uuid = lower(uuid) WHERE uuid <> lower(uuid);
CREATE INDEX assets_uuid ON assets (uuid) WHERE uuid IS NOT NULL;

-- Free labels, many per asset.
CREATE TABLE asset_tags (
    asset_id INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    tag      TEXT NOT NULL,
    PRIMARY KEY (asset_id, tag)
) WITHOUT ROWID;
CREATE INDEX asset_tags_tag ON asset_tags (tag, asset_id);

-- Fields an admin defines (NetBox-style): text, integer, date or one of a list.
CREATE TABLE custom_fields (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    type       TEXT NOT NULL CHECK (type IN ('text', 'integer', 'date', 'choice')),
    -- For `choice`: the allowed values, a JSON array.
    choices    TEXT,
    label      TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE asset_fields (
    asset_id INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    field_id INTEGER NOT NULL REFERENCES custom_fields (id) ON DELETE CASCADE,
    -- Normalised text: integers in decimal, dates as YYYY-MM-DD.
    value    TEXT NOT NULL,
    PRIMARY KEY (asset_id, field_id)
) WITHOUT ROWID;
CREATE INDEX asset_fields_value ON asset_fields (field_id, value, asset_id);

-- What each hypervisor last reported it defines: one row per guest (by UUID, else by name).
-- A guest's own asset (its system UUID) is linked when it reports; one that never does stays
-- listed here by name and UUID.
CREATE TABLE guests (
    hypervisor_id INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    name          TEXT NOT NULL,
    uuid          TEXT,
    kind          TEXT NOT NULL,
    source        TEXT NOT NULL,
    vm_id         TEXT,
    vcpus         INTEGER,
    memory_bytes  INTEGER,
    state         TEXT,
    seen_at       INTEGER NOT NULL,
    -- Report order: each upsert takes the next number; `running_seq` is the number at which this
    -- hypervisor began running it (a claim older than another's start is stale, not a conflict).
    seq           INTEGER NOT NULL DEFAULT 0,
    running_seq   INTEGER,
    PRIMARY KEY (hypervisor_id, key)
);
CREATE INDEX guests_uuid ON guests (uuid) WHERE uuid IS NOT NULL;

-- Warranty alerts already sent: once per asset, threshold and end date, across replicas.
CREATE TABLE warranty_alerts (
    asset_id     INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    threshold    INTEGER NOT NULL,
    warranty_end TEXT NOT NULL,
    at           INTEGER NOT NULL,
    PRIMARY KEY (asset_id, threshold, warranty_end)
) WITHOUT ROWID;
