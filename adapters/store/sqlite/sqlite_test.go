package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/issuer"
)

// t0 is the start of the test clocks.
var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// stepClock returns a clock that starts at t0 and advances one second per
// call.
func stepClock() func() time.Time {
	var n atomic.Int64
	return func() time.Time { return t0.Add(time.Duration(n.Add(1)-1) * time.Second) }
}

// openTest opens a new device database in a temporary directory and
// closes it when the test ends.
func openTest(t testing.TB, opts ...Option) (*DB, string) {
	t.Helper()
	return openTempFile(t, OpenDevice, "state.db", opts...)
}

// openIssuerTest opens a new issuer database in a temporary directory.
func openIssuerTest(t testing.TB, opts ...Option) (*DB, string) {
	t.Helper()
	return openTempFile(t, OpenIssuer, "issuer.db", opts...)
}

// openTempFile opens name in a new temporary directory with open (OpenDevice
// or OpenIssuer) and closes it when the test ends.
func openTempFile(t testing.TB, open func(context.Context, string, ...Option) (*DB, error), name string,
	opts ...Option) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	db, err := open(context.Background(), path, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db, path
}

// found returns what a lookup found, holding that it met no error and
// found it: dev := found(db.LoadDevice(ctx, "a"))(t).
func found[T any](v T, ok bool, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		require.NoError(t, err)
		require.True(t, ok, "not found")
		return v
	}
}

// reopen closes db and opens path again: a process relaunch.
func reopen(t testing.TB, db *DB, path string, opts ...Option) *DB {
	t.Helper()
	require.NoError(t, db.Close())
	db2, err := open(context.Background(), path, db.Kind(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { db2.Close() })
	return db2
}

// rawExec runs statements on path through a connection of its own, as
// another program would (used to damage rows and schema versions).
func rawExec(t testing.TB, path string, stmts ...string) {
	t.Helper()
	raw, err := sql.Open("sqlite3", path)
	require.NoError(t, err)
	defer raw.Close()
	for _, s := range stmts {
		_, err := raw.Exec(s)
		require.NoError(t, err, s)
	}
}

func fileSum(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(b)
}

func mode(t testing.TB, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Mode().Perm()
}

func TestOpenCreatesFilesPrivately(t *testing.T) {
	db, path := openTest(t)
	require.NoError(t, db.SaveDevice(context.Background(), vitalsdk.DeviceState{Installation: "a"}))

	require.Equal(t, fs.FileMode(0o600), mode(t, path), "database")
	require.Equal(t, fs.FileMode(0o600), mode(t, path+".key"), "key file")
	require.Equal(t, fs.FileMode(0o600), mode(t, path+"-wal"), "WAL")
	key, err := os.ReadFile(path + ".key")
	require.NoError(t, err)
	require.Len(t, key, KeySize)
	// No temporary key file left behind.
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	for _, e := range entries {
		require.NotContains(t, e.Name(), ".vitalsync-key-")
	}
}

func TestOpenConnectionSettings(t *testing.T) {
	db, path := openTest(t)
	ctx := context.Background()
	pragma := func(conn *sql.DB, name string) string {
		var v string
		require.NoError(t, conn.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v))
		return v
	}
	require.Equal(t, "wal", pragma(db.wdb, "journal_mode"))
	require.Equal(t, "5000", pragma(db.wdb, "busy_timeout"))
	require.Equal(t, "1", pragma(db.wdb, "foreign_keys"))
	require.Equal(t, "1", pragma(db.wdb, "synchronous")) // NORMAL
	require.Equal(t, strconv.Itoa(len(mustMigrations(t))), pragma(db.wdb, "user_version"))
	require.Equal(t, 1, db.wdb.Stats().MaxOpenConnections)
	require.Equal(t, "5000", pragma(db.rdb, "busy_timeout"))

	// Writes take the write lock at BEGIN (_txlock=immediate): while a
	// write transaction is open, even before its first statement, another
	// connection cannot start one. (A deferred BEGIN would take no lock.)
	tx, err := db.begin(ctx)
	require.NoError(t, err)
	other, err := sql.Open("sqlite3", fileURI(path)+"?_busy_timeout=0")
	require.NoError(t, err)
	defer other.Close()
	_, err = other.ExecContext(ctx, "BEGIN IMMEDIATE")
	var busy sqlite3.Error
	require.ErrorAs(t, err, &busy)
	require.Equal(t, sqlite3.ErrBusy, busy.Code)
	require.NoError(t, tx.Rollback())
	_, err = other.ExecContext(ctx, "BEGIN IMMEDIATE; ROLLBACK")
	require.NoError(t, err, "free once the first transaction ended")

	// The read pool cannot write.
	_, err = db.rdb.ExecContext(ctx, `INSERT INTO journal (installation) VALUES ('x')`)
	var se sqlite3.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, sqlite3.ErrReadonly, se.Code)
}

func TestFileURIEscapes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a?b#c%d")
	require.NoError(t, os.Mkdir(dir, 0o700))
	path := filepath.Join(dir, "state.db")
	db, err := OpenDevice(context.Background(), path)
	require.NoError(t, err)
	require.NoError(t, db.SaveDevice(context.Background(), vitalsdk.DeviceState{Installation: "a"}))
	require.NoError(t, db.Close())
	require.FileExists(t, path)
	require.Equal(t, fs.FileMode(0o600), mode(t, path))
}

// An empty file is refused, typed: Open never leaves one (a new database
// is linked into place whole), so it is a truncated file or another
// program's; nothing is written to it.
func TestOpenEmptyExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	_, err := OpenDevice(context.Background(), path)
	require.ErrorIs(t, err, ErrEmptyFile)
	require.ErrorIs(t, err, ErrCorrupt)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Zero(t, fi.Size())
	require.NoFileExists(t, path+".key")
}

func TestOpenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	path := filepath.Join(t.TempDir(), "state.db")
	_, err := OpenDevice(ctx, path)
	require.ErrorIs(t, err, context.Canceled)
	require.NoFileExists(t, path)

	// An existing database too.
	db, path := openTest(t)
	require.NoError(t, db.Close())
	_, err = OpenDevice(ctx, path)
	require.ErrorIs(t, err, context.Canceled)
}

func TestOpenRefusesAndLeavesFileUnchanged(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	// ours makes a real database with some rows, closed.
	ours := func(t *testing.T, path string) {
		db, err := OpenDevice(context.Background(), path)
		require.NoError(t, err)
		for i := range 50 {
			require.NoError(t, db.saveJournalRow(context.Background(), journalRow{Installation: "i" + strconv.Itoa(i), AppUserID: "user-" + strconv.Itoa(i)}, "observed"))
			require.NoError(t, db.SaveDevice(context.Background(), vitalsdk.DeviceState{Installation: "i" + strconv.Itoa(i), APIKey: "k"}))
		}
		require.NoError(t, db.Close())
		require.NoError(t, os.Remove(path+".key")) // to check no key is created
	}
	tests := []struct {
		name string
		make func(t *testing.T, path string)
		want error
	}{
		{"text file", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte("name,user\nalice,1\n"), 0o600))
		}, ErrNotDatabase},
		{"random bytes", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, garbage(8192), 0o600))
		}, ErrNotDatabase},
		{"truncated header", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte("SQLite fo"), 0o600))
		}, ErrNotDatabase},
		{"header then garbage", func(t *testing.T, path string) {
			b := append(append([]byte(nil), sqliteHeader...), garbage(3*4096)...)
			require.NoError(t, os.WriteFile(path, b, 0o600))
		}, ErrCorrupt},
		{"header only", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, sqliteHeader, 0o600))
		}, ErrCorrupt},
		{"garbage pages", func(t *testing.T, path string) {
			ours(t, path)
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Greater(t, len(b), 4*4096)
			copy(b[4096:], garbage(len(b)-4096))
			require.NoError(t, os.WriteFile(path, b, 0o600))
		}, ErrCorrupt},
		{"newer schema", func(t *testing.T, path string) {
			ours(t, path)
			rawExec(t, path, "PRAGMA user_version = 99")
		}, ErrNewerSchema},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			tt.make(t, path)
			before := fileSum(t, path)

			db, err := OpenDevice(context.Background(), path)
			if db != nil {
				db.Close()
			}
			var oe *OpenError
			require.ErrorAs(t, err, &oe)
			require.Equal(t, path, oe.Path)
			require.ErrorIs(t, err, tt.want)
			require.Equal(t, before, fileSum(t, path), "the file was modified")
			// Nothing was created beside it either: no key, WAL or shm.
			entries, err := os.ReadDir(filepath.Dir(path))
			require.NoError(t, err)
			require.Len(t, entries, 1)
		})
	}
}

func TestOpenRefusesDirectory(t *testing.T) {
	_, err := OpenDevice(context.Background(), t.TempDir())
	require.ErrorIs(t, err, ErrNotFile, "a directory is not called a foreign file")
}

func TestMigrationRunsInOneTransaction(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	n := len(mustMigrations(t))
	bad := migration{Version: n + 1, Name: "9999_bad.sql", SQL: `
		CREATE TABLE half_done (a INTEGER);
		INSERT INTO no_such_table VALUES (1);`}
	err := migrate(ctx, db.wdb, KindDevice, append(mustMigrations(t), bad))
	require.Error(t, err)

	var version, tables int
	require.NoError(t, db.wdb.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version))
	require.Equal(t, n, version)
	require.NoError(t, db.wdb.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_schema WHERE name = 'half_done'`).Scan(&tables))
	require.Zero(t, tables)

	good := migration{Version: n + 1, Name: "9999_good.sql", SQL: `CREATE TABLE extra (a INTEGER);`}
	require.NoError(t, migrate(ctx, db.wdb, KindDevice, append(mustMigrations(t), good)))
	require.NoError(t, db.wdb.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version))
	require.Equal(t, n+1, version)
	// Applying again is a no-op.
	require.NoError(t, migrate(ctx, db.wdb, KindDevice, append(mustMigrations(t), good)))
}

func mustMigrations(t *testing.T) []migration {
	t.Helper()
	migs, err := loadMigrations(KindDevice)
	require.NoError(t, err)
	require.NotEmpty(t, migs)
	for i, m := range migs {
		require.Equal(t, i+1, m.Version)
	}
	return migs
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t, WithClock(stepClock()))
	dev := vitalsdk.DeviceState{
		Installation: "dev-1", Strategy: vitalsdk.StrategyJWT, Environment: fsm.Sandbox, Region: fsm.EU,
		Record: &vitalsdk.TokenRecord{UserID: "u1", TeamID: "t1", TenantID: "x", Environment: fsm.Sandbox,
			Region: fsm.EU, AccessToken: "acc", RefreshToken: "ref", Expiry: t0.Add(time.Hour)},
	}
	require.NoError(t, db.SaveDevice(ctx, dev))
	entry := journalRow{Installation: "dev-1", LastObserved: fsm.Token, Profile: "ios-1.8", UpdatedAt: t0}
	require.NoError(t, db.saveJournalRow(ctx, entry, "observed"))
	is, isPath := openIssuerTest(t, WithClock(stepClock()))
	m, err := is.PutUser(ctx, "app-1", "u1")
	require.NoError(t, err)
	rep := testReport("dev-1")
	rep.SDKStatus = fsm.FlagConfigured
	putReport(t, is, rep)

	db = reopen(t, db, path)
	is = reopen(t, is, isPath)
	gotDev := found(db.LoadDevice(ctx, "dev-1"))(t)
	require.Equal(t, dev, gotDev)
	gotEntry := found(db.loadJournalRow(ctx, "dev-1"))(t)
	require.Equal(t, entry, gotEntry)
	gotM := found(is.LookupUser(ctx, "app-1"))(t)
	require.Equal(t, m, gotM)
	var reps []issuer.Report
	require.NoError(t, is.EachReport(ctx, func(r issuer.Report) error { reps = append(reps, r); return nil }))
	require.Equal(t, []issuer.Report{rep}, reps)
}

func TestKeys(t *testing.T) {
	ctx := context.Background()
	dev := vitalsdk.DeviceState{Installation: "a", Strategy: vitalsdk.StrategyAPIKey, APIKey: "sk_us_secret",
		Record: &vitalsdk.TokenRecord{AccessToken: "acc", RefreshToken: "ref"}}

	t.Run("key file reused", func(t *testing.T) {
		db, path := openTest(t)
		require.NoError(t, db.SaveDevice(ctx, dev))
		db = reopen(t, db, path)
		got, _, err := db.LoadDevice(ctx, "a")
		require.NoError(t, err)
		require.Equal(t, dev, got)
	})
	t.Run("WithKey creates no key file", func(t *testing.T) {
		key := bytes.Repeat([]byte{7}, KeySize)
		db, path := openTest(t, WithKey(key))
		require.NoFileExists(t, path+".key")
		require.NoError(t, db.SaveDevice(ctx, dev))
		db = reopen(t, db, path, WithKey(key))
		got, _, err := db.LoadDevice(ctx, "a")
		require.NoError(t, err)
		require.Equal(t, dev, got)
	})
	t.Run("wrong key", func(t *testing.T) {
		db, path := openTest(t)
		require.NoError(t, db.SaveDevice(ctx, dev))
		require.NoError(t, db.SaveDevice(ctx, vitalsdk.DeviceState{Installation: "plain", APIKeyUserID: "u"}))
		db = reopen(t, db, path, WithKey(bytes.Repeat([]byte{1}, KeySize)))
		_, ok, err := db.LoadDevice(ctx, "a")
		require.False(t, ok)
		require.ErrorIs(t, err, ErrBadKey)
		var ce *ColumnError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, "a", ce.Key)
		for _, secret := range []string{"sk_us_secret", "acc", "ref"} {
			require.NotContains(t, err.Error(), secret)
		}
		// A row without secrets still loads.
		got := found(db.LoadDevice(ctx, "plain"))(t)
		require.Equal(t, "u", got.APIKeyUserID)
	})
	t.Run("lost key file", func(t *testing.T) {
		db, path := openTest(t)
		require.NoError(t, db.SaveDevice(ctx, dev))
		require.NoError(t, db.Close())
		key, err := os.ReadFile(path + ".key")
		require.NoError(t, err)
		require.NoError(t, os.Remove(path+".key"))
		_, err = OpenDevice(ctx, path)
		var oe *OpenError
		require.ErrorAs(t, err, &oe)
		require.ErrorIs(t, err, ErrMissingKey)
		require.NoFileExists(t, path+".key", "a new key was made beside sealed secrets")
		// With the key given, everything reads again.
		db = reopen(t, db, path, WithKey(key))
		got := found(db.LoadDevice(ctx, "a"))(t)
		require.Equal(t, dev, got)
	})
	t.Run("bad key sizes", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.db")
		for _, key := range [][]byte{nil, []byte("short-secret-key"), []byte("a-33-byte-secret-key-0123456789ab")} {
			_, err := OpenDevice(ctx, path, WithKey(key))
			var oe *OpenError
			require.ErrorAs(t, err, &oe)
			require.ErrorIs(t, err, ErrBadKey)
			require.NoFileExists(t, path)
			if len(key) > 0 {
				require.NotContains(t, err.Error(), string(key))
			}
		}
		var oe *OpenError

		require.NoError(t, os.WriteFile(path+".key", []byte("not 32 bytes"), 0o600))
		_, err := OpenDevice(ctx, path)
		require.ErrorAs(t, err, &oe)
		require.ErrorIs(t, err, ErrBadKey)
	})
	t.Run("swapped ciphertexts", func(t *testing.T) {
		db, path := openTest(t)
		require.NoError(t, db.SaveDevice(ctx, dev))
		other := dev
		other.Installation = "b"
		other.APIKey = "sk_us_other"
		require.NoError(t, db.SaveDevice(ctx, other))
		require.NoError(t, db.Close())
		// Move b's API key into a's row, and a's access token into its
		// refresh token column.
		rawExec(t, path,
			`UPDATE devices SET api_key = (SELECT api_key FROM devices WHERE installation = 'b') WHERE installation = 'a'`,
			`UPDATE devices SET refresh_token = access_token WHERE installation = 'b'`)
		db = reopen(t, db, path)
		_, _, err := db.LoadDevice(ctx, "a")
		var ce *ColumnError
		require.ErrorAs(t, err, &ce)
		require.ErrorIs(t, err, ErrBadKey)
		require.Equal(t, "api_key", ce.Column)
		_, _, err = db.LoadDevice(ctx, "b")
		require.ErrorAs(t, err, &ce)
		require.ErrorIs(t, err, ErrBadKey)
		require.Equal(t, "refresh_token", ce.Column)
	})
	t.Run("truncated ciphertext", func(t *testing.T) {
		db, path := openTest(t)
		require.NoError(t, db.SaveDevice(ctx, dev))
		require.NoError(t, db.Close())
		rawExec(t, path, `UPDATE devices SET api_key = x'0102' WHERE installation = 'a'`)
		db = reopen(t, db, path)
		_, _, err := db.LoadDevice(ctx, "a")
		require.ErrorIs(t, err, ErrCorrupt)
	})
}

func TestNoPlaintextSecretsOnDisk(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	secrets := []string{
		"sk_us_0123456789abcdefAPIKEY",
		"eyJhbGciOiJSUzI1NiJ9.access-token-payload.signature",
		"refresh-token-0f9e8d7c6b5a",
	}
	for i := range 20 {
		require.NoError(t, db.SaveDevice(ctx, vitalsdk.DeviceState{
			Installation: "dev-" + strconv.Itoa(i), Strategy: vitalsdk.StrategyJWT, APIKey: secrets[0],
			Record: &vitalsdk.TokenRecord{UserID: "u", AccessToken: secrets[1], RefreshToken: secrets[2]},
		}))
	}
	key, err := os.ReadFile(path + ".key")
	require.NoError(t, err)
	needles := [][]byte{key, []byte(hex.EncodeToString(key))}
	for _, s := range secrets {
		needles = append(needles, []byte(s))
	}
	check := func(when string) {
		for _, file := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(file)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			require.NoError(t, err)
			for _, n := range needles {
				require.False(t, bytes.Contains(b, n), "%s: %s holds a secret in plain text", when, filepath.Base(file))
			}
		}
	}
	check("before checkpoint")
	_, err = db.wdb.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	require.NoError(t, err)
	check("after checkpoint")
	require.NoError(t, db.Close())
	check("after close")
}

func TestClosedDB(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	require.NoError(t, db.Close())
	require.NoError(t, db.Close(), "Close twice")
	for name, call := range allMethods() {
		require.ErrorIs(t, call(ctx, db), ErrClosed, name)
	}
}

func TestCancelledContext(t *testing.T) {
	db, _ := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, call := range allMethods() {
		require.ErrorIs(t, call(ctx, db), context.Canceled, name)
	}
	require.Zero(t, db.WriteCount())
}

// allMethods calls every store method with valid arguments.
func allMethods() map[string]func(context.Context, *DB) error {
	return map[string]func(context.Context, *DB) error{
		"LoadDevice": func(ctx context.Context, db *DB) error { _, _, err := db.LoadDevice(ctx, "a"); return err },
		"SaveDevice": func(ctx context.Context, db *DB) error {
			return db.SaveDevice(ctx, vitalsdk.DeviceState{Installation: "a"})
		},
		"DeleteDevice":  func(ctx context.Context, db *DB) error { return db.DeleteDevice(ctx, "a") },
		"LoadJournal":   func(ctx context.Context, db *DB) error { _, _, err := db.loadJournalRow(ctx, "a"); return err },
		"JournalEvents": func(ctx context.Context, db *DB) error { _, err := db.JournalEvents(ctx, "a", 0); return err },
		"SaveJournal": func(ctx context.Context, db *DB) error {
			return db.saveJournalRow(ctx, journalRow{Installation: "a"}, "e")
		},
		"LookupUser":      func(ctx context.Context, db *DB) error { _, _, err := db.LookupUser(ctx, "a"); return err },
		"PutUser":         func(ctx context.Context, db *DB) error { _, err := db.PutUser(ctx, "a", "v"); return err },
		"MarkUserDeleted": func(ctx context.Context, db *DB) error { return db.MarkUserDeleted(ctx, "a", "v") },
		"UserHistory":     func(ctx context.Context, db *DB) error { _, err := db.UserHistory(ctx, "a"); return err },
		"PutReport": func(ctx context.Context, db *DB) error {
			_, err := db.PutReport(ctx, testReport("a"))
			return err
		},
		"EachReport": func(ctx context.Context, db *DB) error {
			return db.EachReport(ctx, func(issuer.Report) error { return nil })
		},
	}
}

func TestReadsNeverWrite(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	require.NoError(t, db.SaveDevice(ctx, vitalsdk.DeviceState{Installation: "a", APIKey: "k",
		Record: &vitalsdk.TokenRecord{AccessToken: "x"}}))
	require.NoError(t, db.saveJournalRow(ctx, journalRow{Installation: "a"}, "e"))
	is, isPath := openIssuerTest(t)
	_, err := is.PutUser(ctx, "a", "v")
	require.NoError(t, err)
	putReport(t, is, testReport("a"))
	writes, isWrites := db.WriteCount(), is.WriteCount()
	require.Equal(t, uint64(2), writes)
	require.Equal(t, uint64(2), isWrites)
	dbSum, walSum := fileSum(t, path), fileSum(t, path+"-wal")
	isSum, isWALSum := fileSum(t, isPath), fileSum(t, isPath+"-wal")

	for range 3 {
		_, _, err := db.LoadDevice(ctx, "a")
		require.NoError(t, err)
		_, _, err = db.loadJournalRow(ctx, "a")
		require.NoError(t, err)
		_, err = db.JournalEvents(ctx, "a", 10)
		require.NoError(t, err)
		_, _, err = is.LookupUser(ctx, "a")
		require.NoError(t, err)
		_, err = is.UserHistory(ctx, "a")
		require.NoError(t, err)
		require.NoError(t, is.EachReport(ctx, func(issuer.Report) error { return nil }))
	}
	require.Equal(t, writes, db.WriteCount())
	require.Equal(t, isWrites, is.WriteCount())
	require.Equal(t, dbSum, fileSum(t, path), "database file changed on reads")
	require.Equal(t, walSum, fileSum(t, path+"-wal"), "WAL changed on reads")
	require.Equal(t, isSum, fileSum(t, isPath), "issuer file changed on reads")
	require.Equal(t, isWALSum, fileSum(t, isPath+"-wal"), "issuer WAL changed on reads")
}

func TestConcurrentWritersAcrossHandles(t *testing.T) {
	// Two DB handles on one file stand for two processes (an app and the
	// CLI): with BEGIN IMMEDIATE and busy_timeout, no write fails.
	ctx := context.Background()
	db1, path := openTest(t)
	db2, err := OpenDevice(ctx, path)
	require.NoError(t, err)
	defer db2.Close()

	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for g := range 8 {
		db := db1
		if g%2 == 1 {
			db = db2
		}
		wg.Go(func() {
			inst := "dev-" + strconv.Itoa(g)
			for i := range 10 {
				e, _, err := db.loadJournalRow(ctx, inst)
				if err != nil {
					errs <- err
					return
				}
				e.Installation = inst
				e.Attempts = i + 1
				if err := db.saveJournalRow(ctx, e, "attempt"); err != nil {
					errs <- err
					return
				}
				if err := db.SaveDevice(ctx, vitalsdk.DeviceState{Installation: inst, APIKey: "k" + strconv.Itoa(i)}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, uint64(160), db1.WriteCount()+db2.WriteCount())
	for g := range 8 {
		e, ok, err := db1.loadJournalRow(ctx, "dev-"+strconv.Itoa(g))
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, 10, e.Attempts)
		evs, err := db2.JournalEvents(ctx, "dev-"+strconv.Itoa(g), 0)
		require.NoError(t, err)
		require.Len(t, evs, 10)
		d, _, err := db2.LoadDevice(ctx, "dev-"+strconv.Itoa(g))
		require.NoError(t, err)
		require.Equal(t, "k9", d.APIKey)
	}
}

func TestConcurrentOpenOfNewFile(t *testing.T) {
	// Several processes starting at once on a new file agree on one schema
	// and one key.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	const n = 4
	dbs := make([]*DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dbs[i], errs[i] = OpenDevice(ctx, path) })
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		defer dbs[i].Close()
	}
	for i := range n {
		inst := "dev-" + strconv.Itoa(i)
		require.NoError(t, dbs[i].SaveDevice(ctx, vitalsdk.DeviceState{Installation: inst, APIKey: "key-" + inst}))
	}
	for i := range n {
		inst := "dev-" + strconv.Itoa(i)
		got, ok, err := dbs[(i+1)%n].LoadDevice(ctx, inst)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "key-"+inst, got.APIKey)
	}
	var version int
	require.NoError(t, dbs[0].rdb.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version))
	require.Equal(t, len(mustMigrations(t)), version)
}

func TestKeyFileCreatedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db.key")
	const n = 8
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = loadOrCreateKey(path) })
	}
	wg.Wait()
	onDisk, err := os.ReadFile(path)
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, onDisk, keys[i])
	}
	require.Equal(t, fs.FileMode(0o600), mode(t, path))
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "temporary files left behind")

	// A key file in a directory that does not exist cannot be made.
	_, err = loadOrCreateKey(filepath.Join(path+".d", "x.key"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestOpenAfterCrash(t *testing.T) {
	// The files a killed process leaves behind: the database, its WAL with
	// committed but not checkpointed transactions, and the shm index.
	ctx := context.Background()
	db, path := openTest(t)
	dev := vitalsdk.DeviceState{Installation: "a", Strategy: vitalsdk.StrategyAPIKey, APIKey: "k", APIKeyUserID: "u"}
	require.NoError(t, db.SaveDevice(ctx, dev))
	require.NoError(t, db.saveJournalRow(ctx, journalRow{Installation: "a", LastObserved: fsm.APIKey, UpdatedAt: t0}, "e"))

	for name, suffixes := range map[string][]string{
		"with shm":    {"", "-wal", "-shm", ".key"},
		"without shm": {"", "-wal", ".key"},
	} {
		t.Run(name, func(t *testing.T) {
			crashed := filepath.Join(t.TempDir(), "state.db")
			for _, suffix := range suffixes {
				b, err := os.ReadFile(path + suffix)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(crashed+suffix, b, 0o600))
			}
			wal, err := os.Stat(crashed + "-wal")
			require.NoError(t, err)
			require.NotZero(t, wal.Size(), "the WAL holds the writes")

			db2, err := OpenDevice(ctx, crashed)
			require.NoError(t, err)
			defer db2.Close()
			got := found(db2.LoadDevice(ctx, "a"))(t)
			require.Equal(t, dev, got)
			e := found(db2.loadJournalRow(ctx, "a"))(t)
			require.Equal(t, fsm.APIKey, e.LastObserved)
		})
	}
}
