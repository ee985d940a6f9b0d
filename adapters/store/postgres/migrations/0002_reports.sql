-- Installation reports in the public report schema (README, "Report
-- schema"): the latest report of each installation, as adapters/store/sqlite's
-- reports table. Times are Unix nanoseconds (UTC); sdk_status holds the
-- SDK's flag names, comma-separated. installation_id sorts bytewise (COLLATE
-- "C"), so that the audit's keyset pages walk the primary key in the same
-- order on every server, whatever its locale.
CREATE TABLE reports (
	installation_id     TEXT COLLATE "C" PRIMARY KEY CHECK (installation_id <> ''),
	platform            TEXT NOT NULL,
	sdk_version         TEXT NOT NULL,
	profile             TEXT NOT NULL DEFAULT '',
	app_signed_in       BOOLEAN NOT NULL,
	app_user_id         TEXT NOT NULL DEFAULT '',
	app_vital_user_id   TEXT NOT NULL DEFAULT '',
	app_environment     TEXT NOT NULL DEFAULT '',
	app_region          TEXT NOT NULL DEFAULT '',
	sdk_status          TEXT NOT NULL DEFAULT '',
	sdk_current_user_id TEXT NOT NULL DEFAULT '',
	sdk_environment     TEXT NOT NULL DEFAULT '',
	sdk_region          TEXT NOT NULL DEFAULT '',
	last_observed       TEXT NOT NULL DEFAULT '',
	last_error          TEXT NOT NULL DEFAULT '',
	next_attempt_at     BIGINT,
	reported_at         BIGINT
);
