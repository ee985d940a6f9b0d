package audit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/postgres"
	"github.com/vitalsync/vitalsync/adapters/store/postgres/pgtest"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/audit"
)

// badUTF8 stands for the byte 0xff in the files' records until they are
// written (the JSONL writer would replace the byte).
const badUTF8 = "BADUTF8"

// awkwardFleet is one fleet of the rows the sources once disagreed on
// (issue 19): a consistent row and its exact duplicate, Unicode IDs, a
// NUL, invalid UTF-8, a C1 control character, a report an hour in the
// future and one dated 2999.
func awkwardFleet(now time.Time) [][]string {
	at := now.Format(time.RFC3339)
	row := func(id, appUser, vital, sdkUser, reported string) []string {
		return []string{id, "android", "5.0.2", "", "true", appUser, vital, "sandbox", "us",
			"configured,signedIn,useSignInToken", sdkUser, "sandbox", "us", "token", "", "", reported, vital}
	}
	return [][]string{
		row("i-ok", "alice", "v-a", "v-a", at),
		row("i-ünïcødé", "zoë", "v-z", "V-Z", at),
		row("i-nul", "bo\x00b", "v-b", "v-b", at),
		row("i-utf8", "carol", "v-c", "v-c"+badUTF8, at),
		row("i-c1", "dave", "v-d\u0085", "v-d", at),
		row("i-future", "erin", "v-e", "v-e", now.Add(time.Hour).Format(time.RFC3339)),
		row("i-2999", "frank", "v-f", "v-f", "2999-01-01T00:00:00Z"),
		row("i-ok", "alice", "v-a", "v-a", at),
	}
}

// files writes the fleet as CSV and JSONL, with a byte-order mark and
// CRLF line ends when windows is set.
func files(t *testing.T, fleet [][]string, windows bool) (csvData, jsonlData []byte) {
	var c, j bytes.Buffer
	cw, jw := audit.NewCSVWriter(&c), audit.NewJSONLWriter(&j)
	for _, rec := range fleet {
		require.NoError(t, cw.Write(rec))
		require.NoError(t, jw.Write(rec))
	}
	require.NoError(t, cw.Flush())
	require.NoError(t, jw.Flush())
	fix := func(b []byte) []byte {
		b = bytes.ReplaceAll(b, []byte(badUTF8), []byte{0xff})
		if windows {
			b = append([]byte("\xef\xbb\xbf"), bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))...)
		}
		return b
	}
	return fix(c.Bytes()), fix(j.Bytes())
}

// rowsOf reads every row of src as a comparable line: a valid row's
// fields (not its line, which differs between files and stores), or an
// invalid row's installation ID and column.
func rowsOf(t *testing.T, src audit.Source) []string {
	t.Helper()
	var out []string
	require.NoError(t, src.Each(context.Background(), func(r *audit.Row) error {
		if r.Err != nil {
			var re *audit.RowError
			require.True(t, errors.As(r.Err, &re), "%v", r.Err)
			out = append(out, fmt.Sprintf("invalid %q %s", r.InstallationID, re.Column))
			return nil
		}
		c := *r
		c.Line = 0
		out = append(out, fmt.Sprintf("%+v", c))
		return nil
	}))
	slices.Sort(out)
	return out
}

func summaryOf(t *testing.T, src audit.Source, now time.Time) audit.Summary {
	t.Helper()
	s, err := audit.Run(context.Background(), src, nil, audit.Options{Now: now})
	require.NoError(t, err)
	s.Seconds, s.RowsPerSecond = 0, 0
	return s
}

// The four sources give the same row for the same report, and the same
// counts; a duplicate installation is counted once, in a class of its own;
// the report from the future is counted as such; the bytes no store should
// hold are invalid rows in every source, named by the same column.
func TestSourcesAgree(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	fleet := awkwardFleet(now)

	csvPlain, jsonlPlain := files(t, fleet, false)
	csvWin, jsonlWin := files(t, fleet, true)
	sources := map[string]audit.Source{
		"csv":            audit.CSVSource{Label: "fleet.csv", Open: opener(csvPlain)},
		"jsonl":          audit.JSONLSource{Label: "fleet.jsonl", Open: opener(jsonlPlain)},
		"csv bom crlf":   audit.CSVSource{Label: "fleet.csv", Open: opener(csvWin)},
		"jsonl bom crlf": audit.JSONLSource{Label: "fleet.jsonl", Open: opener(jsonlWin)},
	}
	want := rowsOf(t, sources["csv"])
	require.Len(t, want, len(fleet))
	invalid := 0
	for _, r := range want {
		if strings.HasPrefix(r, "invalid") {
			invalid++
		}
	}
	require.Equal(t, []string{
		`invalid "i-2999" reported_at`, `invalid "i-c1" app_vital_user_id`, `invalid "i-nul" app_user_id`,
		`invalid "i-utf8" sdk_current_user_id`}, want[:invalid])
	wantSum := summaryOf(t, sources["csv"], now)
	require.Equal(t, int64(len(fleet)), wantSum.Rows)
	require.Equal(t, int64(1), wantSum.Count(audit.DuplicateInstallation), "the duplicate is counted once, apart")
	require.Equal(t, int64(1), wantSum.Count(audit.FutureReport))
	require.Equal(t, int64(4), wantSum.Count(audit.Invalid))
	for name, src := range sources {
		require.Equal(t, want, rowsOf(t, src), name)
		require.Equal(t, wantSum, summaryOf(t, src, now), name)
	}

	// The stores hold one row per installation: the fleet without its
	// duplicate. The record's times come back as Unix nanoseconds.
	unique := fleet[:len(fleet)-1]
	wantUnique := slices.Clone(want)
	i := slices.Index(wantUnique, want[slices.IndexFunc(want, func(s string) bool { return strings.Contains(s, "i-ok") })])
	wantUnique = slices.Delete(wantUnique, i, i+1)
	wantUniqueSum := wantSum
	wantUniqueSum.Rows--
	wantUniqueSum.Classes = map[audit.Class]int64{}
	for c, n := range wantSum.Classes {
		if c != audit.DuplicateInstallation {
			wantUniqueSum.Classes[c] = n
		}
	}
	raw := func(recs [][]string) func() ([]string, bool) {
		i := 0
		return func() ([]string, bool) {
			if i == len(recs) {
				return nil, false
			}
			rec := slices.Clone(recs[i])
			for j := range rec {
				rec[j] = strings.ReplaceAll(rec[j], badUTF8, "\xff")
			}
			i++
			return rec, true
		}
	}
	classes := func(s audit.Summary) map[audit.Class]int64 { return s.Classes }

	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "issuer.db")
		db, err := sqlite.OpenIssuer(ctx, path)
		require.NoError(t, err)
		require.NoError(t, db.LoadFleet(ctx, raw(unique)))
		require.NoError(t, db.Close())
		src := audit.RecordSource{Label: path, UnixNanos: true, Unique: true, Records: func(ctx context.Context, fn func(string) error) error {
			return sqlite.EachReportRecord(ctx, path, fn)
		}}
		got := rowsOf(t, src)
		// 2999 cannot be stored: the store keeps no time for it, and the
		// row is invalid by the same column.
		require.Equal(t, wantUnique, got)
		sum := summaryOf(t, src, now)
		require.Equal(t, wantUniqueSum.Rows, sum.Rows)
		require.Equal(t, classes(wantUniqueSum), classes(sum))
	})

	t.Run("postgres", func(t *testing.T) {
		dbURL := pgtest.URL(t)
		db, err := postgres.Open(ctx, dbURL)
		require.NoError(t, err)
		defer db.Close()
		// PostgreSQL's text holds neither NUL nor invalid UTF-8: those
		// reports cannot reach a PostgreSQL audit at all.
		var storable [][]string
		var wantPG []string
		for _, rec := range unique {
			joined := strings.ReplaceAll(strings.Join(rec, ""), badUTF8, "\xff")
			if strings.ContainsRune(joined, 0) || !utf8.ValidString(joined) {
				continue
			}
			storable = append(storable, rec)
		}
		for _, r := range wantUnique {
			if !strings.Contains(r, `"i-nul"`) && !strings.Contains(r, `"i-utf8"`) {
				wantPG = append(wantPG, r)
			}
		}
		require.NoError(t, db.LoadFleet(ctx, raw(storable)))
		src := audit.RecordSource{Label: "postgres", UnixNanos: true, Unique: true, Records: func(ctx context.Context, fn func(string) error) error {
			return postgres.EachReportRecord(ctx, dbURL, 0, fn)
		}}
		require.Equal(t, wantPG, rowsOf(t, src))
		sum := summaryOf(t, src, now)
		require.Equal(t, wantUniqueSum.Rows-2, sum.Rows)
		require.Equal(t, wantUniqueSum.Count(audit.FutureReport), sum.Count(audit.FutureReport))
		require.Equal(t, wantUniqueSum.Count(audit.Invalid)-2, sum.Count(audit.Invalid))
	})
}

// A duplicate with other content is counted once too: the first row read
// is audited, the later one counted as duplicate-installation only.
func TestDuplicateInstallationCountedOnce(t *testing.T) {
	now := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	fleet := awkwardFleet(now)[:1]
	other := slices.Clone(fleet[0])
	other[4], other[5], other[6], other[17] = "false", "", "", "" // signed out now
	fleet = append(fleet, other, slices.Clone(fleet[0]))
	csvData, _ := files(t, fleet, false)
	var findings []*audit.Finding
	sum, err := audit.Run(context.Background(), audit.CSVSource{Label: "f.csv", Open: opener(csvData)},
		func(f *audit.Finding) error { findings = append(findings, f); return nil }, audit.Options{Now: now, Workers: 1})
	require.NoError(t, err)
	require.Equal(t, int64(3), sum.Rows)
	require.Equal(t, int64(2), sum.Count(audit.DuplicateInstallation))
	require.Equal(t, int64(1), sum.Count("consistent"), "the installation counted once, as its first row says")
	require.Len(t, findings, 2)
	for _, f := range findings {
		require.Equal(t, audit.DuplicateInstallation, f.Class)
		require.Equal(t, "i-ok", f.InstallationID)
	}

	// Without the check, every row is audited.
	sum, err = audit.Run(context.Background(), audit.CSVSource{Label: "f.csv", Open: opener(csvData)}, nil,
		audit.Options{Now: now, NoDuplicateCheck: true})
	require.NoError(t, err)
	require.Zero(t, sum.Count(audit.DuplicateInstallation))
	require.Equal(t, int64(2), sum.Count("consistent"))
}
