package audit_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/sqlite"
	"github.com/vitalsync/vitalsync/audit"
)

// The join the audit runs, as the sqlite3 command-line tool runs it with a
// count aggregate: once counting rows only, once reading every column the
// audit reads.
const (
	cliJoin = ` FROM reports AS r
		LEFT JOIN user_map AS m ON m.app_user_id = r.app_user_id AND m.deleted_at IS NULL AND r.app_user_id != ''`
	cliCount   = `SELECT count(*)` + cliJoin + `;`
	cliColumns = `SELECT count(*), sum(length(r.installation_id) + length(r.platform) + length(r.sdk_version) +
		length(r.profile) + r.app_signed_in + length(r.app_user_id) + length(r.app_vital_user_id) +
		length(r.app_environment) + length(r.app_region) + length(r.sdk_status) + length(r.sdk_current_user_id) +
		length(r.sdk_environment) + length(r.sdk_region) + length(r.last_observed) + length(r.last_error) +
		ifnull(r.next_attempt_at, 0) % 7 + r.reported_at % 7 + ifnull(length(m.vital_user_id), 0))` + cliJoin + `;`
)

// cliRecords is the audit's own query, its record's length summed.
var cliRecords = "SELECT count(*), sum(length(record)) FROM (" + sqlite.ReportRecordQuery() + ");"

// TestSQLiteAgainstCLI (-long) audits 10^6 generated rows from an SQLite
// file and times the sqlite3 tool on the same join over the same file, in
// the same run, three rounds each. It also times EachReportRecord with
// nothing to do per record, and the CPU both take: the store's own share of
// the audit.
func TestSQLiteAgainstCLI(t *testing.T) {
	if !*long {
		t.Skip("-long")
	}
	cli, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("no sqlite3 tool")
	}
	const n = 1_000_000
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fleet.db")
	db, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	recs := make(chan []string, 1024)
	go func() {
		_, _ = audit.GenerateFleet(audit.FleetOptions{Installs: n, Seed: 1, Now: fleetNow}, func(rec []string) error {
			recs <- append([]string(nil), rec...)
			return nil
		})
		close(recs)
	}()
	require.NoError(t, db.LoadFleet(ctx, func() ([]string, bool) { r, ok := <-recs; return r, ok }))
	require.NoError(t, db.Close())
	src := audit.RecordSource{Label: path, UnixNanos: true, Records: func(ctx context.Context, fn func(string) error) error {
		return sqlite.EachReportRecord(ctx, path, fn)
	}}
	timeCLI := func(q string) (time.Duration, string) {
		start := time.Now()
		out, err := exec.Command(cli, path, q).Output()
		require.NoError(t, err)
		return time.Since(start), strings.TrimSpace(string(out))
	}
	// What the audit's indexes cost on disk (dbstat, where the tool has it).
	if out, err := exec.Command(cli, path, `SELECT name, sum(pgsize) FROM dbstat
		WHERE name IN ('reports', 'reports_audit', 'user_map', 'user_map_audit') GROUP BY name;`).Output(); err == nil {
		st, err := os.Stat(path)
		require.NoError(t, err)
		t.Logf("file %d MB; bytes per object: %s", st.Size()>>20, strings.Join(strings.Fields(string(out)), ", "))
	}
	for round := 1; round <= 3; round++ {
		cpu0 := cpuTime(t)
		s, err := audit.Run(ctx, src, nil, truthOptions())
		require.NoError(t, err)
		require.Equal(t, int64(n), s.Rows)
		auditCPU := cpuTime(t) - cpu0
		// The store alone: SQLite producing the records, nothing planned.
		cpu0, start := cpuTime(t), time.Now()
		read := 0
		require.NoError(t, sqlite.EachReportRecord(ctx, path, func(string) error { read++; return nil }))
		dStore, storeCPU := time.Since(start), cpuTime(t)-cpu0
		require.Equal(t, n, read)
		dCount, out := timeCLI(cliCount)
		require.Equal(t, strconv.Itoa(n), out)
		dCols, _ := timeCLI(cliColumns)
		rate := func(d time.Duration) float64 { return n / d.Seconds() }
		t.Logf("round %d: audit %.0f rows/s (%.2f s); sqlite3: count(*) %.0f rows/s (%.2f s) %.2f×, "+
			"reading the columns %.0f rows/s (%.2f s) %.2f×",
			round, s.RowsPerSecond, s.Seconds,
			rate(dCount), dCount.Seconds(), s.RowsPerSecond/rate(dCount),
			rate(dCols), dCols.Seconds(), s.RowsPerSecond/rate(dCols))
		t.Logf("round %d: CPU: audit %.2f s, EachReportRecord alone %.2f s (%.0f rows/s, %.2f s wall, %.2f× count(*)); "+
			"sqlite3 count(*) %.2f s wall",
			round, auditCPU.Seconds(), storeCPU.Seconds(), rate(dStore), dStore.Seconds(), rate(dStore)/rate(dCount), dCount.Seconds())
		dRec, _ := timeCLI(cliRecords)
		t.Logf("round %d: sqlite3 running the audit's record query: %.0f rows/s (%.2f s) %.2f×",
			round, rate(dRec), dRec.Seconds(), s.RowsPerSecond/rate(dRec))
	}
}
