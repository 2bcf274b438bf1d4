-- assetkit inventory, version 4 (PostgreSQL): host-bound credentials, sealed secrets, security
-- events. See migrations/sqlite/0004_host_credentials.sql for what each change means.

ALTER TABLE api_keys DROP CONSTRAINT api_keys_scope_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scope_check CHECK (scope IN ('agent', 'admin', 'host', 'read'));
ALTER TABLE api_keys ADD COLUMN asset_id BIGINT REFERENCES assets (id) ON DELETE CASCADE;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_host_asset CHECK ((scope = 'host') = (asset_id IS NOT NULL));
CREATE INDEX api_keys_asset ON api_keys (asset_id) WHERE asset_id IS NOT NULL;

ALTER TABLE assets ADD COLUMN enrolment TEXT NOT NULL DEFAULT 'none'
    CHECK (enrolment IN ('none', 'enrolled', 'reenrol', 'revoked'));

ALTER TABLE applied_reports ADD COLUMN key_id TEXT;
ALTER TABLE applied_reports ADD COLUMN body_digest TEXT;
ALTER TABLE applied_reports ADD COLUMN host_key_id TEXT;

ALTER TABLE changes DROP CONSTRAINT changes_kind_check;
ALTER TABLE changes ADD CONSTRAINT changes_kind_check CHECK (kind IN ('added', 'removed', 'changed', 'security'));
