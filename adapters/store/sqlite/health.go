package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/mattn/go-sqlite3"
)

// Health is what Inspect found in a database file.
type Health struct {
	Path string
	// Size and WALSize are the sizes of the file and of its -wal file (0:
	// none) in bytes.
	Size, WALSize int64
	// SchemaVersion is the file's PRAGMA user_version; KnownVersion the
	// newest this package knows for the file's kind.
	SchemaVersion, KnownVersion int
	// Kind is the file's kind (from its application_id): "device",
	// "issuer", or "unsplit" for a file from before the split (schema
	// version 10 or older), which holds both kinds' tables; empty when
	// unknown.
	Kind string
	// Key says how the secrets' key was found: KeyGiven, KeyOK, KeyNone
	// (no key file and nothing sealed), KeyMissing, KeyWrong or
	// KeyUnusable; the last three are also Problems.
	Key KeyStatus
	// Rows counts the rows of every table, by table name.
	Rows map[string]int64
	// History describes the journal history (journal_events).
	History HistoryStats
	// Problems lists what is wrong; none means the file is healthy.
	Problems []Problem
}

// OK reports whether Inspect found no problem.
func (h *Health) OK() bool { return len(h.Problems) == 0 }

// HistoryStats describes the journal history of a database.
type HistoryStats struct {
	Events        int64     // rows in journal_events
	Installations int64     // installations with at least one event
	MaxPerInstall int64     // the most events one installation holds
	Oldest        time.Time // the oldest event's time; zero when none
}

// KeyStatus is the outcome of Inspect's key check; the values are stable
// strings.
type KeyStatus string

// Key statuses.
const (
	KeyGiven    KeyStatus = "given"    // passed with WithKey and opens the sealed values
	KeyOK       KeyStatus = "ok"       // the key file exists and opens the sealed values
	KeyNone     KeyStatus = "none"     // no key file, and nothing sealed needs one
	KeyMissing  KeyStatus = "missing"  // no key file, but sealed values exist
	KeyWrong    KeyStatus = "wrong"    // the key does not open the sealed values
	KeyUnusable KeyStatus = "unusable" // the key file cannot be read or is not 32 bytes
)

// Problem is one thing Inspect found wrong. Check names what was checked
// ("file", "writable", "header", "schema-version", "kind", "schema",
// "integrity", "key", "rows"); Err wraps one of the package's sentinels
// where one applies (ErrNotFile, ErrNotWritable, ErrNotDatabase,
// ErrCorrupt, ErrNewerSchema, ErrMixedFile, ErrMissingKey, ErrBadKey).
type Problem struct {
	Check string
	Err   error
}

// Inspect examines the database file at path without modifying it and
// without creating anything beside it: the header, the schema version, the
// schema against the migrations', PRAGMA integrity_check over every page,
// the key (the key file path+".key", or the key given with WithKey), row
// counts and the size of the journal history. Unlike Open it reads a file
// that is damaged and reports what it finds; it returns an error only when
// it cannot look at all (no such file, a cancelled ctx).
//
// Inspect reads the whole file: its cost grows with the file. Open does not
// call it.
func Inspect(ctx context.Context, path string, opts ...Option) (*Health, error) {
	o, abs, err := start(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	migs, err := loadMigrations(KindDevice)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	h := &Health{Path: path, Size: fi.Size(), KnownVersion: len(migs), Rows: map[string]int64{}}
	if !fi.Mode().IsRegular() {
		h.problem("file", fmt.Errorf("%w: %s", ErrNotFile, fileKind(fi.Mode())))
		return h, nil
	}
	// What a launch's first write would meet: the file itself, and the
	// folder its WAL, shared-memory and key files are created in.
	if err := canWrite(abs); err != nil {
		h.problem("writable", fmt.Errorf("%w: the file: %w", ErrNotWritable, err))
	}
	if err := canWrite(filepath.Dir(abs)); err != nil {
		h.problem("writable", fmt.Errorf("%w: its folder: %w", ErrNotWritable, err))
	}
	if wal, err := os.Stat(abs + "-wal"); err == nil {
		h.WALSize = wal.Size()
	}
	keyPath := abs + ".key"
	if _, err := checkHeader(abs); err != nil {
		h.problem("header", err)
		return h, ctx.Err()
	}
	if h.Size == 0 {
		h.problem("file", ErrEmptyFile)
		h.Key = KeyNone
		return h, nil
	}

	ro, err := openReadOnly(abs)
	if err != nil {
		return nil, err
	}
	defer ro.Close()
	if err := ro.QueryRowContext(ctx, "PRAGMA user_version").Scan(&h.SchemaVersion); err != nil {
		var se sqlite3.Error
		if errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrReadonlyRollback {
			err = errors.New("a hot rollback journal awaits recovery (the next read-write open rolls it back)")
		}
		h.problem("schema-version", classify(err))
		return h, ctx.Err()
	}
	var appID int
	if err := ro.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		h.problem("kind", classify(err))
		return h, ctx.Err()
	}
	switch k := kindOf(appID); {
	case appID == 0 && h.SchemaVersion <= sharedVersion:
		h.Kind = "unsplit"
	case k == 0:
		h.problem("kind", fmt.Errorf("%w: application_id %#x is not a vitalsync database's", ErrCorrupt, appID))
	default:
		h.Kind = k.String()
		if migs, err = loadMigrations(k); err != nil {
			return nil, err
		}
		h.KnownVersion = len(migs)
	}
	switch {
	case h.SchemaVersion < 0:
		h.problem("schema-version", fmt.Errorf("%w: schema version %d", ErrCorrupt, h.SchemaVersion))
	case h.SchemaVersion > len(migs):
		h.problem("schema-version", ErrNewerSchema)
	default:
		if err := h.checkSchema(ctx, ro, migs[:h.SchemaVersion]); err != nil {
			return nil, err
		}
	}
	problems, err := integrityRows(ctx, ro, "PRAGMA integrity_check")
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		h.problem("integrity", err)
	}
	for _, p := range problems {
		h.problem("integrity", fmt.Errorf("%w: %s", ErrCorrupt, p))
	}
	if err := h.countRows(ctx, ro); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		h.problem("rows", classify(err))
	}
	if h.Kind == "unsplit" {
		halves, err := halvesWithRows(ctx, ro)
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			h.problem("kind", err)
		case halves[KindDevice] && halves[KindIssuer]:
			h.problem("kind", ErrMixedFile)
		}
	}
	if err := h.checkKey(ctx, ro, o, keyPath); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Health) problem(check string, err error) {
	h.Problems = append(h.Problems, Problem{Check: check, Err: err})
}

// checkSchema adds a problem when the file's schema is not the one migs
// create.
func (h *Health) checkSchema(ctx context.Context, ro *sql.DB, migs []migration) error {
	want, err := expectedSchema(ctx, migs)
	if err != nil {
		return err
	}
	got, err := readSchema(ctx, ro)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		h.problem("schema", classify(err))
	case !slices.Equal(got, want):
		h.problem("schema", fmt.Errorf("%w: schema differs from version %d: %s",
			ErrCorrupt, len(migs), schemaDiff(got, want)))
	}
	return nil
}

// countRows counts the rows of every table and describes the journal
// history.
func (h *Health) countRows(ctx context.Context, ro *sql.DB) error {
	rows, err := ro.QueryContext(ctx, `SELECT name FROM sqlite_schema
		WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range tables {
		var n int64
		if err := ro.QueryRowContext(ctx, "SELECT count(*) FROM "+quoteIdent(t)).Scan(&n); err != nil {
			return err
		}
		h.Rows[t] = n
	}
	if _, ok := h.Rows[tableEvents]; !ok {
		return nil
	}
	var oldest sql.NullInt64
	if err := ro.QueryRowContext(ctx, `
		SELECT count(*), coalesce(max(n), 0), (SELECT min(at) FROM journal_events)
		FROM (SELECT count(*) AS n FROM journal_events GROUP BY installation)`).
		Scan(&h.History.Installations, &h.History.MaxPerInstall, &oldest); err != nil {
		return err
	}
	h.History.Events = h.Rows[tableEvents]
	h.History.Oldest = fromNanos(oldest)
	return nil
}

// checkKey finds the key and tries it on one sealed value.
func (h *Health) checkKey(ctx context.Context, ro *sql.DB, o options, keyPath string) error {
	key, status := o.key, KeyGiven
	if !o.keySet {
		status = KeyOK
		var err error
		key, err = readKey(keyPath)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			sealed, err := holdsSealed(ctx, ro)
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case err != nil:
				h.problem("key", classify(err))
			case sealed:
				h.Key = KeyMissing
				h.problem("key", ErrMissingKey)
			default:
				h.Key = KeyNone
			}
			return nil
		case err != nil:
			h.Key = KeyUnusable
			h.problem("key", err)
			return nil
		}
	}
	s, err := newSealer(key)
	if err != nil {
		h.Key = KeyUnusable
		h.problem("key", err)
		return nil
	}
	h.Key = status
	if _, ok := h.Rows[tableDevices]; !ok {
		return nil
	}
	// One sealed value is enough to tell the key: a wrong key opens none.
	var (
		installation, column string
		sealed               []byte
	)
	err = ro.QueryRowContext(ctx, `
		SELECT installation, column, value FROM (
			SELECT installation, 'api_key' AS column, api_key AS value FROM devices WHERE api_key IS NOT NULL
			UNION ALL SELECT installation, 'access_token', access_token FROM devices WHERE access_token IS NOT NULL
			UNION ALL SELECT installation, 'refresh_token', refresh_token FROM devices WHERE refresh_token IS NOT NULL
		) LIMIT 1`).Scan(&installation, &column, &sealed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		h.problem("key", classify(err))
		return nil
	}
	if _, err := s.open(tableDevices, column, installation, sealed); err != nil {
		if errors.Is(err, ErrBadKey) {
			h.Key = KeyWrong
		}
		h.problem("key", err)
	}
	return nil
}
