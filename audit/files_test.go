package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/audit"
)

// A fleet written to files audits as its truth from either format, and
// its findings go to a file in the format its name says.
func TestFileSourcesAndFindingFile(t *testing.T) {
	dir := t.TempDir()
	csvData, jsonlData, truth := fleet(t, 400, 3)
	csvPath, jsonlPath := filepath.Join(dir, "fleet.csv"), filepath.Join(dir, "fleet.jsonl")
	require.NoError(t, os.WriteFile(csvPath, csvData, 0o600))
	require.NoError(t, os.WriteFile(jsonlPath, jsonlData, 0o600))
	opts := audit.Options{Now: fleetNow}
	for _, tc := range []struct {
		src     audit.Source
		out     string
		asCSV   bool
		leading string
	}{
		{audit.CSVFile(csvPath), filepath.Join(dir, "findings.csv"), true, "installation_id,"},
		{audit.JSONLFile(jsonlPath), filepath.Join(dir, "findings.jsonl"), false, "{"},
	} {
		sink, closeOut, err := audit.CreateFindingFile(tc.out)
		require.NoError(t, err)
		sum, err := audit.Run(context.Background(), tc.src, sink, opts)
		require.NoError(t, err)
		require.NoError(t, closeOut())
		require.NoError(t, closeOut(), "a second close does nothing")
		require.Equal(t, truth.Rows, sum.Rows)
		data, err := os.ReadFile(tc.out)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(data), tc.leading), tc.out)
	}
	_, _, err := audit.CreateFindingFile(filepath.Join(dir, "missing", "f.csv"))
	require.Error(t, err)
}

func TestParseShard(t *testing.T) {
	for s, want := range map[string][3]int{"0/1": {0, 1, 1}, "2/3": {2, 3, 1}, "3/3": {}, "-1/2": {}, "1": {}, "a/2": {}, "0/0": {}} {
		k, n, ok := audit.ParseShard(s)
		got := [3]int{k, n, 0}
		if ok {
			got[2] = 1
		}
		if got != want {
			t.Errorf("ParseShard(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestParseClasses(t *testing.T) {
	cs, err := audit.ParseClasses("wrong-user, invalid")
	require.NoError(t, err)
	require.Equal(t, []audit.Class{"wrong-user", audit.Invalid}, cs)
	cs, err = audit.ParseClasses("")
	require.NoError(t, err)
	require.Empty(t, cs)
	_, err = audit.ParseClasses("wrong-user,nonsense")
	require.ErrorContains(t, err, "nonsense")
}

// ParseSummary takes what an audit's JSON summary holds, and names a
// fleet's truth for what it is.
func TestParseSummary(t *testing.T) {
	_, _, truth := fleet(t, 50, 1)
	data, err := json.Marshal(truth)
	require.NoError(t, err)
	_, err = audit.ParseSummary(data)
	require.ErrorIs(t, err, audit.ErrTruthFile)
	for _, bad := range []string{"", "[]", `{"hello":1}`, "not json"} {
		_, err = audit.ParseSummary([]byte(bad))
		require.ErrorIs(t, err, audit.ErrNotSummary, bad)
	}
	want := audit.Summary{Rows: truth.Rows, Classes: truth.Classes}
	data, err = json.Marshal(want)
	require.NoError(t, err)
	got, err := audit.ParseSummary(data)
	require.NoError(t, err)
	require.Equal(t, want.Rows, got.Rows)
	require.Equal(t, want.Classes, got.Classes)
}

// WriteFleet writes the rows GenerateFleet emits, in either format, and
// the same truth; WriteFleetFile writes them to a file, and a truth's
// WriteFile reads back as itself.
func TestWriteFleet(t *testing.T) {
	csvData, jsonlData, truth := fleet(t, 300, 7)
	opts := audit.FleetOptions{Installs: 300, Seed: 7, Now: fleetNow}
	dir := t.TempDir()
	for asCSV, want := range map[bool][]byte{true: csvData, false: jsonlData} {
		var buf bytes.Buffer
		got, err := audit.WriteFleet(opts, &buf, asCSV)
		require.NoError(t, err)
		require.Equal(t, truth, got)
		require.Equal(t, string(want), buf.String(), "csv %v", asCSV)

		path := filepath.Join(dir, "fleet")
		got, err = audit.WriteFleetFile(opts, path, asCSV)
		require.NoError(t, err)
		require.Equal(t, truth, got)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, string(want), string(data))
	}
	_, err := audit.WriteFleetFile(opts, filepath.Join(dir, "missing", "fleet.csv"), true)
	require.Error(t, err)

	path := filepath.Join(dir, "truth.json")
	require.NoError(t, truth.WriteFile(path))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var back audit.Truth
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, truth.Rows, back.Rows)
	require.Equal(t, truth.Classes, back.Classes)
	require.True(t, truth.Now.Equal(back.Now))
}
