-- assetkit inventory, version 10: installed software.
--
-- Each package (manager, name, architecture, version) is stored once for the whole fleet, and
-- each asset's installed set is a row per package id: a name or a version repeated on 100,000
-- hosts is one row in `packages`, and a host's set costs a pair of integers per package. Host
-- counts per package and per name are kept in the same transaction as the sets change (as the
-- status counts are), so the software list never counts, and always agrees with the host list.

CREATE TABLE package_names (
    id      INTEGER PRIMARY KEY,
    manager TEXT NOT NULL CHECK (manager IN ('deb', 'rpm', 'apk')),
    name    TEXT NOT NULL,
    -- Assets with at least one version of it installed.
    hosts   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (name, manager)
);

CREATE TABLE packages (
    id             INTEGER PRIMARY KEY,
    name_id        INTEGER NOT NULL REFERENCES package_names (id),
    -- '' when the package has none (rpm's gpg-pubkey entries are not collected).
    arch           TEXT NOT NULL,
    version        TEXT NOT NULL,
    -- As first reported: attributes, not identity.
    source         TEXT,
    source_version TEXT,
    vendor         TEXT,
    -- Assets with this very package installed.
    hosts          INTEGER NOT NULL DEFAULT 0,
    UNIQUE (name_id, arch, version)
);

CREATE TABLE asset_packages (
    asset_id   INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    package_id INTEGER NOT NULL REFERENCES packages (id),
    PRIMARY KEY (asset_id, package_id)
) WITHOUT ROWID;
CREATE INDEX asset_packages_package ON asset_packages (package_id, asset_id);

-- The digest of the set last stored (what a report sending only its digest is compared with),
-- and its size.
ALTER TABLE assets ADD COLUMN packages_digest TEXT;
ALTER TABLE assets ADD COLUMN package_count INTEGER;
