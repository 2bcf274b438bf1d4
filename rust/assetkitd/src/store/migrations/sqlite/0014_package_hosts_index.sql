-- assetkit inventory, version 14: nothing to change on SQLite. PostgreSQL's version 14 gives
-- asset_packages the index by (package_id, asset_id) that version 10 already made here; the
-- engines keep the same version numbers.
SELECT 1;
