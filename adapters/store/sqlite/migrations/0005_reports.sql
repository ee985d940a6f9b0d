-- Installation reports take the public report schema (README, "Report
-- schema"): the installation's platform and SDK version, the profile they
-- map to ('' when none does), the SDK's status as comma-separated flag
-- names, the journal's last error and next attempt. Times are Unix
-- nanoseconds in UTC. The latest reported_at per installation wins.
ALTER TABLE reports RENAME COLUMN installation TO installation_id;
ALTER TABLE reports RENAME COLUMN status TO sdk_status;
ALTER TABLE reports RENAME COLUMN current_user_id TO sdk_current_user_id;
ALTER TABLE reports ADD COLUMN platform TEXT NOT NULL DEFAULT '';
ALTER TABLE reports ADD COLUMN sdk_version TEXT NOT NULL DEFAULT '';
ALTER TABLE reports ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE reports ADD COLUMN next_attempt_at INTEGER;
UPDATE reports SET platform = CASE
	WHEN profile LIKE 'ios-%' THEN 'ios'
	WHEN profile LIKE 'android-%' THEN 'android'
	ELSE '' END;

-- The device side: when each installation last sent its report, so that a
-- quiet launch inside the reporting interval sends none (installation).
CREATE TABLE report_log (
	installation TEXT PRIMARY KEY NOT NULL,
	sent_at      INTEGER NOT NULL
) STRICT;
