-- assetkit inventory, version 6: console roles. A viewer reads, an operator also edits assets and
-- imports, an admin also manages users, keys and settings (domain::users::Role). Users who
-- existed before roles could do everything, so they become admins; the default keeps rows that
-- an older assetkitd inserts during a rolling upgrade meaning what they meant.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'
    CHECK (role IN ('viewer', 'operator', 'admin'));
