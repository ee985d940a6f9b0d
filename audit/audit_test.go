package audit_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/audit"
	"github.com/vitalsync/vitalsync/reconcile"
)

var fleetNow = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// fleetRecords generates a fleet of n rows (seed 1) in the background, as
// the pull function a store's LoadFleet takes. The truth it points to is
// set once next has reported the end.
func fleetRecords(n int) (next func() ([]string, bool), truth *audit.Truth) {
	recs := make(chan []string, 1024)
	truth = new(audit.Truth)
	go func() {
		*truth, _ = audit.GenerateFleet(audit.FleetOptions{Installs: n, Seed: 1, Now: fleetNow}, func(rec []string) error {
			recs <- append([]string(nil), rec...)
			return nil
		})
		close(recs)
	}()
	return func() ([]string, bool) { r, ok := <-recs; return r, ok }, truth
}

// fleet generates n rows as CSV and JSONL, with their truth.
func fleet(t testing.TB, n int, seed uint64) (csvData, jsonlData []byte, truth audit.Truth) {
	var c, j bytes.Buffer
	cw, jw := audit.NewCSVWriter(&c), audit.NewJSONLWriter(&j)
	truth, err := audit.GenerateFleet(audit.FleetOptions{Installs: n, Seed: seed, Now: fleetNow}, func(rec []string) error {
		if err := cw.Write(rec); err != nil {
			return err
		}
		return jw.Write(rec)
	})
	require.NoError(t, err)
	require.NoError(t, cw.Flush())
	require.NoError(t, jw.Flush())
	return c.Bytes(), j.Bytes(), truth
}

func opener(data []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}

func csvSource(data []byte) audit.Source {
	return audit.CSVSource{Label: "fleet.csv", Open: opener(data)}
}

func truthOptions() audit.Options { return audit.Options{Now: fleetNow, Stale: audit.TruthStale} }

// The audit finds exactly the classes the generator put in, per profile,
// from CSV and from JSONL alike.
func TestAuditMatchesGroundTruth(t *testing.T) {
	csvData, jsonlData, truth := fleet(t, 20000, 7)
	for _, src := range []audit.Source{csvSource(csvData), audit.JSONLSource{Label: "fleet.jsonl", Open: opener(jsonlData)}} {
		t.Run(src.Name(), func(t *testing.T) {
			var findings []*audit.Finding
			sum, err := audit.Run(context.Background(), src, func(f *audit.Finding) error {
				findings = append(findings, f)
				return nil
			}, truthOptions())
			require.NoError(t, err)
			require.Equal(t, truth.Rows, sum.Rows)
			require.Equal(t, truth.Classes, sum.Classes)
			require.Equal(t, truth.ByProfile, sum.ByProfile)
			var consistentFound int64
			for _, f := range findings {
				require.NotEqual(t, audit.Class(reconcile.Consistent), f.Class, "a finding leads with its worst class")
				if f.Class == audit.Invalid {
					require.NotZero(t, f.Line)
					require.Contains(t, f.Reason, "line")
				}
				for _, c := range f.Classes {
					if c == audit.Class(reconcile.Consistent) {
						consistentFound++
					}
				}
			}
			// Every row that is not plainly consistent is a finding.
			require.Equal(t, sum.Rows-sum.Classes["consistent"]+consistentFound, int64(len(findings)))
			// Every class the generator makes is present.
			for _, c := range []audit.Class{"wrong-user", "mapping-mismatch", "sdk-signed-out", "app-signed-out",
				"api-key-mode", "user-deleted", "reauth-required", "backing-off", "unknown-profile", "invalid", "stale"} {
				require.NotZero(t, sum.Classes[c], c)
			}
			require.Equal(t, map[reconcile.ActionType]int64{
				reconcile.TypeSignIn:         sum.Classes["sdk-signed-out"] + sum.Classes["user-deleted"] + sum.Classes["wrong-user"],
				reconcile.TypeSignOut:        sum.Classes["wrong-user"] + sum.Classes["app-signed-out"],
				reconcile.TypeMigrate:        sum.Classes["api-key-mode"],
				reconcile.TypeReauthenticate: sum.Classes["reauth-required"],
			}, sum.Actions)
		})
	}
}

func TestShardsAddUp(t *testing.T) {
	csvData, _, truth := fleet(t, 5000, 3)
	var merged audit.Summary
	for k := range 3 {
		o := truthOptions()
		o.Shard, o.Shards = k, 3
		s, err := audit.Run(context.Background(), csvSource(csvData), nil, o)
		require.NoError(t, err)
		require.Less(t, s.Rows, truth.Rows)
		merged.Merge(s)
	}
	require.Equal(t, truth.Rows, merged.Rows)
	require.Equal(t, truth.Classes, merged.Classes)
}

func TestSchemaErrorsBeforeTheFirstRow(t *testing.T) {
	csvData, jsonlData, _ := fleet(t, 10, 1)
	header, _, _ := bytes.Cut(csvData, []byte("\n"))
	noReported := strings.Replace(string(csvData), ",reported_at,", ",reported_on,", 1)
	rows := 0
	count := func(*audit.Finding) error { rows++; return nil }
	_, err := audit.Run(context.Background(), csvSource([]byte(noReported)), count, truthOptions())
	var se *audit.SchemaError
	require.ErrorAs(t, err, &se)
	require.ErrorIs(t, err, audit.ErrMissingColumn)
	require.Equal(t, "reported_at", se.Column)

	dup := string(header) + ",platform\n"
	_, err = audit.Run(context.Background(), csvSource([]byte(dup)), count, truthOptions())
	require.ErrorIs(t, err, audit.ErrDuplicateColumn)

	_, err = audit.Run(context.Background(), csvSource(nil), count, truthOptions())
	require.ErrorIs(t, err, audit.ErrEmptySource)

	firstLacks := strings.Replace(string(jsonlData), `"mapped_vital_user_id":`, `"mapped":`, 1)
	_, err = audit.Run(context.Background(), audit.JSONLSource{Label: "x.jsonl", Open: opener([]byte(firstLacks))}, count, truthOptions())
	require.ErrorAs(t, err, &se)
	require.Equal(t, "mapped_vital_user_id", se.Column)
	require.Zero(t, rows)
}

// Unknown columns are ignored, columns may come in any order, and the
// profile column, when given, wins over the version.
func TestCSVColumnsAnyOrder(t *testing.T) {
	cols := audit.Columns()
	rec := map[string]string{"installation_id": "i1", "platform": "android", "sdk_version": "4.3.0",
		"app_signed_in": "true", "app_user_id": "u", "app_vital_user_id": "v", "sdk_status": "configured,signedIn,useSignInToken",
		"sdk_current_user_id": "v", "reported_at": "2026-11-19T10:00:00Z", "mapped_vital_user_id": "v"}
	var b strings.Builder
	b.WriteString("extra")
	for i := len(cols) - 1; i >= 0; i-- {
		b.WriteString("," + cols[i])
	}
	b.WriteString("\r\nignored")
	for i := len(cols) - 1; i >= 0; i-- {
		v := rec[cols[i]]
		if strings.Contains(v, ",") {
			v = `"` + v + `"`
		}
		b.WriteString("," + v)
	}
	b.WriteString("\r\n")
	s, err := audit.Run(context.Background(), csvSource([]byte(b.String())), nil, truthOptions())
	require.NoError(t, err)
	require.Equal(t, int64(1), s.Rows)
	require.Equal(t, map[audit.Class]int64{"consistent": 1}, s.Classes)
	require.Equal(t, int64(1), s.ByProfile["android-5.0"]["consistent"])
}

// Malformed rows are counted as invalid, named by line, and the audit
// goes on; an impossible observation is invalid too.
func TestMalformedRowsAreCountedAndNamed(t *testing.T) {
	head := strings.Join(audit.Columns(), ",") + "\n"
	good := `i1,ios,1.8.1,,true,u,v,,,"configured,signedIn,useSignInToken",V,,,token,,,2026-11-19T10:00:00Z,v`
	lines := []string{
		good,
		`i2,ios,1.8.1,,maybe,u,v,,,,,,,,,,2026-11-19T10:00:00Z,v`,        // line 3: bad boolean
		`i3,ios,1.8.1,,true,u,v,,,"configured,signedIn,useSignInToken,V`, // line 4: unterminated quote
		`i4,ios,1.8.1`, // line 5: too few fields
		`i5,ios,1.8.1,,true,u,v,,,signedIn,,,,,,,2026-11-19T10:00:00Z,v`, // line 6: impossible status
		`i6,ios,1.8.1,,true,u,v,,,,,,,,,,not-a-time,v`,                   // line 7: bad time
		strings.Replace(good, "i1,", "i7,", 1),                           // another installation
	}
	var fs []*audit.Finding
	s, err := audit.Run(context.Background(), csvSource([]byte(head+strings.Join(lines, "\n")+"\n")), func(f *audit.Finding) error {
		fs = append(fs, f)
		return nil
	}, truthOptions())
	require.NoError(t, err)
	require.Equal(t, int64(7), s.Rows)
	require.Equal(t, int64(5), s.Classes[audit.Invalid])
	require.Equal(t, int64(2), s.Classes["consistent"])
	var gotLines []int64
	for _, f := range fs {
		require.Equal(t, audit.Invalid, f.Class)
		gotLines = append(gotLines, f.Line)
	}
	require.Equal(t, []int64{3, 4, 5, 6, 7}, gotLines)
	require.Equal(t, "i2", fs[0].InstallationID)
	require.Contains(t, fs[0].Reason, "app_signed_in")
	require.Contains(t, fs[3].Reason, "impossible observation")
}

func TestCancelledContext(t *testing.T) {
	csvData, _, _ := fleet(t, 20000, 2)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := audit.Run(ctx, csvSource(csvData), func(*audit.Finding) error {
		n++
		if n == 10 {
			cancel()
		}
		return nil
	}, truthOptions())
	require.ErrorIs(t, err, context.Canceled)
}

func TestBadShard(t *testing.T) {
	_, err := audit.Run(context.Background(), csvSource(nil), nil, audit.Options{Shard: 3, Shards: 3})
	require.ErrorIs(t, err, audit.ErrBadOptions)
}
