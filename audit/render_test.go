package audit

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/vitalsync/vitalsync/reconcile"
)

// The table lists the classes worst first and skips empty ones; the CSV
// has one row per count, under kind,profile,key,count.
func TestWriteSummary(t *testing.T) {
	s := Summary{Rows: 3, Classes: map[Class]int64{Class(reconcile.Consistent): 2, Invalid: 1},
		ByProfile: map[string]map[Class]int64{"ios-1.8": {Class(reconcile.Consistent): 2}},
		Actions:   map[reconcile.ActionType]int64{reconcile.TypeSignOut: 1}}
	var b bytes.Buffer
	if err := WriteSummaryTable(&b, s); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "rows") || strings.Index(out, string(Invalid)) > strings.Index(out, string(Class(reconcile.Consistent))) {
		t.Errorf("table:\n%s", out)
	}
	b.Reset()
	if err := WriteSummaryCSV(&b, s); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"kind", "profile", "key", "count"}, {"rows", "", "", "3"}}
	if len(rows) != 6 || rows[0][0] != want[0][0] || rows[1][3] != want[1][3] || rows[4][1] != "ios-1.8" || rows[5][0] != "action" {
		t.Errorf("CSV rows %v", rows)
	}
}
