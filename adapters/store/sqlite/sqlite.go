package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/vitalsync/vitalsync/adapters/store/internal/dberr"
	"github.com/vitalsync/vitalsync/adapters/store/internal/issuersql"
	"github.com/vitalsync/vitalsync/adapters/store/internal/migrations"
)

//go:embed migrations/*.sql migrations/device/*.sql migrations/issuer/*.sql
var migrationFS embed.FS

// busyTimeout is how long a connection waits for another process's lock.
const busyTimeout = 5 * time.Second

// readers is the size of the read-only connection pool.
const readers = 4

// sqliteHeader starts every SQLite 3 database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// Errors. Open wraps them in *OpenError; reads and writes wrap them in
// *ColumnError when a single value is at fault.
var (
	// ErrNewerSchema means the file was written by a newer version of this
	// package (its user_version is above the newest known migration).
	ErrNewerSchema = errors.New("sqlite: database schema is newer than this program")
	// ErrNotDatabase means the file is not an SQLite database.
	ErrNotDatabase = errors.New("sqlite: file is not an SQLite database")
	// ErrNotFile means something other than a regular file (a directory,
	// a device) is in place of the database file.
	ErrNotFile = errors.New("sqlite: not a regular file in place of the database")
	// ErrNotWritable means the database file, or the directory it needs
	// to create its WAL and key files in, cannot be written: a read-only
	// folder, mount or file, an immutable file (Inspect reports it; Open
	// opens such a file, and its first write fails).
	ErrNotWritable = errors.New("sqlite: the database cannot be written")
	// ErrCorrupt means the file, or a value stored in it, is damaged.
	ErrCorrupt = errors.New("sqlite: database is corrupt")
	// ErrEmptyFile means the database file is empty. Open never leaves a
	// database empty (a new one appears whole), so this one was
	// truncated, or made by something else: it is refused rather than
	// started afresh, with or without its key file. Remove it to start a
	// new database. It matches ErrCorrupt.
	ErrEmptyFile = fmt.Errorf("%w: the file is empty (a database that held data was cut to nothing, or the file was not made by this program; remove it to start a new one)", ErrCorrupt)
	// ErrBadKey means a sealed secret cannot be opened with the key in use
	// (a wrong key, or a ciphertext that does not belong to its row), or the
	// key itself is unusable.
	ErrBadKey = errors.New("sqlite: wrong or unusable encryption key")
	// ErrNotFound means there is no such row to change.
	ErrNotFound = errors.New("sqlite: not found")
	// ErrInvalid means a value given to a write method cannot be stored
	// (an empty key, an unknown strategy, state or environment).
	ErrInvalid = errors.New("sqlite: invalid value")
	// ErrMissingKey means the key file beside the database is gone while
	// the database holds sealed secrets: they cannot be read, and a new key
	// would hide that. Restore the key file, or pass the key with WithKey.
	ErrMissingKey = errors.New("sqlite: key file is missing beside a database with sealed secrets")
	// ErrClosed means the DB has been closed.
	ErrClosed = errors.New("sqlite: database is closed")
)

// OpenError reports why Open refused or failed to open a database file.
// Err is one of ErrNewerSchema, ErrNotDatabase, ErrCorrupt, ErrBadKey, or an
// underlying (file system, driver) error.
type OpenError struct {
	Path string
	Err  error
}

// Error implements error.
func (e *OpenError) Error() string { return "sqlite: open " + e.Path + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *OpenError) Unwrap() error { return e.Err }

// ColumnError reports one stored or given value that cannot be used: Err is
// ErrCorrupt (a stored value that does not parse), ErrBadKey (a sealed value
// that does not open) or ErrInvalid (a value given to a write). It never
// holds the value itself.
type ColumnError struct {
	Table, Column string
	Key           string // the row's key, e.g. the installation
	Err           error
}

// Error implements error.
func (e *ColumnError) Error() string {
	return fmt.Sprintf("sqlite: %s.%s of %q: %v", e.Table, e.Column, e.Key, e.Err)
}

// Unwrap returns the cause.
func (e *ColumnError) Unwrap() error { return e.Err }

// Option configures Open.
type Option func(*options)

type options struct {
	key    []byte
	keySet bool
	now    func() time.Time
}

// WithKey sets the 32-byte AES-256 key that seals secrets. Without it, Open
// uses the key file path+".key", creating it (mode 0600) if it is missing.
func WithKey(key []byte) Option {
	return func(o *options) { o.key, o.keySet = append([]byte(nil), key...), true }
}

// WithClock sets the clock used for the timestamps the DB writes.
// The default (and the meaning of nil) is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// DB is an open vitalsync database. It is safe for concurrent use.
type DB struct {
	wdb *sql.DB // the single writer connection
	rdb *sql.DB // read-only connections
	// The launch path's reads, prepared once on the read pool.
	loadDevice, loadJournal *sql.Stmt
	sealer                  *sealer
	kind                    Kind
	now                     func() time.Time
	writes                  atomic.Uint64
	closed                  atomic.Bool
}

// OpenDevice opens the device database file at path, creating it (mode
// 0600) if it does not exist, and migrates it to the device schema: the
// SDK's state, the journal and its history, the endpoints, the report log
// and the installation's identity. See open for what it checks and refuses.
func OpenDevice(ctx context.Context, path string, opts ...Option) (*DB, error) {
	return open(ctx, path, KindDevice, opts)
}

// OpenIssuer opens the issuer database file at path, creating it (mode
// 0600) if it does not exist, and migrates it to the issuer schema: the
// user map, the installation reports and the installations' bindings. See
// open for what it checks and refuses.
func OpenIssuer(ctx context.Context, path string, opts ...Option) (*DB, error) {
	return open(ctx, path, KindIssuer, opts)
}

// open opens a database file of kind k, creating it if it does not exist,
// and migrates it to the newest schema of its kind.
//
// A file of the other kind is refused with a *KindError (ErrWrongKind). A
// file from before the split (schema version 10 or older, both kinds'
// tables) becomes a file of kind k when the other kind's tables are empty:
// migration 11 drops them. When they hold rows it is refused and left as it
// was: a *KindError when only the other kind's tables hold rows,
// ErrMixedFile when both do (Split writes its halves to two files).
//
// An existing file is first checked read-only, with work that does not grow
// with the file (see the package doc): a file that is not SQLite
// (ErrNotDatabase), a damaged one or one whose schema is not the
// migrations' (ErrCorrupt), one from a newer schema (ErrNewerSchema), an
// empty file beside an existing key file (ErrCorrupt: a truncated
// database), or sealed values without their key file (ErrMissingKey) yields
// an *OpenError and is not modified; the one change Open may make first is
// SQLite's own rollback of a hot journal. A key that is not 32 bytes yields
// an *OpenError wrapping ErrBadKey. A cancelled ctx yields ctx.Err().
func open(ctx context.Context, path string, kind Kind, opts []Option) (*DB, error) {
	o, abs, err := start(ctx, path, opts)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &OpenError{Path: path, Err: err}
	}
	migs, err := loadMigrations(kind)
	if err != nil {
		return nil, &OpenError{Path: path, Err: err}
	}

	// Whether a key file exists is read before the database file: a key
	// file is only ever created beside a database that is not empty, so a
	// key seen first and an empty database seen after mean a truncated file.
	keyPath := abs + ".key"
	removeStrayFiles(abs, time.Now())
	key, keyFile := o.key, false
	if !o.keySet {
		key, err = readKey(keyPath)
		keyFile = err == nil
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, &OpenError{Path: path, Err: err}
		}
	}
	var s *sealer
	if o.keySet || keyFile {
		if s, err = newSealer(key); err != nil {
			return nil, &OpenError{Path: path, Err: err}
		}
	}
	// A new database is built under a temporary name and linked into
	// place once it holds its schema: a file at path is never left empty,
	// so an empty one is damage (a truncated file), refused whether or not
	// its key file survived.
	if fi, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		if err := createAtomically(ctx, abs, kind, migs); err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr
			}
			return nil, &OpenError{Path: path, Err: err}
		}
	} else if err != nil {
		return nil, &OpenError{Path: path, Err: err}
	} else if !fi.Mode().IsRegular() {
		return nil, &OpenError{Path: path, Err: fmt.Errorf("%w: %s", ErrNotFile, fileKind(fi.Mode()))}
	}
	{
		st, err := validate(ctx, abs, kind, migs, keyFile)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr
			}
			return nil, &OpenError{Path: path, Err: err}
		}
		if s == nil && st.sealed && !exists(keyPath) {
			return nil, &OpenError{Path: path, Err: ErrMissingKey}
		}
	}

	db := &DB{now: o.now, kind: kind}
	if db.wdb, err = sql.Open("sqlite3", writerDSN(abs)); err != nil {
		return nil, &OpenError{Path: path, Err: err}
	}
	db.wdb.SetMaxOpenConns(1)
	db.wdb.SetMaxIdleConns(1)
	db.wdb.SetConnMaxLifetime(0)
	db.wdb.SetConnMaxIdleTime(0)
	if err := migrateRetryingBusy(ctx, db.wdb, kind, migs); err != nil {
		db.wdb.Close()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, &OpenError{Path: path, Err: classify(err)}
	}
	// The key file comes last, once the database holds its schema: a kill
	// before this point leaves a database without secrets and without a
	// key, which the next Open completes.
	if s == nil {
		key, err = loadOrCreateKey(keyPath)
		if err == nil {
			s, err = newSealer(key)
		}
		if err != nil {
			db.wdb.Close()
			return nil, &OpenError{Path: path, Err: err}
		}
	}
	db.sealer = s
	if db.rdb, err = sql.Open("sqlite3", readerDSN(abs)); err != nil {
		db.wdb.Close()
		return nil, &OpenError{Path: path, Err: err}
	}
	db.rdb.SetMaxOpenConns(readers)
	db.rdb.SetMaxIdleConns(readers)
	db.rdb.SetConnMaxLifetime(0)
	db.rdb.SetConnMaxIdleTime(0)
	if kind == KindDevice {
		if db.loadDevice, err = db.rdb.PrepareContext(ctx, loadDeviceSQL); err == nil {
			db.loadJournal, err = db.rdb.PrepareContext(ctx, loadJournalSQL)
		}
	}
	if err != nil {
		db.rdb.Close()
		db.wdb.Close()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, &OpenError{Path: path, Err: classify(err)}
	}
	return db, nil
}

// start applies opts and returns them with path made absolute, or ctx's
// error when it is done: the first steps of open and Inspect.
func start(ctx context.Context, path string, opts []Option) (options, string, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if err := ctx.Err(); err != nil {
		return o, "", err
	}
	abs, err := filepath.Abs(path)
	return o, abs, err
}

// Close closes the database. Calling it again does nothing.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	// Readers first: the writer's close checkpoints the WAL.
	var errs []error
	for _, st := range []*sql.Stmt{db.loadDevice, db.loadJournal} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(append(errs, db.rdb.Close(), db.wdb.Close())...)
}

// Ping is a readiness check: the database answers a read (the schema
// version, through the read pool) and commits a write that changes nothing
// (CheckWrite): a read alone passes on a full disk or a read-only or
// immutable file, where every write fails.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.check(ctx); err != nil {
		return err
	}
	var v int
	if err := db.rdb.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return db.wrap(ctx, err)
	}
	return db.CheckWrite(ctx)
}

// Kind returns the kind of database db is.
func (db *DB) Kind() Kind { return db.kind }

// WriteCount returns the number of write transactions committed by the
// store methods since Open (migrations are not counted). Reads never add to
// it.
func (db *DB) WriteCount() uint64 { return db.writes.Load() }

// fileURI turns a file path into an SQLite URI path, escaping the characters
// that have a meaning in URIs.
func fileURI(path string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return "file:" + r.Replace(filepath.ToSlash(path))
}

// writerDSN is the DSN of the writer connection (mattn/go-sqlite3 keys).
func writerDSN(path string) string {
	return fileURI(path) + "?_journal_mode=WAL" +
		"&_busy_timeout=" + strconv.Itoa(int(busyTimeout/time.Millisecond)) +
		"&_txlock=immediate&_foreign_keys=1&_synchronous=NORMAL&_stmt_cache_size=32"
}

// readerDSN is the DSN of the read-only connections: no journal mode change,
// deferred (read) transactions.
func readerDSN(path string) string {
	return fileURI(path) + "?mode=ro" +
		"&_busy_timeout=" + strconv.Itoa(int(busyTimeout/time.Millisecond)) +
		"&_foreign_keys=1&_stmt_cache_size=32"
}

// createAtomically builds a new database at abs: under a temporary name
// beside it (mode 0600), migrated and checkpointed into the file, synced,
// then hard-linked into place, so that abs appears whole or not at all. If
// another opener linked its own first, that one is kept. The temporary
// names are removed; a process killed before that leaves them for
// removeStrayFiles.
func createAtomically(ctx context.Context, abs string, kind Kind, migs []migration) error {
	f, err := os.CreateTemp(filepath.Dir(abs), initTempPrefix(abs)+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	f.Close()
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			os.Remove(tmp + suffix)
		}
	}()
	db, err := sql.Open("sqlite3", writerDSN(tmp))
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	if err := migrateRetryingBusy(ctx, db, kind, migs); err != nil {
		db.Close()
		return classify(err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		db.Close()
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	if fi, err := os.Stat(tmp + "-wal"); err == nil && fi.Size() > 0 {
		return errors.New("sqlite: a new database kept frames in its WAL")
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	if err := os.Link(tmp, abs); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncFile(filepath.Dir(abs))
}

// initTempPrefix starts the temporary names new databases at abs are
// built under.
func initTempPrefix(abs string) string { return "." + filepath.Base(abs) + ".init-" }

// syncFile fsyncs a file or directory.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// fileKind names what a non-regular file is, for errors.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}

// exists reports whether a file exists at path.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// classify maps the driver's "not a database" and "corrupt" errors to
// ErrCorrupt. It only sees files whose header validate found to be SQLite's,
// so content that does not parse means a damaged file, not a foreign one.
func classify(err error) error {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case sqlite3.ErrNotADB, sqlite3.ErrCorrupt:
		return fmt.Errorf("%w (%s)", ErrCorrupt, se.Code)
	}
	return err
}

// migration is one embedded schema step; version N is applied by file N.
type migration = migrations.Migration

// loadMigrations reads the embedded migrations of kind k, numbered 1, 2, …
// without gaps: the shared ones, then the kind's own.
func loadMigrations(k Kind) ([]migration, error) {
	migs, err := migrations.Load(migrationFS, "migrations/*.sql", "migrations/"+k.String()+"/*.sql")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return migs, nil
}

// migrate applies the migrations above the file's user_version, each in its
// own transaction together with the user_version bump.
func migrate(ctx context.Context, db *sql.DB, kind Kind, migs []migration) error {
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version < 0 {
		return fmt.Errorf("%w: schema version %d", ErrCorrupt, version)
	}
	if version > len(migs) {
		// Validated read-only before; another process upgraded it since.
		return ErrNewerSchema
	}
	for _, m := range migs[version:] {
		var guard func(context.Context, *sql.Tx) error
		if m.Version == sharedVersion+1 {
			// The first migration of the kind drops the other kind's
			// tables: only while they are empty, checked in its
			// transaction.
			guard = func(ctx context.Context, tx *sql.Tx) error { return checkHalves(ctx, tx, kind) }
		}
		if err := applyMigration(ctx, db, m, guard); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// busyRetries is how many times Open tries the writer connection's setup
// while it fails with SQLITE_BUSY.
const busyRetries = 3

// migrateRetryingBusy is migrate, retried when it fails with SQLITE_BUSY.
// On a new file, two processes opening it at once may both try to switch it
// to WAL (the writer DSN's journal_mode): each holds a shared lock and wants
// an exclusive one, so SQLite refuses one of them at once instead of calling
// the busy handler. The retry's new connection holds no lock and waits as
// usual, and by then the file is in WAL mode, which needs no switch.
func migrateRetryingBusy(ctx context.Context, db *sql.DB, kind Kind, migs []migration) error {
	for attempt := 1; ; attempt++ {
		err := migrate(ctx, db, kind, migs)
		var se sqlite3.Error
		if err == nil || attempt == busyRetries || !errors.As(err, &se) || se.Code != sqlite3.ErrBusy {
			return err
		}
	}
}

// applyMigration applies m and bumps user_version in one transaction, unless
// another process applied it meanwhile.
func applyMigration(ctx context.Context, db *sql.DB, m migration, guard func(context.Context, *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version >= m.Version {
		return nil // applied by another process meanwhile
	}
	if guard != nil {
		if err := guard(ctx, tx); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(m.Version)); err != nil {
		return err
	}
	return tx.Commit()
}

// begin starts a write transaction (BEGIN IMMEDIATE on the writer).
func (db *DB) begin(ctx context.Context) (*tx, error) {
	if err := db.check(ctx); err != nil {
		return nil, err
	}
	t, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, db.wrap(ctx, err)
	}
	return &tx{Tx: t, db: db, now: db.now().UTC()}, nil
}

// check returns ErrClosed after Close, and ctx.Err() for a done ctx.
func (db *DB) check(ctx context.Context) error { return dberr.Check(ctx, db.closed.Load(), ErrClosed) }

// wrap turns an error of the driver into the package's errors: ErrClosed
// after Close, ctx.Err() once ctx is done, a *KindError for a table of the
// other kind, ErrCorrupt for a damaged file (classify), and the marks of
// unavailable.
func (db *DB) wrap(ctx context.Context, err error) error {
	return dberr.Wrap(ctx, db.closed.Load(), ErrClosed, err, func(err error) error {
		if noSuchTable(err) {
			return fmt.Errorf("%w: %v", &KindError{Want: db.kind.other(), Got: db.kind}, err)
		}
		return unavailable(classify(err))
	})
}

// conn is the DB as adapters/store/internal/issuersql's methods run on it:
// the read pool for reads, BEGIN IMMEDIATE on the writer for writes, the
// statements in SQLite's numbered parameters (numbered), every error as
// wrap makes it.
type conn struct{ db *DB }

func (c conn) Check(ctx context.Context) error { return c.db.check(ctx) }

func (c conn) QueryRow(ctx context.Context, query string, args ...any) issuersql.Row {
	return issuersql.DriverRow(ctx, c.db.rdb.QueryRowContext(ctx, numbered(query), args...), sql.ErrNoRows, c.db.wrap)
}

func (c conn) Query(ctx context.Context, query string, args []any, read func(issuersql.Rows) error) error {
	rows, err := c.db.rdb.QueryContext(ctx, numbered(query), args...)
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

// writeTx is a tx as issuersql's methods use it: the statements numbered,
// every error as wrap makes it.
type writeTx struct{ tx *tx }

func (w writeTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := w.tx.ExecContext(ctx, numbered(query), args...)
	if err != nil {
		return 0, w.tx.db.wrap(ctx, err)
	}
	n, err := res.RowsAffected()
	return n, w.tx.db.wrap(ctx, err)
}

func (w writeTx) QueryRow(ctx context.Context, query string, args ...any) issuersql.Row {
	return issuersql.DriverRow(ctx, w.tx.QueryRowContext(ctx, numbered(query), args...), sql.ErrNoRows, w.tx.db.wrap)
}

func (w writeTx) Now() time.Time                   { return w.tx.now }
func (w writeTx) Commit(ctx context.Context) error { return w.tx.commit(ctx) }
func (w writeTx) Rollback(context.Context)         { _ = w.tx.Rollback() }

// numbered is a statement whose parameters are PostgreSQL's $1, $2, … (as
// adapters/store/internal/issuersql writes them) in SQLite's numbered
// parameters ?1, ?2, …: the same arguments bind to the same places. A
// statement with ? parameters stays as it is; none of the statements holds
// a $ of its own.
func numbered(query string) string { return strings.ReplaceAll(query, "$", "?") }

// unavailable marks the driver's errors that say the file cannot be
// written or reached now (busy, locked, full, read-only, an I/O error, a
// file it cannot open) as issuer.ErrStoreUnavailable.
func unavailable(err error) error {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case sqlite3.ErrBusy, sqlite3.ErrLocked, sqlite3.ErrFull, sqlite3.ErrReadonly, sqlite3.ErrIoErr,
		sqlite3.ErrCantOpen, sqlite3.ErrPerm:
		return dberr.Unavailable(err)
	}
	return err
}

// tx is a write transaction; now is the DB clock's time at its start.
type tx struct {
	*sql.Tx
	db  *DB
	now time.Time
}

// commit commits the transaction and counts it.
func (t *tx) commit(ctx context.Context) error {
	if err := t.Commit(); err != nil {
		return t.db.wrap(ctx, err)
	}
	t.db.writes.Add(1)
	return nil
}

// nanos stores a time as Unix nanoseconds, and the zero time as NULL.
func nanos(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

// fromNanos is the inverse of nanos; times come back in UTC.
func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}
