package audit_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/audit"
)

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
