package audit_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/audit"
)

// WriteFleet writes the rows GenerateFleet emits, in either format, and
// the same truth.
func TestWriteFleet(t *testing.T) {
	csvData, jsonlData, truth := fleet(t, 300, 7)
	for asCSV, want := range map[bool][]byte{true: csvData, false: jsonlData} {
		var buf bytes.Buffer
		got, err := audit.WriteFleet(audit.FleetOptions{Installs: 300, Seed: 7, Now: fleetNow}, &buf, asCSV)
		require.NoError(t, err)
		require.Equal(t, truth, got)
		require.Equal(t, string(want), buf.String(), "csv %v", asCSV)
	}
}
