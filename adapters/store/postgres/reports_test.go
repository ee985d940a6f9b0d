package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/postgres"
	"github.com/vitalsync/vitalsync/adapters/store/postgres/pgtest"
	"github.com/vitalsync/vitalsync/adapters/store/storetest"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/issuer"
)

var _ storetest.ReportStore = (*postgres.DB)(nil)

var t0 = time.Date(2026, 11, 2, 8, 0, 0, 123456789, time.UTC)

// testReport is a valid report of a signed-out iOS 1.8 app, taken at t0.
func testReport(inst string) issuer.Report {
	return issuer.Report{InstallationID: inst, Platform: fsm.IOS, SDKVersion: "1.8.5", Profile: "ios-1.8", ReportedAt: t0}
}

func putReport(t testing.TB, db *postgres.DB, r issuer.Report) {
	t.Helper()
	stored, err := db.PutReport(context.Background(), r)
	require.NoError(t, err)
	require.True(t, stored)
}

func TestReportStoreContract(t *testing.T) {
	t.Parallel()
	pgtest.Require(t)
	storetest.Reports(t, func(t *testing.T) storetest.ReportStore {
		return open(t, pgtest.URL(t))
	})
}

// Two pools on one database (two replicas) store many reports of one
// installation at once, in shuffled order: the one left is the latest,
// and exactly the reports not older than the stored one at their write
// were stored.
func TestReplicasKeepTheLatestReport(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	a, b := open(t, url), open(t, url)
	ctx := context.Background()
	const n = 100
	for round := range 3 {
		inst := fmt.Sprintf("inst-%d", round)
		latest := n - 1 - round*7 // not always the last one started
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			db := a
			if i%2 == 1 {
				db = b
			}
			// Start them in an order unrelated to their times.
			k := (i * 37) % n
			wg.Go(func() {
				<-start
				r := testReport(inst)
				r.ReportedAt = t0.Add(time.Duration(k) * time.Second)
				if k > latest {
					r.ReportedAt = t0.Add(-time.Hour) // older than all the others
				}
				r.SDKVersion, r.Profile = "1.8."+strconv.Itoa(k), ""
				if p, ok := fsm.ProfileFor(r.Platform, r.SDKVersion); ok {
					r.Profile = p.Name // an unmapped version is stored without one
				}
				_, errs[i] = db.PutReport(ctx, r)
			})
		}
		close(start)
		wg.Wait()
		for i := range n {
			require.NoError(t, errs[i])
		}
		got, ok, err := b.LatestReport(ctx, inst)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, t0.Add(time.Duration(latest)*time.Second), got.ReportedAt, "round %d", round)
		require.Equal(t, "1.8."+strconv.Itoa(latest), got.SDKVersion, "round %d: the row is the latest report's", round)
	}
}

func TestLatestReportCorrupt(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	db := open(t, url)
	putReport(t, db, testReport("inst-1"))
	putReport(t, db, testReport("inst-2"))
	exec(t, url, "UPDATE reports SET sdk_status = 'configured,bogus' WHERE installation_id = 'inst-1'")
	exec(t, url, "UPDATE reports SET last_error = 'kaboom' WHERE installation_id = 'inst-2'")
	ctx := context.Background()
	for inst, column := range map[string]string{"inst-1": "sdk_status", "inst-2": "last_error"} {
		_, _, err := db.LatestReport(ctx, inst)
		require.ErrorIs(t, err, postgres.ErrCorrupt)
		var ce *postgres.ColumnError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, column, ce.Column)
		require.Equal(t, inst, ce.Key)
	}
}

// records reads every record of url with pages of pageRows.
func records(t *testing.T, url string, pageRows int) [][]string {
	t.Helper()
	var got [][]string
	require.NoError(t, postgres.EachReportRecord(context.Background(), url, pageRows, func(rec string) error {
		got = append(got, strings.Split(strings.Clone(rec), postgres.ReportRecordSep))
		return nil
	}))
	return got
}

func TestEachReportRecordJoinsTheActiveMapping(t *testing.T) {
	t.Parallel()
	storetest.ReportRecords(t, postgres.ReportRecordSep, func(t *testing.T) (storetest.RecordStore, storetest.Records) {
		url := pgtest.URL(t)
		return open(t, url), func(ctx context.Context, fn func(string) error) error {
			return postgres.EachReportRecord(ctx, url, 0, fn)
		}
	})
}

// Keyset pages of any size read every installation once, in bytewise
// order, including at page boundaries and with IDs a locale would sort
// differently.
func TestEachReportRecordPages(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	db := open(t, url)
	var want []string
	for i := range 23 {
		id := fmt.Sprintf("inst-%02d", i)
		if i%5 == 0 {
			id = fmt.Sprintf("Inst-%02d", i) // upper case sorts first bytewise
		}
		putReport(t, db, testReport(id))
		want = append(want, id)
	}
	putReport(t, db, testReport("inst-a b")) // a space, then 'b'
	putReport(t, db, testReport("inst-ab"))
	want = append(want, "inst-a b", "inst-ab")
	sortBytes(want)
	check := func(stats string) {
		for _, page := range []int{1, 2, 5, 23, 25, 26, 1000} {
			var ids []string
			for _, rec := range records(t, url, page) {
				ids = append(ids, rec[0])
			}
			require.Equal(t, want, ids, "%s, page size %d", stats, page)
		}
	}
	check("no statistics: LIMIT pages")
	// With statistics the pages are key ranges cut at the histogram's
	// bounds; rows added after ANALYZE, inside the ranges and past the
	// last bound, make the statistics stale, and are read all the same.
	exec(t, url, "ANALYZE reports")
	check("key ranges")
	// fn's error stops a walk over ranges, with the next range running.
	stop := errors.New("stop")
	n := 0
	err := postgres.EachReportRecord(context.Background(), url, 2, func(string) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, 3, n)
	// A context cancelled mid-walk ends it with ctx.Err() at the next page.
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n = 0
	err = postgres.EachReportRecord(cctx, url, 2, func(string) error {
		if n++; n == 3 {
			cancel()
		}
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, n, len(want))
	for _, id := range []string{"inst-03x", "inst-10x", "inst-a", "zzz", "Inst-00a", "A"} {
		putReport(t, db, testReport(id))
		want = append(want, id)
	}
	sortBytes(want)
	check("stale statistics")
}

func sortBytes(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestEachReportRecordSchemaErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	calls := 0
	count := func(string) error { calls++; return nil }

	// Never migrated: no table at all.
	empty := pgtest.URL(t)
	err := postgres.EachReportRecord(ctx, empty, 0, count)
	require.ErrorIs(t, err, postgres.ErrOlderSchema)
	var oe *postgres.OpenError
	require.ErrorAs(t, err, &oe)

	// Migrated by a program before the reports.
	older := pgtest.URL(t)
	exec(t, older, "CREATE TABLE vitalsync_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)")
	exec(t, older, "INSERT INTO vitalsync_migrations VALUES (1, '0001_user_map.sql')")
	require.ErrorIs(t, postgres.EachReportRecord(ctx, older, 0, count), postgres.ErrOlderSchema)

	// Migrated by a newer program.
	newer := pgtest.URL(t)
	db := open(t, newer)
	putReport(t, db, testReport("inst-1"))
	exec(t, newer, "INSERT INTO vitalsync_migrations (version, name) VALUES ($1, 'from the future')", postgres.Migrations()+1)
	require.ErrorIs(t, postgres.EachReportRecord(ctx, newer, 0, count), postgres.ErrNewerSchema)

	require.ErrorIs(t, postgres.EachReportRecord(ctx, "postgres://%zz", 0, count), postgres.ErrInvalidURL)
	require.Zero(t, calls)
}

func TestLoadFleet(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	db := open(t, url)
	ctx := context.Background()
	rec := func(inst, app, mapped, reported string) []string {
		return []string{inst, "ios", "1.8.5", "ios-1.8", "true", app, "v", "", "", "", "", "", "", "", "", "", reported, mapped}
	}
	recs := [][]string{
		rec("i1", "alice", "v-alice", "2026-11-02T08:00:00Z"),
		rec("i2", "alice", "v-other", "2026-11-02T08:00:00Z"), // the first record of a user wins
		rec("i3", "bob", "", "not a time"),
		rec("i4", "", "v-nobody", "2026-11-02T08:00:00Z"),
	}
	next := func(recs [][]string) func() ([]string, bool) {
		i := 0
		return func() ([]string, bool) {
			if i == len(recs) {
				return nil, false
			}
			i++
			return recs[i-1], true
		}
	}
	require.NoError(t, db.LoadFleet(ctx, next(recs)))
	got := records(t, url, 0)
	require.Len(t, got, 4)
	require.Equal(t, "v-alice", got[0][17])
	require.Equal(t, "v-alice", got[1][17])
	require.Equal(t, "", got[2][16], "a time that does not parse is stored as none")
	require.Equal(t, "", got[2][17])
	require.Equal(t, "", got[3][17])
	require.Equal(t, strconv.FormatInt(time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC).UnixNano(), 10), got[0][16])
	_, ok, err := db.LookupUser(ctx, "bob")
	require.NoError(t, err)
	require.False(t, ok)

	// A short record fails the whole load; nothing of it stays.
	err = db.LoadFleet(ctx, next([][]string{rec("i5", "carol", "v-carol", ""), {"i6", "ios"}}))
	require.ErrorIs(t, err, postgres.ErrInvalidRecord)
	require.Len(t, records(t, url, 0), 4)
	_, ok, err = db.LookupUser(ctx, "carol")
	require.NoError(t, err)
	require.False(t, ok)
}
