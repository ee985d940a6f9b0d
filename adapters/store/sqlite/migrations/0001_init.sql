-- Device SDK state: one row per installation, with its JWT token record in
-- the token_* columns (has_token = 0: no record). Secrets are AES-GCM sealed
-- BLOBs (NULL when empty); times are Unix nanoseconds in UTC (NULL when zero).
CREATE TABLE devices (
	installation      TEXT PRIMARY KEY NOT NULL,
	strategy          TEXT NOT NULL DEFAULT '',
	environment       TEXT NOT NULL DEFAULT '',
	region            TEXT NOT NULL DEFAULT '',
	api_key           BLOB,
	api_key_user_id   TEXT NOT NULL DEFAULT '',
	external_user_id  TEXT NOT NULL DEFAULT '',
	startup_strategy  TEXT NOT NULL DEFAULT '',
	startup_user_id   TEXT NOT NULL DEFAULT '',
	has_token         INTEGER NOT NULL DEFAULT 0,
	token_user_id     TEXT NOT NULL DEFAULT '',
	token_team_id     TEXT NOT NULL DEFAULT '',
	token_tenant_id   TEXT NOT NULL DEFAULT '',
	token_environment TEXT NOT NULL DEFAULT '',
	token_region      TEXT NOT NULL DEFAULT '',
	access_token      BLOB,
	refresh_token     BLOB,
	token_expiry      INTEGER,
	pending_reauth    INTEGER NOT NULL DEFAULT 0,
	updated_at        INTEGER NOT NULL
) STRICT;

-- The reconcile journal: the latest entry per installation ...
CREATE TABLE journal (
	installation     TEXT PRIMARY KEY NOT NULL,
	last_observed    TEXT NOT NULL DEFAULT '',
	profile          TEXT NOT NULL DEFAULT '',
	environment      TEXT NOT NULL DEFAULT '',
	region           TEXT NOT NULL DEFAULT '',
	app_user_id      TEXT NOT NULL DEFAULT '',
	vital_user_id    TEXT NOT NULL DEFAULT '',
	in_flight        TEXT NOT NULL DEFAULT '',
	attempts         INTEGER NOT NULL DEFAULT 0,
	next_attempt_at  INTEGER,
	last_error_class TEXT NOT NULL DEFAULT '',
	updated_at       INTEGER NOT NULL
) STRICT;

-- ... and its append-only history: one row per SaveJournal, with the entry
-- as saved.
CREATE TABLE journal_events (
	id               INTEGER PRIMARY KEY,
	installation     TEXT NOT NULL,
	event            TEXT NOT NULL,
	last_observed    TEXT NOT NULL DEFAULT '',
	profile          TEXT NOT NULL DEFAULT '',
	environment      TEXT NOT NULL DEFAULT '',
	region           TEXT NOT NULL DEFAULT '',
	app_user_id      TEXT NOT NULL DEFAULT '',
	vital_user_id    TEXT NOT NULL DEFAULT '',
	in_flight        TEXT NOT NULL DEFAULT '',
	attempts         INTEGER NOT NULL DEFAULT 0,
	next_attempt_at  INTEGER,
	last_error_class TEXT NOT NULL DEFAULT '',
	at               INTEGER NOT NULL
) STRICT;

CREATE INDEX journal_events_installation ON journal_events (installation, id);

-- The backend's app user -> Vital user map. Deleted mappings stay as history;
-- at most one active (deleted_at IS NULL) mapping per app user.
CREATE TABLE user_map (
	id            INTEGER PRIMARY KEY,
	app_user_id   TEXT NOT NULL,
	vital_user_id TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	deleted_at    INTEGER
) STRICT;

CREATE UNIQUE INDEX user_map_active ON user_map (app_user_id) WHERE deleted_at IS NULL;
CREATE INDEX user_map_history ON user_map (app_user_id, id);

-- Fleet installation reports, one per installation (the latest wins).
-- status holds the SDK's flag names, comma separated ("configured,signedIn,useSignInToken").
CREATE TABLE reports (
	installation      TEXT PRIMARY KEY NOT NULL,
	profile           TEXT NOT NULL DEFAULT '',
	app_signed_in     INTEGER NOT NULL DEFAULT 0,
	app_user_id       TEXT NOT NULL DEFAULT '',
	app_vital_user_id TEXT NOT NULL DEFAULT '',
	app_environment   TEXT NOT NULL DEFAULT '',
	app_region        TEXT NOT NULL DEFAULT '',
	status            TEXT NOT NULL DEFAULT '',
	current_user_id   TEXT NOT NULL DEFAULT '',
	sdk_environment   TEXT NOT NULL DEFAULT '',
	sdk_region        TEXT NOT NULL DEFAULT '',
	last_observed     TEXT NOT NULL DEFAULT '',
	reported_at       INTEGER
) STRICT;
