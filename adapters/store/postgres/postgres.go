package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vitalsync/vitalsync/adapters/store/internal/dberr"
	"github.com/vitalsync/vitalsync/adapters/store/internal/issuersql"
	"github.com/vitalsync/vitalsync/adapters/store/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationsTable records the applied migrations, one row per version.
const migrationsTable = "vitalsync_migrations"

// Errors. Open wraps them in *OpenError.
var (
	// ErrNewerSchema means the database was migrated by a newer version of
	// this package: it records a migration this program does not know.
	ErrNewerSchema = errors.New("postgres: database schema is newer than this program")
	// ErrClosed means the DB has been closed.
	ErrClosed = errors.New("postgres: database is closed")
	// ErrReadOnly means the server takes no writes (a standby, or
	// default_transaction_read_only): Ping's error, matching
	// issuer.ErrStoreUnavailable.
	ErrReadOnly = errors.New("postgres: the server takes no writes")
	// ErrInvalidURL means the connection string does not parse.
	ErrInvalidURL = errors.New("postgres: invalid connection string")
)

// OpenError reports why Open failed: Err is ErrInvalidURL, ErrNewerSchema,
// or the driver's error (connecting, migrating). It never holds the
// connection string, which may carry a password.
type OpenError struct {
	Err error
}

// Error implements error.
func (e *OpenError) Error() string { return "postgres: open: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *OpenError) Unwrap() error { return e.Err }

// Option configures Open.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock sets the clock used for the timestamps the DB writes. The
// default (and the meaning of nil) is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// DB is an open vitalsync database on PostgreSQL: a pgxpool.Pool and the
// clock of the timestamps it writes. It is safe for concurrent use.
type DB struct {
	pool   *pgxpool.Pool
	now    func() time.Time
	closed atomic.Bool
}

// Open connects to the database at connString (a postgres:// URL or a
// keyword/value string, with pgxpool's pool_* parameters), checks it
// answers, and migrates it to the newest schema. A database that records a
// migration newer than this program's yields an *OpenError wrapping
// ErrNewerSchema and is left unchanged. A cancelled ctx yields ctx.Err().
func Open(ctx context.Context, connString string, opts ...Option) (*DB, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	migs, err := loadMigrations()
	if err != nil {
		return nil, &OpenError{Err: err}
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		// pgx's parse errors may quote the string: keep only the class.
		return nil, &OpenError{Err: ErrInvalidURL}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, &OpenError{Err: err}
	}
	if err := migrate(ctx, pool, migs); err != nil {
		pool.Close()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, &OpenError{Err: err}
	}
	return &DB{pool: pool, now: o.now}, nil
}

// Close closes the pool's connections. Calling it again does nothing.
func (db *DB) Close() error {
	if !db.closed.Swap(true) {
		db.pool.Close()
	}
	return nil
}

// Ping checks that the database answers, for readiness checks.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.check(ctx); err != nil {
		return err
	}
	if err := db.pool.Ping(ctx); err != nil {
		return db.wrap(ctx, err)
	}
	// A server that takes no writes (a standby, or read-only by setting)
	// answers pings too.
	var readOnly string
	if err := db.pool.QueryRow(ctx, "SELECT current_setting('transaction_read_only')").Scan(&readOnly); err != nil {
		return db.wrap(ctx, err)
	}
	if readOnly == "on" {
		return dberr.Unavailable(ErrReadOnly)
	}
	return nil
}

// SchemaVersion returns the newest migration the database records (0 for
// none).
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	if err := db.check(ctx); err != nil {
		return 0, err
	}
	var v int
	err := db.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+migrationsTable).Scan(&v)
	return v, db.wrap(ctx, err)
}

// Migrations returns the number of migrations this program knows: the
// schema version Open migrates to.
func Migrations() int {
	migs, err := loadMigrations()
	if err != nil {
		panic(err) // embedded at build time; TestMigrationsLoad checks them
	}
	return len(migs)
}

// migration is one embedded schema step; version N is applied by file N.
type migration = migrations.Migration

// loadMigrations reads the embedded migrations, numbered 1, 2, … without
// gaps.
func loadMigrations() ([]migration, error) {
	migs, err := migrations.Load(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return migs, nil
}

// migrateLock is the advisory lock every migration step holds: one per
// schema (search_path), so that databases and schemas migrate
// independently and two processes on one schema take turns.
const migrateLock = `SELECT pg_advisory_xact_lock(hashtextextended('vitalsync migrate ' || current_schema(), 0))`

// migrate applies the migrations the database does not record, each in its
// own transaction with its record, under the schema's advisory lock.
func migrate(ctx context.Context, pool *pgxpool.Pool, migs []migration) error {
	for {
		done, err := migrateStep(ctx, pool, migs)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep applies the next missing migration, if any, and reports
// whether the schema is now the newest.
func migrateStep(ctx context.Context, pool *pgxpool.Pool, migs []migration) (done bool, err error) {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, migrateLock); err != nil {
		return false, err
	}
	// Under the lock: two processes creating the table at once would
	// otherwise collide on the catalog.
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+migrationsTable+` (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return false, err
	}
	var version int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+migrationsTable).Scan(&version); err != nil {
		return false, err
	}
	switch {
	case version > len(migs):
		return false, fmt.Errorf("%w: version %d, this program knows %d", ErrNewerSchema, version, len(migs))
	case version == len(migs):
		return true, tx.Commit(ctx)
	}
	m := migs[version]
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO "+migrationsTable+" (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	return m.Version == len(migs), nil
}

// begin starts a read-committed transaction; now is the DB clock's time at
// its start.
func (db *DB) begin(ctx context.Context) (*tx, error) {
	if err := db.check(ctx); err != nil {
		return nil, err
	}
	t, err := db.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return nil, db.wrap(ctx, err)
	}
	return &tx{Tx: t, db: db, now: db.now().UTC()}, nil
}

// tx is a write transaction; now is the DB clock's time at its start.
type tx struct {
	pgx.Tx
	db  *DB
	now time.Time
}

// rollback ends the transaction if Commit did not; for defer.
func (t *tx) rollback(ctx context.Context) { _ = t.Rollback(context.WithoutCancel(ctx)) }

// commit commits the transaction.
func (t *tx) commit(ctx context.Context) error { return t.db.wrap(ctx, t.Commit(ctx)) }

// conn is the DB as adapters/store/internal/issuersql's methods run on it:
// the pool for reads, a read-committed transaction for writes, every error
// as wrap makes it.
type conn struct{ db *DB }

func (c conn) Check(ctx context.Context) error { return c.db.check(ctx) }

func (c conn) QueryRow(ctx context.Context, query string, args ...any) issuersql.Row {
	return issuersql.DriverRow(ctx, c.db.pool.QueryRow(ctx, query, args...), pgx.ErrNoRows, c.db.wrap)
}

func (c conn) Query(ctx context.Context, query string, args []any, read func(issuersql.Rows) error) error {
	rows, err := c.db.pool.Query(ctx, query, args...)
	if err != nil {
		return c.db.wrap(ctx, err)
	}
	defer rows.Close()
	return c.db.wrap(ctx, read(rows))
}

func (c conn) Begin(ctx context.Context) (issuersql.Tx, error) {
	t, err := c.db.begin(ctx)
	if err != nil {
		return nil, err
	}
	return writeTx{t}, nil
}

// writeTx is a tx as issuersql's methods use it: every error as wrap
// makes it.
type writeTx struct{ tx *tx }

func (w writeTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := w.tx.Exec(ctx, query, args...)
	if err != nil {
		return 0, w.tx.db.wrap(ctx, err)
	}
	return tag.RowsAffected(), nil
}

func (w writeTx) QueryRow(ctx context.Context, query string, args ...any) issuersql.Row {
	return issuersql.DriverRow(ctx, w.tx.QueryRow(ctx, query, args...), pgx.ErrNoRows, w.tx.db.wrap)
}

func (w writeTx) Now() time.Time                   { return w.tx.now }
func (w writeTx) Commit(ctx context.Context) error { return w.tx.commit(ctx) }
func (w writeTx) Rollback(ctx context.Context)     { w.tx.rollback(ctx) }

// check returns ErrClosed after Close, and ctx.Err() for a done ctx.
func (db *DB) check(ctx context.Context) error { return dberr.Check(ctx, db.closed.Load(), ErrClosed) }

// wrap turns a driver error into the package's: ErrClosed after Close,
// ctx.Err() once ctx is done, the error itself otherwise (unavailable).
func (db *DB) wrap(ctx context.Context, err error) error {
	return dberr.Wrap(ctx, db.closed.Load(), ErrClosed, err, unavailable)
}

// unavailable marks the errors of a server that cannot serve now as
// issuer.ErrStoreUnavailable: no connection (refused, lost, timed out),
// SQLSTATE class 08 (connection), 53 (insufficient resources: disk full,
// out of memory, too many connections), 57P01-57P03 (shutting down,
// starting up), 25006 (a read-only transaction: a standby, or
// default_transaction_read_only) and 40001/40P01 (serialization failure,
// deadlock: retry).
func unavailable(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"),
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", pe.Code == "25006",
			pe.Code == "40001", pe.Code == "40P01":
			return dberr.Unavailable(err)
		}
		return err
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.SafeToRetry(err) {
		return dberr.Unavailable(err)
	}
	return err
}
