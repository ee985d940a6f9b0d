-- The backend's app user -> Vital user map. Deleted mappings stay as
-- history, ordered by id; at most one active (deleted_at IS NULL) mapping per
-- app user. Times are Unix nanoseconds (UTC), as in adapters/store/sqlite, so that
-- a mapping reads back exactly as it was written.
CREATE TABLE user_map (
	id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	app_user_id   TEXT NOT NULL CHECK (app_user_id <> ''),
	vital_user_id TEXT NOT NULL CHECK (vital_user_id <> ''),
	created_at    BIGINT NOT NULL,
	deleted_at    BIGINT
);

CREATE UNIQUE INDEX user_map_active ON user_map (app_user_id) WHERE deleted_at IS NULL;
CREATE INDEX user_map_history ON user_map (app_user_id, id);
