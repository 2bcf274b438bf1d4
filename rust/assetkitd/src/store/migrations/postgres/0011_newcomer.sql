-- assetkit inventory, version 11 (PostgreSQL): server settings the CLI reads. (Webhook and
-- delivery ids are identities here, never used twice; SQLite needed AUTOINCREMENT for that.)

-- What a running server was told that other processes must agree with: `offline_after` (seconds,
-- `serve --offline-after`), written when a server starts, so that `assetkitd assets list --status
-- offline` draws the line where the server's sweep, API and console draw it.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
