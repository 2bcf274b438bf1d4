-- assetkit inventory, version 6 (PostgreSQL): console roles; existing users become admins
-- (see migrations/sqlite/0006_roles.sql).
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'
    CONSTRAINT users_role CHECK (role IN ('viewer', 'operator', 'admin'));
