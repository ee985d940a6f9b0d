// Package sqlite persists vitalsync's state in SQLite files of two kinds: a
// device database (OpenDevice: the device SDK state, the reconcile journal
// and its history, the endpoints, the report log, the installation's
// identity) and an issuer database (OpenIssuer: the backend's user map, the
// fleet's installation reports and their bindings).
//
// # Two kinds of file
//
// The kinds share migrations 1 to 10 (migrations/, when one schema served
// every file) and diverge at 11 (migrations/device/, migrations/issuer/),
// which drops the other kind's tables and marks the file with its kind's
// PRAGMA application_id. Each Open refuses the other kind's file with a
// *KindError (ErrWrongKind), and a call of the other kind on an open DB
// fails the same way. A file from before the split becomes a file of the
// kind that opens it when the other kind's tables are empty; when they hold
// rows it is refused unchanged (a *KindError, or ErrMixedFile when both
// halves hold rows), and Split writes its halves to two new files.
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
//   - issuer.ReportStore (SubmitReport: issuer.Bind decides each
//     installation's binding to an app user, the latest received_at
//     wins) on issuer.Submission, plus LatestReport, EachReport, Binding
//     and BindingHistory; PutReport writes a report directly, ordered by
//     its reported_at, for loads and tests;
//   - installation.Identity (InstallationIdentity, NextReportSequence,
//     RenewInstallationIdentity): the ID a device reports under, its
//     sealed installation key and its report sequence;
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
// adapters/store/storetest's contracts run against *DB in this package's tests,
// as against adapters/store/memory's stores.
//
// # Using a DB
//
//  1. Open the file once per process with Open; keep the *DB for the life of
//     the process and share it between goroutines. Close it on exit.
//  2. Handle Open's *OpenError: ErrNotDatabase, ErrCorrupt, ErrNewerSchema
//     and ErrMissingKey mean the file was left exactly as it was; do not
//     delete it automatically, it may hold a user's session. Inspect (the
//     CLI's doctor) says more.
//  3. Keep the key file (path + ".key") with the database, or pass the same
//     key with WithKey every time: without it the sealed secrets cannot be
//     read back. A missing key file beside sealed values makes Open fail
//     with ErrMissingKey (no new key is made); a wrong key makes reads of
//     them fail with ErrBadKey.
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
// The schema lives in embedded migrations (migrations/NNNN_name.sql),
// applied in order on PRAGMA user_version, each in its own transaction.
//
// # Checks on open, and the full check
//
// Open checks an existing file read-only before it opens it for writing,
// with work that does not grow with the file: the header (SQLite's magic
// string, a valid page size and payload fractions), PRAGMA user_version (0
// up to the newest migration; below zero is ErrCorrupt, above is
// ErrNewerSchema) and the schema: the file's sqlite_schema rows (tables,
// columns, indexes, triggers, views) must be exactly those the migrations up
// to its version create, built in an in-memory database for the comparison.
// Only when the schema differs does Open run PRAGMA quick_check, to say
// whether the pages are damaged; either way the file is ErrCorrupt.
//
// Damage inside data pages is not looked for on every open (it would cost a
// read of the whole file per launch): reading a damaged row returns
// ErrCorrupt. Inspect runs the full check (PRAGMA integrity_check over every
// page) and tries the key on a sealed value; `vitalsync doctor` prints it.
//
// # Creation and crashes
//
// Open builds a new database under a temporary name beside it
// (".NAME.init-*"): it switches it to WAL, applies the migrations,
// checkpoints and syncs it, and only then hard-links it into place; the key
// file comes after. A process killed at any moment of that leaves either no
// database (only a temporary file, which the next Open removes once it is a
// minute old, as it does stray ".vitalsync-key-*" files) or a whole one:
//
//   - killed before the key file exists, the file holds no sealed values,
//     and the next Open makes the key;
//   - a file left by an earlier version, killed during the switch to WAL,
//     holds a hot rollback journal. A read-only connection cannot roll it
//     back ("attempt to write a readonly database"), so Open rolls it back
//     through a read-write connection, as SQLite does for any read-write
//     opener, and checks again; a file this leaves empty was never created,
//     and is initialised.
//
// Hence an empty database file is never one Open left: it is a database
// cut to nothing (with or without its key file), or another program's, and
// Open refuses it with ErrEmptyFile (which matches ErrCorrupt) rather than
// start afresh over it.
//
// # What SQLite cannot promise
//
// The guarantees above hold for a process killed at any moment. These do
// not hold, and nothing in this package can detect all of them:
//
//   - Deleting, moving or replacing the -wal file of a database that is open,
//     or of one whose last process was killed, loses the transactions it
//     holds (the latest commits; a checkpoint moves them into the file at
//     the last Close). Keep path, path-wal and path-shm together.
//   - Copying the database file alone while a process uses it is not a
//     backup: copy it closed, or use SQLite's backup API or VACUUM INTO.
//   - synchronous=NORMAL in WAL mode keeps every commit across a process
//     crash, but a power loss or an operating system crash may lose the
//     latest commits (never the file's consistency).
//   - Network file systems (NFS, SMB) do not honour the locks that
//     serialise writers and WAL readers across processes; use a local disk.
//   - A lost key file loses the sealed secrets: they cannot be recovered,
//     only signed in again.
//   - A file restored from an older copy opens as that older state.
//
// # The journal history
//
// journal_events is bounded: every SaveJournal, in its transaction, keeps
// the installation's newest HistoryMaxEvents (100) events and none older
// than HistoryMaxAge (90 days, on the DB clock) but the event just saved,
// and examines the file's 8 oldest events for age, so that the history of
// installations that no longer save ages out too. Both deletes walk an
// index: their cost does not grow with the history.
//
// # Secrets
//
// Access tokens, refresh tokens and API keys are sealed with AES-256-GCM
// under a 32-byte key from the key file (created with mode 0600, like the
// database, once the database holds its schema) or given with WithKey. A
// sealed value is a version byte, a random 12-byte nonce and the ciphertext;
// the additional data names its table, column and row, so a sealed value
// moved to another row or column does not open. Empty secrets are stored as
// NULL, and sealed values are the only BLOBs the schema stores.
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
//     token_team_id, token_tenant_id, token_public_key, token_environment, token_region,
//     access_token and refresh_token (sealed), token_expiry, pending_reauth.
//     One row makes a launch's read one primary-key lookup.
//   - journal: the reconcile journal entry per installation: last_observed,
//     profile, environment, region, app_user_id, vital_user_id, in_flight
//     and last_action (reconcile.FormatAction's stable form: "sign-out",
//     "sign-in:<vital user>", "resolve:<app user>"), attempts,
//     next_attempt_at, last_error (an SDK error name), last_resolved_at,
//     updated_at.
//   - journal_events: the history, one row per SaveJournal (bounded, see
//     above): the same columns, the event name and its time (at), ordered
//     by id.
//   - user_map: app_user_id → vital_user_id with created_at and deleted_at;
//     a partial UNIQUE index allows one row with deleted_at NULL per app user.
//   - reports: one installation report per installation, in the public
//     report schema (docs/reference/report-schema.md; migration 0005): installation_id, platform,
//     sdk_version, profile, app_signed_in, app_user_id, app_vital_user_id,
//     app_environment, app_region, sdk_status (the SDK's flag names, comma
//     separated, e.g. "configured,signedIn,useSignInToken"),
//     sdk_current_user_id, sdk_environment, sdk_region, last_observed,
//     last_error, next_attempt_at, reported_at (and received_at, migration
//     8). EachReportRecord reads it with the user map; migration 10 dropped
//     the audit's covering indexes of migration 7, which doubled the
//     reports' size and slowed every report write.
//   - report_log: per installation, when the device last sent its report
//     (sent_at).
//   - endpoints (migration 3): at most one row (id = 1), the API and auth
//     base URLs a device database was first used with (api_url, auth_url,
//     updated_at); see RememberEndpoints.
package sqlite
