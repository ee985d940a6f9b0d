// Package postgres persists the backend's state on PostgreSQL (pgx and
// pgxpool): the issuer's app user → Vital user map with its history, and
// the fleet's installation reports, which `vitalsync audit --db
// postgres://…` reads back joined with the map. It is the production store
// of `vitalsync serve`; adapters/store/sqlite stays the embedded default for one
// machine.
//
// # Whose interfaces
//
// The issuer declares the store it needs and owns its types; this package
// implements it, so it imports issuer, never the other way round.
// *DB implements issuer.UserStore (LookupUser, PutUser, MarkUserDeleted) on
// issuer.Mapping, plus UserHistory, and passes the same contract
// (adapters/store/storetest.UserMap) as adapters/store/sqlite and adapters/store/memory. Its
// errors match the issuer's sentinels: PutUser's existing mapping is
// issuer.ErrMappingExists (with the mapping), MarkUserDeleted without an
// active mapping is issuer.ErrMappingInactive, an empty ID is
// issuer.ErrInvalidMapping. *DB also implements issuer.ReportStore
// (SubmitReport, with Binding and BindingHistory) and LatestReport, and
// passes adapters/store/storetest.Reports as
// the other report stores do; `serve --db postgres://…` therefore serves
// POST /v1/installation-report.
//
// # Using a DB
//
//  1. Open the database once per process with Open and a postgres:// URL
//     (pool size and timeouts as pgxpool's pool_max_conns,
//     pool_max_conn_idle_time, connect_timeout parameters; search_path picks
//     a schema). Keep the *DB for the life of the process, share it between
//     goroutines, Close it on exit.
//  2. Handle Open's *OpenError: ErrNewerSchema means another, newer version
//     of the program migrated this database; run that version, do not
//     downgrade. ErrInvalidURL means the string does not parse. Errors never
//     hold the connection string (it may carry a password).
//  3. Pass a context with a deadline to every call; a done context returns
//     ctx.Err() and writes nothing. After Close every call returns ErrClosed.
//  4. Ping answers readiness checks.
//
// # Migrations
//
// The schema lives in embedded migrations (migrations/NNNN_name.sql,
// numbered from 1 without gaps), the discipline of adapters/store/sqlite's PRAGMA
// user_version with a table instead: vitalsync_migrations records each
// applied version with its file name and time. Open applies the missing
// ones in order, each in its own transaction together with its record, and
// every step first takes a transaction-scoped advisory lock of the schema
// (pg_advisory_xact_lock on a hash of current_schema()), so any number of
// processes starting at once on a new database take turns and each
// migration runs once; the lock ends with the step's transaction, so a
// process killed mid-migration holds nothing and leaves the previous
// version. A database recording a version above the newest known one is
// refused with ErrNewerSchema before anything is applied.
//
// # Replicas on one database
//
// Any number of issuer replicas may share one database. They never map one
// app user to two Vital users, and never create two Vital users for one,
// because of two facts and no lock held across a network call:
//
//   - the partial unique index user_map_active allows one active mapping
//     per app user: of concurrent PutUser calls from any replicas exactly one
//     inserts, and the others (INSERT … ON CONFLICT DO NOTHING waits for the
//     winner's commit) read the winner's mapping and get ErrMappingExists
//     with it, which the issuer uses;
//   - the team API refuses a second user with the same client_user_id (400)
//     and names the existing one, which the issuer adopts.
//
// Within one replica the issuer's per-user lock single-flights concurrent
// first requests, so a herd costs at most one create call per replica, not
// per request: the extra calls come back as 400 and are adopted. The same
// holds when a deleted Vital user is replaced while other replicas serve
// the app user: MarkUserDeleted succeeds for one replica only (the others
// get ErrMappingInactive and read the replacement), and the replacement's
// create is single by client_user_id like a first one.
//
// The alternative, a transaction-scoped advisory lock per app user held
// from the lookup to the insert, was not chosen: the transaction would stay
// open across the team API's create call, so a slow or hung upstream would
// hold pool connections and locks for as long as it hangs, and a herd of
// first requests would queue on the database instead of in the replica;
// advisory locks are also missing from some Postgres-compatible distributed
// databases, while a unique index is everywhere. The unique active mapping
// is what adapters/store/sqlite and adapters/store/memory already rely on, so one
// contract test covers all three.
//
// # Reports from many replicas
//
// PutReport is one statement, INSERT … ON CONFLICT (installation_id) DO
// UPDATE … WHERE reports.reported_at <= excluded.reported_at: the conflict
// locks the stored row, and the WHERE is evaluated on it as the last
// concurrent writer committed it, so of any number of reports of one
// installation, sent at once through any replicas, the one with the latest
// reported_at is the one left (an equal time replaces: a retried send).
// TestReplicasKeepTheLatestReport sends 100 at once through two pools.
//
// SubmitReport, the issuer's write, orders by received_at (the issuer's
// clock) the same way, after deciding the installation's binding on its
// locked row: a first report inserts the binding (ON CONFLICT DO
// NOTHING, so a concurrent first report of the same installation waits
// for that insert and then reads it FOR UPDATE), so concurrent reports of
// one installation through any replicas are decided one at a time and
// bind it to one app user.
//
// # The audit's read
//
// EachReportRecord streams the audit's join (each report with its app
// user's active mapping; adapters/store/sqlite's EachReportRecord on PostgreSQL)
// over connections of its own, in keyset pages on installation_id: each
// page a short statement continuing after the previous one's last key, no
// cursor or transaction held for the walk. Pages are key ranges cut at the
// bounds of the column's histogram in pg_stats, about pageRows rows each,
// so the server plans a page as its share of the table: a large share as
// a COPY of the whole join is planned (sequential scan, hash join with the
// user map, sort), a small one along the primary key with one index probe
// of the user map per report. The next range runs on a second connection
// while one streams. A row cap per page keeps a walk on stale or
// missing statistics complete. The database is not migrated: an older
// schema is ErrOlderSchema, a newer one ErrNewerSchema. LoadFleet bulk-loads
// a generated fleet with COPY, for tests and benchmarks.
//
// # Schema (version 2)
//
// Times are BIGINT Unix nanoseconds (UTC), as in adapters/store/sqlite, so that a
// mapping reads back exactly as written (timestamptz keeps microseconds).
//
//   - vitalsync_migrations: version (primary key), name, applied_at.
//   - user_map: id (identity, the history's order), app_user_id,
//     vital_user_id (both non-empty), created_at, deleted_at (NULL while
//     active); user_map_active is the partial unique index on app_user_id
//     where deleted_at IS NULL, user_map_history the (app_user_id, id)
//     index UserHistory walks.
//   - reports (migration 2): the report schema's columns (docs/reference/
//     report-schema.md), one row per installation; installation_id is the primary
//     key, COLLATE "C" so that keyset pages follow byte order on any
//     server locale; app_signed_in BOOLEAN; sdk_status the flag names
//     comma-separated; next_attempt_at and reported_at BIGINT Unix
//     nanoseconds (NULL: none).
//
// # Tests
//
// Tests that need PostgreSQL take a schema of their own from
// adapters/store/postgres/pgtest, which reads $VITALSYNC_TEST_POSTGRES (skip
// when unset, fail when $CI is set too).
package postgres
