-- The audit's covering index (EachReportRecord): each report's audit
-- record, built once when the report is written and kept in app user
-- order, so that an audit reads one stored value a row and meets the user
-- map in the map's own order. The expression is the record's fields joined
-- by the unit separator (char(31)), the times as stored, and uses only
-- operators and functions every sqlite3 tool has, so older tools still
-- open the file.
CREATE INDEX reports_audit ON reports (app_user_id,
	installation_id || char(31) || platform || char(31) || sdk_version || char(31) || profile || char(31) ||
	app_signed_in || char(31) || app_user_id || char(31) || app_vital_user_id || char(31) ||
	app_environment || char(31) || app_region || char(31) || sdk_status || char(31) ||
	sdk_current_user_id || char(31) || sdk_environment || char(31) || sdk_region || char(31) ||
	last_observed || char(31) || last_error || char(31) || ifnull(next_attempt_at, '') || char(31) ||
	ifnull(reported_at, ''));

-- The audit's lookup of each app user's active Vital user, answered from
-- the index alone (deleted_at is there so that SQLite need not read the
-- row to check the partial index's condition).
CREATE INDEX user_map_audit ON user_map (app_user_id, vital_user_id, deleted_at) WHERE deleted_at IS NULL;
