package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
)

// closedWithSecrets makes a device database with sealed secrets and
// journal history over several pages, closed, and returns its path.
func closedWithSecrets(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	db, path := openTest(t, WithClock(stepClock()))
	for i := range 5 {
		inst := "dev-" + strconv.Itoa(i)
		require.NoError(t, db.SaveDevice(ctx, vitalsdk.DeviceState{Installation: inst, Strategy: vitalsdk.StrategyAPIKey,
			APIKey: "sk_us_" + inst, APIKeyUserID: "u"}))
		require.NoError(t, db.saveJournalRow(ctx, journalRow{Installation: inst}, "observed"))
	}
	// Enough journal rows for several pages.
	for i := range 300 {
		require.NoError(t, db.saveJournalRow(ctx, journalRow{Installation: "j-" + strconv.Itoa(i),
			AppUserID: "user-" + strconv.Itoa(i), VitalUserID: "v-" + strconv.Itoa(i)}, "observed"))
	}
	require.NoError(t, db.Close())
	return path
}

// requireRefused opens path and checks that Open refuses it with want and
// changes nothing in its directory.
func requireRefused(t *testing.T, path string, want error) {
	t.Helper()
	dir := filepath.Dir(path)
	sums := map[string][32]byte{}
	for _, name := range listNames(t, dir) {
		sums[name] = fileSum(t, filepath.Join(dir, name))
	}
	db, err := OpenDevice(context.Background(), path)
	if db != nil {
		db.Close()
	}
	var oe *OpenError
	require.ErrorAs(t, err, &oe)
	require.ErrorIs(t, err, want)
	after := map[string][32]byte{}
	for _, name := range listNames(t, dir) {
		after[name] = fileSum(t, filepath.Join(dir, name))
	}
	require.Equal(t, sums, after, "Open changed the directory")
}

func listNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestOpenNegativeSchemaVersion(t *testing.T) {
	for _, v := range []string{"-1", "-2147483648"} {
		t.Run(v, func(t *testing.T) {
			path := closedWithSecrets(t)
			rawExec(t, path, "PRAGMA user_version = "+v)
			requireRefused(t, path, ErrCorrupt)
		})
	}
	// migrate, reached when another process changes the version after the
	// check, refuses it too instead of slicing with it.
	db, _ := openTest(t)
	_, err := db.wdb.Exec("PRAGMA user_version = -1")
	require.NoError(t, err)
	require.ErrorIs(t, migrate(context.Background(), db.wdb, KindDevice, mustMigrations(t)), ErrCorrupt)
}

func TestOpenEmptyFileBesideKeyIsCorrupt(t *testing.T) {
	path := closedWithSecrets(t)
	require.NoError(t, os.Truncate(path, 0))
	requireRefused(t, path, ErrCorrupt)

	// Nor with the key file gone too (issue: a database that held data
	// reopened empty), nor with a key given.
	require.NoError(t, os.Remove(path+".key"))
	requireRefused(t, path, ErrEmptyFile)
	_, err := OpenDevice(context.Background(), path, WithKey(bytes.Repeat([]byte{1}, KeySize)))
	require.ErrorIs(t, err, ErrEmptyFile)
	require.NoFileExists(t, path+".key", "the refusal made a key")
	h, err := Inspect(context.Background(), path)
	require.NoError(t, err)
	require.False(t, h.OK(), "Inspect called an emptied file healthy")
	require.ErrorIs(t, h.Problems[0].Err, ErrEmptyFile)
}

// A new database appears whole: an opener killed while it built one leaves
// only a temporary file, which the next Open (a minute on) removes, and
// that Open creates the database.
func TestNewDatabaseAppearsWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	stray := filepath.Join(dir, ".state.db.init-123456")
	require.NoError(t, os.WriteFile(stray, []byte("SQLite format 3\x00half"), 0o600))
	require.NoError(t, os.WriteFile(stray+"-wal", nil, 0o600))
	old := time.Now().Add(-2 * time.Minute)
	require.NoError(t, os.Chtimes(stray, old, old))
	require.NoError(t, os.Chtimes(stray+"-wal", old, old))
	db, err := OpenDevice(context.Background(), path)
	require.NoError(t, err)
	require.NoError(t, db.SaveDevice(context.Background(), vitalsdk.DeviceState{Installation: "a"}))
	require.NoError(t, db.Close())
	require.NoFileExists(t, stray)
	require.NoFileExists(t, stray+"-wal")
	left, err := filepath.Glob(filepath.Join(dir, ".state.db.init-*"))
	require.NoError(t, err)
	require.Empty(t, left, "the open left its temporary file")
	require.Equal(t, fs.FileMode(0o600), mode(t, path))
}

func TestOpenMissingKeyFile(t *testing.T) {
	ctx := context.Background()
	t.Run("sealed secrets", func(t *testing.T) {
		path := closedWithSecrets(t)
		require.NoError(t, os.Remove(path+".key"))
		requireRefused(t, path, ErrMissingKey)
		require.NoFileExists(t, path+".key")
	})
	t.Run("no sealed secrets", func(t *testing.T) {
		// A database whose rows hold nothing sealed gets a new key.
		db, path := openTest(t)
		require.NoError(t, db.SaveDevice(ctx, vitalsdk.DeviceState{Installation: "a", APIKeyUserID: "u"}))
		require.NoError(t, db.saveJournalRow(ctx, journalRow{Installation: "a"}, "e"))
		require.NoError(t, db.Close())
		require.NoError(t, os.Remove(path+".key"))
		db, err := OpenDevice(ctx, path)
		require.NoError(t, err)
		defer db.Close()
		require.FileExists(t, path+".key")
		dev := vitalsdk.DeviceState{Installation: "b", APIKey: "sk_new"}
		require.NoError(t, db.SaveDevice(ctx, dev))
		got, _, err := db.LoadDevice(ctx, "b")
		require.NoError(t, err)
		require.Equal(t, dev, got)
	})
	t.Run("not a regular key file", func(t *testing.T) {
		path := closedWithSecrets(t)
		require.NoError(t, os.Remove(path+".key"))
		require.NoError(t, os.Mkdir(path+".key", 0o700))
		_, err := OpenDevice(ctx, path)
		var oe *OpenError
		require.ErrorAs(t, err, &oe)
	})
}

func TestOpenRefusesForeignSchema(t *testing.T) {
	tests := map[string]string{
		"extra table":     "CREATE TABLE notes (a TEXT)",
		"extra trigger":   "CREATE TRIGGER t AFTER INSERT ON journal BEGIN SELECT 1; END",
		"dropped index":   "DROP INDEX journal_events_installation",
		"dropped table":   "DROP TABLE endpoints",
		"changed column":  "ALTER TABLE devices ADD COLUMN extra TEXT",
		"renamed column":  "ALTER TABLE journal RENAME COLUMN attempts TO tries",
		"extra view":      "CREATE VIEW v AS SELECT 1",
		"replaced schema": "DROP TABLE journal; CREATE TABLE journal (installation TEXT)",
	}
	for name, stmt := range tests {
		t.Run(name, func(t *testing.T) {
			path := closedWithSecrets(t)
			rawExec(t, path, stmt)
			requireRefused(t, path, ErrCorrupt)
		})
	}
	// ANALYZE's statistics are not part of the shape.
	path := closedWithSecrets(t)
	rawExec(t, path, "ANALYZE")
	db, err := OpenDevice(context.Background(), path)
	require.NoError(t, err)
	require.NoError(t, db.Close())
}

// damagePages zeroes the middle of every page but the first: the header of
// each page stays plausible, its cells do not.
func damagePages(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Greater(t, len(b), 8*4096)
	// The pages that hold journal rows of closedWithSecrets's app users
	// (table and index pages alike; the schema's own pages hold no such
	// name).
	damaged := 0
	for off := 4096; off+4096 <= len(b); off += 4096 {
		if bytes.Contains(b[off:off+4096], []byte("user-2")) {
			clear(b[off+200 : off+3000])
			damaged++
		}
	}
	require.Positive(t, damaged)
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

func TestInspectHealthy(t *testing.T) {
	ctx := context.Background()
	path := closedWithSecrets(t)
	before := fileSum(t, path)
	names := listNames(t, filepath.Dir(path))
	h, err := Inspect(ctx, path)
	require.NoError(t, err)
	require.True(t, h.OK(), "%v", h.Problems)
	require.Equal(t, len(mustMigrations(t)), h.SchemaVersion)
	require.Equal(t, h.KnownVersion, h.SchemaVersion)
	require.Equal(t, KeyOK, h.Key)
	require.Equal(t, int64(5), h.Rows["devices"])
	require.Equal(t, int64(305), h.Rows["journal"])
	require.Equal(t, "device", h.Kind)
	require.NotContains(t, h.Rows, "user_map", "a device database holds no user map")
	require.Equal(t, HistoryStats{Events: 305, Installations: 305, MaxPerInstall: 1,
		Oldest: h.History.Oldest}, h.History)
	require.False(t, h.History.Oldest.IsZero())
	require.Positive(t, h.Size)
	// Nothing changed, nothing created.
	require.Equal(t, before, fileSum(t, path))
	require.Equal(t, names, listNames(t, filepath.Dir(path)))

	key, err := os.ReadFile(path + ".key")
	require.NoError(t, err)
	h, err = Inspect(ctx, path, WithKey(key))
	require.NoError(t, err)
	require.True(t, h.OK(), "%v", h.Problems)
	require.Equal(t, KeyGiven, h.Key)
}

func TestInspectFindsProblems(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		make  func(t *testing.T, path string)
		check string
		want  error
		key   KeyStatus
	}{
		{"damaged pages", damagePages, "integrity", ErrCorrupt, ""},
		{"negative version", func(t *testing.T, path string) {
			rawExec(t, path, "PRAGMA user_version = -3")
		}, "schema-version", ErrCorrupt, ""},
		{"newer schema", func(t *testing.T, path string) {
			rawExec(t, path, "PRAGMA user_version = 99")
		}, "schema-version", ErrNewerSchema, ""},
		{"foreign schema", func(t *testing.T, path string) {
			rawExec(t, path, "DROP INDEX journal_events_installation")
		}, "schema", ErrCorrupt, ""},
		{"truncated", func(t *testing.T, path string) {
			require.NoError(t, os.Truncate(path, 0))
		}, "file", ErrCorrupt, ""},
		{"not a database", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte("id,name\n"), 0o600))
		}, "header", ErrNotDatabase, ""},
		{"missing key", func(t *testing.T, path string) {
			require.NoError(t, os.Remove(path+".key"))
		}, "key", ErrMissingKey, KeyMissing},
		{"wrong key", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path+".key", bytes.Repeat([]byte{9}, KeySize), 0o600))
		}, "key", ErrBadKey, KeyWrong},
		{"short key", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path+".key", []byte("short"), 0o600))
		}, "key", ErrBadKey, KeyUnusable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := closedWithSecrets(t)
			tt.make(t, path)
			before := fileSum(t, path)
			h, err := Inspect(ctx, path)
			require.NoError(t, err)
			require.False(t, h.OK())
			found := false
			for _, p := range h.Problems {
				if p.Check == tt.check && errors.Is(p.Err, tt.want) {
					found = true
				}
				require.NotContains(t, p.Err.Error(), "sk_us_")
			}
			require.True(t, found, "want a %s problem wrapping %v, got %v", tt.check, tt.want, h.Problems)
			if tt.key != "" {
				require.Equal(t, tt.key, h.Key)
			}
			require.Equal(t, before, fileSum(t, path), "Inspect changed the file")
		})
	}

	_, err := Inspect(ctx, filepath.Join(t.TempDir(), "none.db"))
	require.ErrorIs(t, err, os.ErrNotExist)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = Inspect(cancelled, closedWithSecrets(t))
	require.ErrorIs(t, err, context.Canceled)
}

func TestOpenDoesNotReadEveryPage(t *testing.T) {
	// Damage in the data pages is beyond what Open checks (it would cost a
	// read of the whole file on every launch): Open succeeds, the damaged
	// rows read as ErrCorrupt, and Inspect finds it.
	ctx := context.Background()
	path := closedWithSecrets(t)
	damagePages(t, path)

	db, err := OpenDevice(ctx, path)
	require.NoError(t, err)
	var corrupt error
	for i := range 300 {
		if _, _, err := db.loadJournalRow(ctx, "j-"+strconv.Itoa(i)); err != nil && corrupt == nil {
			corrupt = err
		}
	}
	require.ErrorIs(t, corrupt, ErrCorrupt)
	require.NoError(t, db.Close())
	h, err := Inspect(ctx, path)
	require.NoError(t, err)
	require.False(t, h.OK())
}

// copyHotJournal makes, in a new directory, a copy of a database in
// rollback-journal mode taken in the middle of a write transaction that has
// spilled into the file: the copy's journal is hot (no process holds it).
// It returns the copy's path and the value of journal.app_user_id of
// installation "j-0" before the transaction.
func copyHotJournal(t *testing.T) (string, string) {
	t.Helper()
	path := closedWithSecrets(t)
	rawExec(t, path, "PRAGMA journal_mode = DELETE")

	raw, err := sql.Open("sqlite3", path)
	require.NoError(t, err)
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	ctx := context.Background()
	conn, err := raw.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	var before string
	require.NoError(t, conn.QueryRowContext(ctx, `SELECT app_user_id FROM journal WHERE installation = 'j-0'`).Scan(&before))
	for _, stmt := range []string{
		"PRAGMA cache_size = 1", // spill changed pages into the file before the commit
		"BEGIN",
		"UPDATE journal SET app_user_id = 'changed-' || installation || hex(randomblob(64))",
	} {
		_, err := conn.ExecContext(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	journal, err := os.ReadFile(path + "-journal")
	require.NoError(t, err)
	require.NotEmpty(t, journal)
	db, err := os.ReadFile(path)
	require.NoError(t, err)
	key, err := os.ReadFile(path + ".key")
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "ROLLBACK")
	require.NoError(t, err)

	hot := filepath.Join(t.TempDir(), "state.db")
	require.NoError(t, os.WriteFile(hot, db, 0o600))
	require.NoError(t, os.WriteFile(hot+"-journal", journal, 0o600))
	require.NoError(t, os.WriteFile(hot+".key", key, 0o600))
	return hot, before
}

func TestOpenRollsBackHotJournal(t *testing.T) {
	// A read-only connection cannot roll a hot journal back ("attempt to
	// write a readonly database"); Open does, as SQLite would, and finds
	// the state before the interrupted transaction.
	ctx := context.Background()
	path, before := copyHotJournal(t)
	db, err := OpenDevice(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	var got string
	require.NoError(t, db.rdb.QueryRowContext(ctx, `SELECT app_user_id FROM journal WHERE installation = 'j-0'`).Scan(&got))
	require.Equal(t, before, got)
	dev := found(db.LoadDevice(ctx, "dev-1"))(t)
	require.Equal(t, "sk_us_dev-1", dev.APIKey)
	require.NoFileExists(t, path+"-journal")

	// Inspect does not roll it back: it says so.
	path, _ = copyHotJournal(t)
	h, err := Inspect(ctx, path)
	require.NoError(t, err)
	require.False(t, h.OK())
	require.FileExists(t, path+"-journal")
}

func TestOpenHotJournalOfACreationIsNew(t *testing.T) {
	// A process killed while it created a file (earlier versions made the
	// key file first) leaves a key, a file with pages and a hot journal
	// whose rollback empties the file: the database was never created, so
	// it is new, not a truncated one.
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	require.NoError(t, os.WriteFile(src, nil, 0o600))
	raw, err := sql.Open("sqlite3", src)
	require.NoError(t, err)
	defer raw.Close()
	conn, err := raw.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	for _, stmt := range []string{
		"PRAGMA cache_size = 1",
		"BEGIN",
		"CREATE TABLE t (a BLOB)",
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) INSERT INTO t SELECT randomblob(200) FROM n",
	} {
		_, err := conn.ExecContext(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	db, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NotEmpty(t, db, "the transaction spilled into the file")
	journal, err := os.ReadFile(src + "-journal")
	require.NoError(t, err)

	path := filepath.Join(t.TempDir(), "state.db")
	require.NoError(t, os.WriteFile(path, db, 0o600))
	require.NoError(t, os.WriteFile(path+"-journal", journal, 0o600))
	key := bytes.Repeat([]byte{5}, KeySize)
	require.NoError(t, os.WriteFile(path+".key", key, 0o600))

	got, err := OpenDevice(ctx, path)
	require.NoError(t, err)
	defer got.Close()
	dev := vitalsdk.DeviceState{Installation: "a", APIKey: "sk_after"}
	require.NoError(t, got.SaveDevice(ctx, dev))
	loaded, _, err := got.LoadDevice(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, dev, loaded)
	onDisk, err := os.ReadFile(path + ".key")
	require.NoError(t, err)
	require.Equal(t, key, onDisk, "the existing key is kept")
}

func TestOpenLeavesForeignFileWithStrayJournal(t *testing.T) {
	// Only a real rollback journal is rolled back: a file that is not a
	// database, beside a "-journal" that is not one, stays as it was.
	path := filepath.Join(t.TempDir(), "state.db")
	require.NoError(t, os.WriteFile(path, []byte("name,user\nalice,1\n"), 0o600))
	require.NoError(t, os.WriteFile(path+"-journal", []byte("not a journal at all"), 0o600))
	requireRefused(t, path, ErrNotDatabase)
}

func TestNormalizeSQL(t *testing.T) {
	same := []string{
		"CREATE TABLE t (a TEXT NOT NULL DEFAULT '', b INTEGER)",
		"CREATE TABLE t(\n\ta    TEXT NOT NULL DEFAULT '', -- the a\n\tb INTEGER /* the b */\n)",
		"CREATE   TABLE t ( a TEXT NOT NULL DEFAULT '' , b INTEGER )",
	}
	for _, s := range same[1:] {
		require.Equal(t, normalizeSQL(same[0]), normalizeSQL(s), s)
	}
	different := []string{
		"CREATE TABLE t (a TEXT NOT NULL DEFAULT ' ', b INTEGER)", // a literal's content counts
		"CREATE TABLE t (a TEXT NOT NULL DEFAULT '', b INTEGER) STRICT",
		"CREATE TABLE t (a TEXT NOT NULL DEFAULT '', bINTEGER)",
		`CREATE TABLE t ("a  b" TEXT NOT NULL DEFAULT '', b INTEGER)`,
	}
	for _, s := range different {
		require.NotEqual(t, normalizeSQL(same[0]), normalizeSQL(s), s)
	}
	require.Equal(t, "CREATE TABLE t(a TEXT DEFAULT 'it''s -- not a comment')",
		normalizeSQL("CREATE TABLE t (a TEXT DEFAULT 'it''s -- not a comment')"))
}

// A file another process migrates while it is validated: the version and
// the schema come from one snapshot, so the file is not taken for corrupt
// (two processes starting at once on a new file met this now and then).
func TestValidateReadsOneSnapshot(t *testing.T) {
	ctx := context.Background()
	migs := mustMigrations(t)
	path := filepath.Join(t.TempDir(), "state.db")
	w, err := sql.Open("sqlite3", writerDSN(path))
	require.NoError(t, err)
	defer w.Close()
	w.SetMaxOpenConns(1)
	for _, m := range migs[:3] {
		require.NoError(t, applyMigration(ctx, w, m, nil))
	}
	// The writer stays open, so the WAL beside the file says a process is
	// using it and validate reads it as that process's client.
	require.FileExists(t, path+"-wal")
	testHookAfterVersion = func() { require.NoError(t, applyMigration(ctx, w, migs[3], nil)) }
	t.Cleanup(func() { testHookAfterVersion = nil })

	st, err := validate(ctx, path, KindDevice, migs, false)
	require.NoError(t, err)
	require.Equal(t, 3, st.version, "the snapshot of the version read")
	testHookAfterVersion = nil
	st, err = validate(ctx, path, KindDevice, migs, false)
	require.NoError(t, err)
	require.Equal(t, 4, st.version)
}
