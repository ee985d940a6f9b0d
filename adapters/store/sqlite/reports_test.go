package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/storetest"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/issuer"
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
		db, _ := openIssuerTest(t)
		return db
	})
}

func TestEachReportRecordJoinsTheActiveMapping(t *testing.T) {
	storetest.ReportRecords(t, ReportRecordSep, func(t *testing.T) (storetest.RecordStore, storetest.Records) {
		db, path := openIssuerTest(t)
		// The records are read from the file, as an audit does, once the
		// store has closed it.
		return db, func(ctx context.Context, fn func(string) error) error {
			if err := db.Close(); err != nil {
				return err
			}
			return EachReportRecord(ctx, path, fn)
		}
	})
}

func TestEachReportRecordSchemaErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	newer := filepath.Join(dir, "newer.db")
	db, err := OpenIssuer(ctx, newer)
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
	migs, err := loadMigrations(KindDevice)
	require.NoError(t, err)
	var old strings.Builder
	for _, m := range migs[:4] {
		old.WriteString(m.SQL + ";\n")
	}
	old.WriteString(`PRAGMA user_version = 4;
		INSERT INTO reports (installation, profile, status, current_user_id, reported_at)
		VALUES ('a', 'android-5.0', 'configured,signedIn,useSignInToken', 'v', 1);`)
	rawExec(t, path, old.String())
	db, err := OpenIssuer(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	r := found(db.LatestReport(ctx, "a"))(t)
	require.Equal(t, fsm.Android, r.Platform)
	require.Equal(t, "v", r.SDKCurrentUserID)
	require.Equal(t, fsm.FlagConfigured|fsm.FlagSignedIn|fsm.FlagUseSignInToken, r.SDKStatus)
}

// auditFleet writes n reports, several to an app user and some signed
// out, with the users' mappings, and returns the file's path.
func auditFleet(t *testing.T, n int) string {
	t.Helper()
	ctx := context.Background()
	db, path := openIssuerTest(t)
	for i := range n {
		r := testReport("inst-" + strconv.Itoa(i))
		if i%7 != 0 {
			r.AppSignedIn, r.AppUserID = true, "user-"+strconv.Itoa(i%(n/3))
		}
		putReport(t, db, r)
	}
	for u := range n / 3 {
		if u%5 != 0 {
			_, err := db.PutUser(ctx, "user-"+strconv.Itoa(u), "v-"+strconv.Itoa(u))
			require.NoError(t, err)
		}
	}
	require.NoError(t, db.Close())
	return path
}

// records reads every record of path, checking each comes once.
func records(t *testing.T, path string) map[string]string {
	t.Helper()
	got := map[string]string{}
	require.NoError(t, EachReportRecord(context.Background(), path, func(rec string) error {
		id := strings.SplitN(rec, ReportRecordSep, 2)[0]
		require.NotContains(t, got, id, "a record came twice")
		got[id] = strings.Clone(rec)
		return nil
	}))
	return got
}

// A large file is read as two rowid ranges at once: every record comes
// exactly once, the same from a file that still has migration 0007's
// covering indexes, fn runs on the caller's goroutine only, and fn's error
// or a cancel stops both readers.
func TestEachReportRecordInTwoRanges(t *testing.T) {
	old := parallelReadRows
	parallelReadRows = 100
	t.Cleanup(func() { parallelReadRows = old })
	ctx := context.Background()
	const n = 2000
	path := auditFleet(t, n)

	current := records(t, path)
	require.Len(t, current, n)
	require.True(t, strings.HasSuffix(current["inst-1"], ReportRecordSep+"v-1"), current["inst-1"])
	require.True(t, strings.HasSuffix(current["inst-0"], ReportRecordSep), "a signed-out installation has no mapping")
	ranges, err := readRanges(ctx, openRO(t, path))
	require.NoError(t, err)
	require.Len(t, ranges, 2)

	// The same file at schema version 9, with the covering indexes of
	// migration 0007 that 0010 drops: the same records.
	before := legacyCopy(t, path, 9)
	require.Equal(t, current, records(t, before))

	var inFn atomic.Int32
	require.NoError(t, EachReportRecord(ctx, path, func(string) error {
		require.Equal(t, int32(1), inFn.Add(1), "fn is never called concurrently")
		defer inFn.Add(-1)
		return nil
	}))
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

// openRO opens path read-only for a test's queries.
func openRO(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", fileURI(path)+"?mode=ro")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// migrationSQL returns the text of one embedded migration.
func migrationSQL(t testing.TB, name string) string {
	t.Helper()
	b, err := fs.ReadFile(migrationFS, "migrations/"+name)
	require.NoError(t, err)
	return string(b)
}

// The audit's query scans the reports table once and finds each app
// user's active mapping through the user map's partial unique index: no
// temporary index, no scan of the user map per report.
func TestAuditQueryPlan(t *testing.T) {
	path := auditFleet(t, 30)
	rows, err := openRO(t, path).Query("EXPLAIN QUERY PLAN " + ReportRecordQuery())
	require.NoError(t, err)
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
		plan = append(plan, detail)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"SCAN r",
		"SEARCH m USING INDEX user_map_active (app_user_id=?) LEFT-JOIN"}, plan)
}

// Migration 0010 drops the audit's covering indexes of 0007 and keeps
// every report and mapping: a file at version 9 opens, migrates, and holds
// the same records, without the two indexes.
func TestDropAuditIndexesMigration(t *testing.T) {
	want := records(t, auditFleet(t, 60))
	path := legacyCopy(t, auditFleet(t, 60), 9)
	require.Equal(t, want, records(t, path))
	db, err := OpenIssuer(context.Background(), path)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	var n int
	require.NoError(t, openRO(t, path).QueryRow(`SELECT count(*) FROM sqlite_schema
		WHERE type = 'index' AND name IN ('reports_audit', 'user_map_audit')`).Scan(&n))
	require.Zero(t, n, "the covering indexes are gone")
	var version int
	require.NoError(t, openRO(t, path).QueryRow("PRAGMA user_version").Scan(&version))
	require.Equal(t, 11, version)
	require.Equal(t, want, records(t, path))
}

// legacyCopy writes a file from before the split, at schema version v
// (both kinds' tables), holding the issuer rows of the issuer database src,
// and returns its path.
func legacyCopy(t *testing.T, src string, v int) string {
	t.Helper()
	require.LessOrEqual(t, v, sharedVersion)
	path := filepath.Join(t.TempDir(), "legacy.db")
	migs := mustMigrations(t)
	stmts := make([]string, 0, v+4)
	for _, m := range migs[:v] {
		stmts = append(stmts, m.SQL)
	}
	stmts = append(stmts, "PRAGMA user_version = "+strconv.Itoa(v),
		"ATTACH DATABASE '"+src+"' AS src",
		"INSERT INTO reports SELECT * FROM src.reports",
		"INSERT INTO user_map SELECT * FROM src.user_map")
	rawExec(t, path, stmts...)
	return path
}

// The sqlite3 tool on this machine opens and checks a file and runs the
// audit's query.
func TestToolRunsTheAuditQuery(t *testing.T) {
	cli, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("no sqlite3 tool on PATH")
	}
	path := auditFleet(t, 30)
	out, err := exec.Command(cli, path, "PRAGMA integrity_check;").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, "ok", strings.TrimSpace(string(out)))
	out, err = exec.Command(cli, path, "SELECT count(*) FROM ("+ReportRecordQuery()+");").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, "30", strings.TrimSpace(string(out)))
}

// BenchmarkPutReport: the issuer storing an installation's report (a new
// one, then its update) on the current schema and, for the price of the
// covering indexes migration 0010 dropped, with migration 0007's indexes
// created again.
func BenchmarkPutReport(b *testing.B) {
	for _, with0007 := range []bool{false, true} {
		name := "current"
		if with0007 {
			name = "with-0007-indexes"
		}
		b.Run(name, func(b *testing.B) {
			db, _ := openIssuerTest(b)
			ctx := context.Background()
			if with0007 {
				// On the open DB: Open would refuse a schema that is not the
				// migrations'.
				_, err := db.wdb.ExecContext(ctx, migrationSQL(b, "0007_reports_audit.sql"))
				require.NoError(b, err)
			}
			r := testReport("")
			r.AppSignedIn, r.AppVitalUserID = true, "v-0d5c4d0e-7c4b-4a37-9f7e-0c7d7e3e4f11"
			r.SDKStatus, r.SDKCurrentUserID = fsm.FlagConfigured|fsm.FlagSignedIn|fsm.FlagUseSignInToken, r.AppVitalUserID
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				r.InstallationID = "inst-" + strconv.Itoa(i%10000)
				r.AppUserID = "user-" + strconv.Itoa(i%10000)
				r.ReportedAt = t0.Add(time.Duration(i) * time.Second)
				i++
				if _, err := db.PutReport(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// queryRecords reads the records of ReportRecordQuery through database/sql
// (NULL as ""), counted by record.
func recordsByQuery(t *testing.T, path string) map[string]int {
	t.Helper()
	rows, err := openRO(t, path).Query(ReportRecordQuery())
	require.NoError(t, err)
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var rec sql.NullString
		require.NoError(t, rows.Scan(&rec))
		got[rec.String]++
	}
	require.NoError(t, rows.Err())
	return got
}

// eachRecordCounts reads the records of EachReportRecord, counted by record.
func eachRecordCounts(t *testing.T, path string) map[string]int {
	t.Helper()
	got := map[string]int{}
	require.NoError(t, EachReportRecord(context.Background(), path, func(rec string) error {
		got[strings.Clone(rec)]++
		return nil
	}))
	return got
}

// EachReportRecord reads spans of rowids, each as one string of records:
// whatever the span, with rowids missing, a value holding the records'
// separator char(30) and another the fields' char(31), it yields exactly
// the records of ReportRecordQuery; and a file whose reports table lets a
// field be NULL is read a record a row, the NULL record as "".
func TestEachReportRecordSpans(t *testing.T) {
	oldChunk, oldParallel := chunkRows, parallelReadRows
	t.Cleanup(func() { chunkRows, parallelReadRows = oldChunk, oldParallel })
	path := auditFleet(t, 300)
	rawExec(t, path,
		"DELETE FROM reports WHERE rowid % 11 = 0",
		"UPDATE reports SET app_user_id = 'user' || char(30) || '1' WHERE installation_id = 'inst-5'",
		"UPDATE reports SET sdk_version = '1.8' || char(31) || '5' WHERE installation_id = 'inst-6'",
		"UPDATE reports SET reported_at = NULL, next_attempt_at = 7 WHERE installation_id = 'inst-8'")
	want := recordsByQuery(t, path)
	require.Len(t, want, 273)
	for _, c := range []struct{ chunk, parallel int64 }{{512, 100_000}, {7, 100_000}, {7, 50}, {1, 50}, {1000, 50}} {
		chunkRows, parallelReadRows = c.chunk, c.parallel
		require.Equal(t, want, eachRecordCounts(t, path), "spans of %d rowids, two ranges from %d", c.chunk, c.parallel)
	}
	chunkRows, parallelReadRows = 7, 50

	// A reports table without NOT NULL (no migration makes one).
	loose := legacyCopy(t, path, 9)
	rawExec(t, loose,
		"CREATE TABLE reports_loose AS SELECT * FROM reports",
		"DROP TABLE reports",
		"ALTER TABLE reports_loose RENAME TO reports",
		"UPDATE reports SET sdk_version = NULL WHERE installation_id = 'inst-1'")
	ranges, err := readRanges(context.Background(), openRO(t, loose))
	require.NoError(t, err)
	require.False(t, ranges[0].chunked)
	wantLoose := recordsByQuery(t, loose)
	require.Equal(t, 1, wantLoose[""], "the NULL field makes the record NULL")
	require.Equal(t, wantLoose, eachRecordCounts(t, loose))
}
