-- assetkit inventory, version 14 (PostgreSQL): the hosts of a package are read from an index
-- alone. Version 10 indexed asset_packages by package_id only, so "which hosts run openssl
-- older than V" fetched one table row per matching host for its asset_id: about 6,000 random
-- reads of a 3.5 GiB table at 30,000 hosts (86 ms). SQLite's index (a WITHOUT ROWID table's)
-- always held both columns.
--
-- On a large fleet this rebuilds an index over every host-package link (about 150 million rows
-- at 100,000 hosts: minutes, with writes to asset_packages waiting). An operator may build it
-- beforehand with CREATE INDEX CONCURRENTLY under this name (docs/src/operations/upgrades.md).
CREATE INDEX IF NOT EXISTS asset_packages_package_asset ON asset_packages (package_id, asset_id);
DROP INDEX IF EXISTS asset_packages_package;
