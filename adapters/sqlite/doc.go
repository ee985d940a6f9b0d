// Package sqlite persists vitalsync's state in one SQLite file: the device SDK
// state, the reconcile journal, the backend's user map and the fleet's
// installation reports.
//
// # Whose interfaces
//
// The packages that use a store declare it and own its types; this package
// implements them, so it imports them (as benbjohnson/wtf's sqlite imports
// wtf), never the other way round. *DB implements:
//
//   - vitalsdk.Store (LoadDevice, SaveDevice, DeleteDevice) on
//     vitalsdk.DeviceState, vitalsdk.TokenRecord and vitalsdk.Strategy;
//   - issuer.UserStore (LookupUser, PutUser, MarkUserDeleted) on
//     issuer.Mapping, plus UserHistory;
//   - issuer.ReportStore (PutReport: the latest reported_at wins) on
//     issuer.Report, plus LatestReport and EachReport;
//   - installation.ReportLog (LastReportSent, SetReportSent): when a
//     device last sent its report;
//   - and, through the *Journal that DB.Journal returns, reconcile.Journal.
//
// EachReportRecord streams the audit's join (every report with its app
// user's active mapping) from a file opened read-only, one record a row,
// for audit.RecordSource; LoadFleet bulk-loads a generated fleet. Errors keep
// this package's sentinels and also match the consumer's for the same
// failure: a state that fails vitalsdk.DeviceState.Validate is ErrInvalid
// and vitalsdk.ErrInvalidState (with its *vitalsdk.StateError); PutUser's
// existing mapping is issuer.ErrMappingExists; MarkUserDeleted without an
// active mapping is ErrNotFound and issuer.ErrMappingInactive; an empty
// mapping ID is ErrInvalid and issuer.ErrInvalidMapping.
// adapters/storetest's contracts run against *DB in this package's tests,
// as against adapters/memory's stores.
//
// # Using a DB
//
//  1. Open the file once per process with Open; keep the *DB for the life of
//     the process and share it between goroutines. Close it on exit.
//  2. Handle Open's *OpenError: ErrNotDatabase, ErrCorrupt and ErrNewerSchema
//     mean the file was left exactly as it was; do not delete it
//     automatically, it may hold a user's session.
//  3. Keep the key file (path + ".key") with the database, or pass the same
//     key with WithKey every time: without it the sealed secrets cannot be
//     read back, and reads of them fail with ErrBadKey.
//  4. Pass a context with a deadline to every call; a cancelled context
//     returns context.Canceled and writes nothing.
//  5. Treat a *ColumnError wrapping ErrCorrupt on a read as damaged state,
//     not as absence: the value was written by something else, or the file
//     was edited.
//
// # Connections
//
// A DB holds two pools on the same file: one writer connection (WAL,
// busy_timeout, BEGIN IMMEDIATE, foreign keys and synchronous NORMAL, all set
// in the DSN) and a small pool of read-only connections, so reads never write
// and do not wait behind the writer. Every write method is one transaction:
// BeginTx, deferred Rollback, small helpers, Commit; WriteCount counts the
// commits. Several processes may open the same file: BEGIN IMMEDIATE and the
// busy timeout serialise their writes.
//
// Open checks an existing file read-only before it opens it for writing:
// the 16-byte SQLite header, PRAGMA user_version and PRAGMA quick_check. The
// schema lives in embedded migrations (migrations/NNNN_name.sql), applied in
// order on PRAGMA user_version, each in its own transaction.
//
// # Secrets
//
// Access tokens, refresh tokens and API keys are sealed with AES-256-GCM
// under a 32-byte key from the key file (created with mode 0600, like the
// database) or given with WithKey. A sealed value is a version byte, a random
// 12-byte nonce and the ciphertext; the additional data names its table,
// column and row, so a sealed value moved to another row or column does not
// open. Empty secrets are stored as NULL.
//
// # Schema (version 1)
//
// Times are INTEGER Unix nanoseconds (UTC), NULL for the zero time; they load
// in UTC. Enumerations are stored as the fsm package's stable strings and
// validated when loaded.
//
//   - devices: one row per installation: strategy ("", "apiKey", "jwt"),
//     environment, region, api_key (sealed), api_key_user_id,
//     external_user_id, startup_strategy, startup_user_id, updated_at, and
//     the JWT record in the same row (has_token = 0: none): token_user_id,
//     token_team_id, token_tenant_id, token_environment, token_region,
//     access_token and refresh_token (sealed), token_expiry, pending_reauth.
//     One row makes a launch's read one primary-key lookup.
//   - journal: the reconcile journal entry per installation: last_observed,
//     profile, environment, region, app_user_id, vital_user_id, in_flight,
//     attempts, next_attempt_at, last_error_class, updated_at.
//   - journal_events: append-only history, one row per SaveJournal: the
//     same columns, the event name and its time (at), ordered by id.
//   - user_map: app_user_id → vital_user_id with created_at and deleted_at;
//     a partial UNIQUE index allows one row with deleted_at NULL per app user.
//   - reports: one installation report per installation, in the public
//     report schema (README; migration 0005): installation_id, platform,
//     sdk_version, profile, app_signed_in, app_user_id, app_vital_user_id,
//     app_environment, app_region, sdk_status (the SDK's flag names, comma
//     separated, e.g. "configured,signedIn,useSignInToken"),
//     sdk_current_user_id, sdk_environment, sdk_region, last_observed,
//     last_error, next_attempt_at, reported_at.
//   - report_log: per installation, when the device last sent its report
//     (sent_at).
package sqlite
