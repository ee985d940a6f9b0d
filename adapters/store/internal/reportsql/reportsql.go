// Package reportsql is the SQL text of the reports table that the SQLite
// and PostgreSQL stores write alike: its columns, and the SET list of an
// upsert. Both dialects read it the same way.
package reportsql

// Columns are the reports table's columns in the order of the stores'
// scans and arguments.
const Columns = `installation_id, platform, sdk_version, profile, app_signed_in, app_user_id,
	app_vital_user_id, app_environment, app_region, sdk_status, sdk_current_user_id, sdk_environment,
	sdk_region, last_observed, last_error, next_attempt_at, reported_at`

// Updates sets each of Columns but the key (installation_id) to the value
// an upsert brought (excluded), for an ON CONFLICT (installation_id) DO
// UPDATE SET.
const Updates = `
		platform = excluded.platform, sdk_version = excluded.sdk_version, profile = excluded.profile,
		app_signed_in = excluded.app_signed_in, app_user_id = excluded.app_user_id,
		app_vital_user_id = excluded.app_vital_user_id, app_environment = excluded.app_environment,
		app_region = excluded.app_region, sdk_status = excluded.sdk_status,
		sdk_current_user_id = excluded.sdk_current_user_id, sdk_environment = excluded.sdk_environment,
		sdk_region = excluded.sdk_region, last_observed = excluded.last_observed,
		last_error = excluded.last_error, next_attempt_at = excluded.next_attempt_at,
		reported_at = excluded.reported_at`
