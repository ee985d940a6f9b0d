package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/issuer"
	"github.com/vitalsync/vitalsync/adapters/storetest"
	"github.com/vitalsync/vitalsync/fsm"
)

// testReport is a valid report of a signed-out iOS 1.8 app, taken at t0.
func testReport(inst string) issuer.Report {
	return issuer.Report{InstallationID: inst, Platform: fsm.IOS, SDKVersion: "1.8.5", Profile: "ios-1.8", ReportedAt: t0}
}

func putReport(t testing.TB, db *DB, r issuer.Report) {
	t.Helper()
	stored, err := db.PutReport(context.Background(), r)
	require.NoError(t, err)
	require.True(t, stored)
}

func TestReportStoreContract(t *testing.T) {
	storetest.Reports(t, func(t *testing.T) storetest.ReportStore {
		db, _ := openTest(t)
		return db
	})
}

func TestEachReportRecordJoinsTheActiveMapping(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	for _, app := range []string{"alice", "bob"} {
		_, err := db.PutUser(ctx, app, "v-"+app+"-1")
		require.NoError(t, err)
	}
	require.NoError(t, db.MarkUserDeleted(ctx, "bob", "v-bob-1"))
	_, err := db.PutUser(ctx, "bob", "v-bob-2")
	require.NoError(t, err)
	_, err = db.PutUser(ctx, "carol", "v-carol-1")
	require.NoError(t, err)
	require.NoError(t, db.MarkUserDeleted(ctx, "carol", "v-carol-1"))

	reps := map[string]issuer.Report{}
	for _, app := range []string{"alice", "bob", "carol"} {
		r := testReport("inst-" + app)
		r.AppSignedIn, r.AppUserID, r.AppVitalUserID = true, app, "v-"+app+"-1"
		r.SDKStatus, r.SDKCurrentUserID = fsm.FlagConfigured|fsm.FlagSignedIn|fsm.FlagUseSignInToken, "V-"+strings.ToUpper(app)
		r.NextAttemptAt = t0.Add(time.Minute)
		putReport(t, db, r)
		reps[app] = r
	}
	putReport(t, db, testReport("inst-signed-out"))
	require.NoError(t, db.Close())

	got := map[string][]string{}
	require.NoError(t, EachReportRecord(ctx, path, func(rec string) error {
		f := strings.Split(strings.Clone(rec), ReportRecordSep)
		require.Len(t, f, 18)
		got[f[0]] = f
		return nil
	}))
	require.Len(t, got, 4)
	require.Equal(t, "v-alice-1", got["inst-alice"][17])
	require.Equal(t, "v-bob-2", got["inst-bob"][17], "the active mapping, not the deleted one")
	require.Equal(t, "", got["inst-carol"][17], "no active mapping")
	require.Equal(t, "", got["inst-signed-out"][17])
	require.Equal(t, []string{"inst-alice", "ios", "1.8.5", "ios-1.8", "1", "alice", "v-alice-1", "", "",
		"configured,signedIn,useSignInToken", "V-ALICE", "", "", "", "", strconv.FormatInt(t0.Add(time.Minute).UnixNano(), 10),
		strconv.FormatInt(t0.UnixNano(), 10), "v-alice-1"}, got["inst-alice"])
	require.Equal(t, "0", got["inst-signed-out"][4])
	require.Equal(t, "", got["inst-signed-out"][15])

	// fn's error stops the walk.
	stop := errors.New("stop")
	n := 0
	require.ErrorIs(t, EachReportRecord(ctx, path, func(string) error { n++; return stop }), stop)
	require.Equal(t, 1, n)
	// A done context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, EachReportRecord(cctx, path, func(string) error { return nil }), context.Canceled)
}

func TestEachReportRecordSchemaErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	newer := filepath.Join(dir, "newer.db")
	db, err := Open(ctx, newer)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	rawExec(t, newer, "PRAGMA user_version = 999")
	calls := 0
	err = EachReportRecord(ctx, newer, func(string) error { calls++; return nil })
	require.ErrorIs(t, err, ErrNewerSchema)

	older := filepath.Join(dir, "older.db")
	rawExec(t, older, "PRAGMA user_version = 2")
	err = EachReportRecord(ctx, older, func(string) error { calls++; return nil })
	require.ErrorIs(t, err, ErrOlderSchema)
	require.Zero(t, calls)
}

// An old reports row keeps its data through migration 0005: its platform
// comes from its profile.
func TestReportsMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	migs, err := loadMigrations()
	require.NoError(t, err)
	var old strings.Builder
	for _, m := range migs[:4] {
		old.WriteString(m.SQL + ";\n")
	}
	old.WriteString(`PRAGMA user_version = 4;
		INSERT INTO reports (installation, profile, status, current_user_id, reported_at)
		VALUES ('a', 'android-5.0', 'configured,signedIn,useSignInToken', 'v', 1);`)
	rawExec(t, path, old.String())
	db, err := Open(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	r, ok, err := db.LatestReport(ctx, "a")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, fsm.Android, r.Platform)
	require.Equal(t, "v", r.SDKCurrentUserID)
	require.Equal(t, fsm.FlagConfigured|fsm.FlagSignedIn|fsm.FlagUseSignInToken, r.SDKStatus)
}

// A large file is read as two rowid ranges at once: every record comes
// exactly once, fn runs on the caller's goroutine only, and fn's error
// stops both readers.
func TestEachReportRecordInTwoRanges(t *testing.T) {
	old := parallelReadRows
	parallelReadRows = 100
	t.Cleanup(func() { parallelReadRows = old })
	ctx := context.Background()
	db, path := openTest(t)
	const n = 2000
	for i := range n {
		putReport(t, db, testReport("inst-"+strconv.Itoa(i)))
	}
	require.NoError(t, db.Close())

	seen := map[string]int{}
	var inFn atomic.Int32
	require.NoError(t, EachReportRecord(ctx, path, func(rec string) error {
		require.Equal(t, int32(1), inFn.Add(1), "fn is never called concurrently")
		defer inFn.Add(-1)
		seen[strings.SplitN(rec, ReportRecordSep, 2)[0]]++
		return nil
	}))
	require.Len(t, seen, n)
	for id, c := range seen {
		require.Equal(t, 1, c, id)
	}

	stop := errors.New("stop")
	calls := 0
	require.ErrorIs(t, EachReportRecord(ctx, path, func(string) error { calls++; return stop }), stop)
	require.Equal(t, 1, calls)
	cctx, cancel := context.WithCancel(ctx)
	calls = 0
	require.ErrorIs(t, EachReportRecord(cctx, path, func(string) error {
		if calls++; calls == 700 {
			cancel()
		}
		return nil
	}), context.Canceled)
}
