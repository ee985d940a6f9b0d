package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
)

// tables lists the tables of the file at path.
func tables(t *testing.T, path string) []string {
	t.Helper()
	rows, err := openRO(t, path).Query(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		out = append(out, n)
	}
	require.NoError(t, rows.Err())
	return out
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

// deviceFixture writes a device database with a sealed secret and a
// journal entry, closed.
func deviceFixture(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	db, path := openTest(t)
	require.NoError(t, db.SaveDevice(ctx, vitalsdk.DeviceState{Installation: "phone", Strategy: vitalsdk.StrategyAPIKey,
		APIKey: "sk_us_secret", APIKeyUserID: "u", Environment: fsm.Sandbox, Region: fsm.US}))
	require.NoError(t, db.saveJournalRow(ctx, journalRow{Installation: "phone", LastObserved: fsm.APIKey}, "observed"))
	require.NoError(t, db.Close())
	return path
}

// issuerFixture writes an issuer database with a mapping and a report,
// closed.
func issuerFixture(t *testing.T) string {
	t.Helper()
	db, path := openIssuerTest(t)
	_, err := db.PutUser(context.Background(), "alice", "v-alice")
	require.NoError(t, err)
	putReport(t, db, testReport("phone"))
	require.NoError(t, db.Close())
	return path
}

// legacyFile writes a file from before the split (schema version 10, both
// kinds' tables) holding the rows of the device file dev and of the issuer
// file iss (either may be ""), with dev's key file, and returns its path.
func legacyFile(t *testing.T, dev, iss string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "legacy.db")
	var stmts []string
	for _, m := range mustMigrations(t)[:sharedVersion] {
		stmts = append(stmts, m.SQL)
	}
	stmts = append(stmts, "PRAGMA user_version = "+strconv.Itoa(sharedVersion))
	for i, src := range map[Kind]string{KindDevice: dev, KindIssuer: iss} {
		if src == "" {
			continue
		}
		stmts = append(stmts, "ATTACH DATABASE '"+src+"' AS src")
		for _, tbl := range kindTables[i] {
			stmts = append(stmts, "INSERT INTO "+tbl+" SELECT * FROM src."+tbl)
		}
		stmts = append(stmts, "DETACH DATABASE src")
	}
	raw, err := openRawSingle(path)
	require.NoError(t, err)
	defer raw.Close()
	for _, s := range stmts {
		_, err := raw.Exec(s)
		require.NoError(t, err, s)
	}
	if dev != "" {
		key, err := os.ReadFile(dev + ".key")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path+".key", key, 0o600))
	}
	return path
}

func TestNewFilesHoldTheirKindOnly(t *testing.T) {
	dev, iss := deviceFixture(t), issuerFixture(t)
	require.Equal(t, sorted(kindTables[KindDevice]), tables(t, dev))
	require.Equal(t, sorted(kindTables[KindIssuer]), tables(t, iss))
	for _, c := range []struct {
		path      string
		open      func(context.Context, string, ...Option) (*DB, error)
		want, got Kind
	}{{dev, OpenIssuer, KindIssuer, KindDevice}, {iss, OpenDevice, KindDevice, KindIssuer}} {
		before := fileSum(t, c.path)
		_, err := c.open(context.Background(), c.path)
		require.ErrorIs(t, err, ErrWrongKind)
		var ke *KindError
		require.ErrorAs(t, err, &ke)
		require.Equal(t, KindError{Want: c.want, Got: c.got}, *ke)
		require.Contains(t, err.Error(), "expected "+withArticle(c.want)+" database, found "+withArticle(c.got))
		require.Equal(t, before, fileSum(t, c.path), "a refused file is not changed")
	}
	// Each reopens as its own kind.
	for path, open := range map[string]func(context.Context, string, ...Option) (*DB, error){dev: OpenDevice, iss: OpenIssuer} {
		db, err := open(context.Background(), path)
		require.NoError(t, err)
		require.NoError(t, db.Close())
	}
}

// A call of the other kind's is a typed error, not a bare "no such table".
func TestCallsOfTheOtherKind(t *testing.T) {
	ctx := context.Background()
	dev, _ := openTest(t)
	_, err := dev.PutUser(ctx, "alice", "v")
	require.ErrorIs(t, err, ErrWrongKind)
	iss, _ := openIssuerTest(t)
	_, _, err = iss.LoadDevice(ctx, "phone")
	require.ErrorIs(t, err, ErrWrongKind)
	require.Equal(t, KindDevice, dev.Kind())
	require.Equal(t, KindIssuer, iss.Kind())
	// The audit reads issuer files only.
	err = EachReportRecord(ctx, deviceFixture(t), func(string) error { return nil })
	require.ErrorIs(t, err, ErrWrongKind)
}

// Files from before the split migrate without loss when the other kind's
// tables are empty, and are refused, unchanged, when they are not.
func TestLegacyFilesMigrate(t *testing.T) {
	ctx := context.Background()
	t.Run("device file", func(t *testing.T) {
		path := legacyFile(t, deviceFixture(t), "")
		before := fileSum(t, path)
		_, err := OpenIssuer(ctx, path)
		var ke *KindError
		require.ErrorAs(t, err, &ke)
		require.True(t, ke.Legacy)
		require.Equal(t, before, fileSum(t, path))

		db, err := OpenDevice(ctx, path)
		require.NoError(t, err)
		dev := found(db.LoadDevice(ctx, "phone"))(t)
		require.Equal(t, "sk_us_secret", dev.APIKey)
		row := found(db.loadJournalRow(ctx, "phone"))(t)
		require.Equal(t, fsm.APIKey, row.LastObserved)
		require.NoError(t, db.Close())
		require.Equal(t, sorted(kindTables[KindDevice]), tables(t, path))
	})
	t.Run("issuer file", func(t *testing.T) {
		path := legacyFile(t, "", issuerFixture(t))
		_, err := OpenDevice(ctx, path)
		require.ErrorIs(t, err, ErrWrongKind)
		db, err := OpenIssuer(ctx, path)
		require.NoError(t, err)
		m := found(db.LookupUser(ctx, "alice"))(t)
		require.Equal(t, "v-alice", m.VitalUserID)
		r := found(db.LatestReport(ctx, "phone"))(t)
		require.Equal(t, testReport("phone").InstallationID, r.InstallationID)
		require.NoError(t, db.Close())
		require.Equal(t, sorted(kindTables[KindIssuer]), tables(t, path))
	})
	t.Run("empty file of both halves", func(t *testing.T) {
		path := legacyFile(t, "", "")
		db, err := OpenIssuer(ctx, path)
		require.NoError(t, err)
		require.NoError(t, db.Close())
		require.Equal(t, sorted(kindTables[KindIssuer]), tables(t, path))
	})
}

// A file whose both halves hold rows is refused by both Opens and left as
// it was; Inspect names it; Split writes its halves, each of which opens
// as its kind with every row, and leaves the file as it was.
func TestMixedFileIsSplit(t *testing.T) {
	ctx := context.Background()
	path := legacyFile(t, deviceFixture(t), issuerFixture(t))
	before := fileSum(t, path)
	for _, open := range []func(context.Context, string, ...Option) (*DB, error){OpenDevice, OpenIssuer} {
		_, err := open(ctx, path)
		require.ErrorIs(t, err, ErrMixedFile)
		require.Equal(t, before, fileSum(t, path))
	}
	h, err := Inspect(ctx, path)
	require.NoError(t, err)
	require.Equal(t, "unsplit", h.Kind)
	require.False(t, h.OK())
	require.Equal(t, "kind", h.Problems[0].Check)
	require.ErrorIs(t, h.Problems[0].Err, ErrMixedFile)

	dir := t.TempDir()
	devPath, issPath := filepath.Join(dir, "device.db"), filepath.Join(dir, "issuer.db")
	require.NoError(t, Split(ctx, path, devPath, issPath))
	require.Equal(t, before, fileSum(t, path), "Split leaves the file as it was")

	dev, err := OpenDevice(ctx, devPath)
	require.NoError(t, err)
	d := found(dev.LoadDevice(ctx, "phone"))(t)
	require.Equal(t, "sk_us_secret", d.APIKey, "the key file came along")
	require.NoError(t, dev.Close())
	iss, err := OpenIssuer(ctx, issPath)
	require.NoError(t, err)
	m := found(iss.LookupUser(ctx, "alice"))(t)
	require.Equal(t, "v-alice", m.VitalUserID)
	require.NoError(t, iss.Close())
	for _, p := range []string{devPath, devPath + ".key", issPath, issPath + ".key"} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), p)
	}

	// Existing destinations and files that already have a kind are refused.
	require.ErrorIs(t, Split(ctx, path, devPath, filepath.Join(dir, "other.db")), os.ErrExist)
	require.NoFileExists(t, filepath.Join(dir, "other.db"))
	require.ErrorIs(t, Split(ctx, devPath, filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")), ErrWrongKind)
	require.ErrorIs(t, Split(ctx, issPath, filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")), ErrWrongKind)
	require.NoFileExists(t, filepath.Join(dir, "a.db"))
}

// openRawSingle opens path on one connection of its own, so that ATTACH
// holds for the statements after it.
func openRawSingle(path string) (*sql.DB, error) {
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		return nil, err
	}
	raw.SetMaxOpenConns(1)
	return raw, nil
}

func TestPing(t *testing.T) {
	db, _ := openIssuerTest(t)
	ctx := context.Background()
	require.NoError(t, db.Ping(ctx))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, db.Ping(cancelled), context.Canceled)
	require.NoError(t, db.Close())
	require.ErrorIs(t, db.Ping(ctx), ErrClosed)
}
