package audit_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/postgres"
	"github.com/vitalsync/vitalsync/adapters/store/postgres/pgtest"
	"github.com/vitalsync/vitalsync/audit"
)

// loadPostgresFleet writes a generated fleet of n rows to a new schema and
// returns its URL with the fleet's truth.
func loadPostgresFleet(t *testing.T, n int) (string, audit.Truth) {
	t.Helper()
	dbURL := pgtest.URL(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, dbURL)
	require.NoError(t, err)
	defer db.Close()
	next, truth := fleetRecords(n)
	require.NoError(t, db.LoadFleet(ctx, next))
	return dbURL, *truth
}

func postgresSource(dbURL string, pageRows int) audit.Source {
	return audit.RecordSource{Label: "postgres", UnixNanos: true, Records: func(ctx context.Context, fn func(string) error) error {
		return postgres.EachReportRecord(ctx, dbURL, pageRows, fn)
	}}
}

// The Postgres source finds a generated fleet's ground truth, with pages
// smaller than the fleet, and its memory does not grow with the rows.
func TestPostgresSourceMatchesGroundTruth(t *testing.T) {
	const n = 5000
	dbURL, truth := loadPostgresFleet(t, n)
	for _, page := range []int{0, 999} {
		s, err := audit.Run(context.Background(), postgresSource(dbURL, page), nil, truthOptions())
		require.NoError(t, err)
		require.Equal(t, truth.Rows, s.Rows, "page %d", page)
		require.Equal(t, truth.Classes, s.Classes, "page %d", page)
		require.Equal(t, truth.ByProfile, s.ByProfile, "page %d", page)
	}
	var total int64
	for k := range 4 {
		o := truthOptions()
		o.Shard, o.Shards = k, 4
		s, err := audit.Run(context.Background(), postgresSource(dbURL, 0), nil, o)
		require.NoError(t, err)
		total += s.Rows
	}
	require.Equal(t, truth.Rows, total)
}

// peakHeap audits src while sampling the live heap, and returns the peak.
func peakHeap(t *testing.T, src audit.Source) uint64 {
	t.Helper()
	runtime.GC()
	var peak uint64
	var ms runtime.MemStats
	_, err := audit.Run(context.Background(), src, nil, audit.Options{Now: fleetNow, Workers: 1,
		Progress: func(int64) {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}})
	require.NoError(t, err)
	return peak
}

// TestPostgresSourceMemory (-long): the audit's heap over 10^6 rows is
// what it is over 10^5.
func TestPostgresSourceMemory(t *testing.T) {
	if !*long {
		t.Skip("-long")
	}
	small, _ := loadPostgresFleet(t, 100_000)
	large, _ := loadPostgresFleet(t, 1_000_000)
	a, b := peakHeap(t, postgresSource(small, 0)), peakHeap(t, postgresSource(large, 0))
	t.Logf("peak live heap: 10^5 rows %d KiB, 10^6 rows %d KiB", a>>10, b>>10)
	require.Less(t, b, a+4<<20, "the heap grew with the rows")
}

// TestPostgresAgainstCOPY (-long, or $VITALSYNC_LONG=1) audits 10^6
// generated rows from PostgreSQL and times psql's COPY of the same join to
// /dev/null on the same database, in the same run, three rounds each.
func TestPostgresAgainstCOPY(t *testing.T) {
	if !*long && os.Getenv("VITALSYNC_LONG") != "1" {
		t.Skip("-long")
	}
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("no psql")
	}
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("VITALSYNC_PG_ROWS")); err == nil && v > 0 {
		n = v
	}
	loadStart := time.Now()
	dbURL, truth := loadPostgresFleet(t, n)
	t.Logf("loaded %d rows in %.1f s", n, time.Since(loadStart).Seconds())
	// psql takes the schema through PGOPTIONS, not the URL.
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	schema := u.Query().Get("search_path")
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	timeCOPY := func(query string) time.Duration {
		cmd := exec.Command(psql, "-X", "-q", "-c", "COPY ("+query+") TO STDOUT", u.String())
		cmd.Env = append(os.Environ(), "PGOPTIONS=-c search_path="+schema)
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		require.NoError(t, err)
		defer devnull.Close()
		var stderr strings.Builder
		cmd.Stdout, cmd.Stderr = devnull, &stderr
		start := time.Now()
		require.NoError(t, cmd.Run(), "%s", stderr.String())
		return time.Since(start)
	}
	rate := func(d time.Duration) float64 { return float64(n) / d.Seconds() }
	for round := 1; round <= 3; round++ {
		s, err := audit.Run(context.Background(), postgresSource(dbURL, 0), nil, truthOptions())
		require.NoError(t, err)
		require.Equal(t, truth.Classes, s.Classes)
		dCOPY := timeCOPY(postgres.ReportRecordQuery())
		// The read alone: the records, handed to a function that drops them.
		start := time.Now()
		read := 0
		require.NoError(t, postgres.EachReportRecord(context.Background(), dbURL, 0, func(string) error { read++; return nil }))
		dRead := time.Since(start)
		require.Equal(t, n, read)
		t.Logf("round %d: audit %.0f rows/s (%.2f s); psql COPY (the join) TO STDOUT > /dev/null %.0f rows/s (%.2f s); "+
			"%.2f×; EachReportRecord alone %.0f rows/s (%.2f s)",
			round, s.RowsPerSecond, s.Seconds, rate(dCOPY), dCOPY.Seconds(), s.RowsPerSecond/rate(dCOPY),
			rate(dRead), dRead.Seconds())
	}
}
