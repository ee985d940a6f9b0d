package simulations

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

// An integer prints as an integer, a fraction in plain decimals, seconds as
// whole seconds.
func TestRenderNumbers(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{num(1.1613069e+07), "11613069"}, {num(84.7), "84.7"}, {num(0), "0"}, {num(100), "100"},
		{num(0.152), "0.152"}, {secs(451644.6), "451645"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// The CSV has a row per strategy under ReportColumns; the table names the
// engine's broken invariant a FAILURE and another strategy's a finding.
func TestRenderReport(t *testing.T) {
	rep := &FleetReport{Seed: 7, Installs: 2, Launches: 3, Strategies: []StrategyStats{
		{Name: (Engine{}).Name(), ConsistentPct: 50, ViolationCount: 2,
			Violations: []Violation{{Kind: "wrong-user", Install: 1}, {Kind: "wrong-user", Install: 0}}},
		{Name: "every-launch", ConsistentPct: 100},
	}}
	var b bytes.Buffer
	if err := WriteReportCSV(&b, rep); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 3 || len(rows[0]) != len(ReportColumns) || rows[1][1] != "50" || rows[2][0] != "every-launch" {
		t.Fatalf("CSV %v, %v", rows, err)
	}
	b.Reset()
	if err := WriteReportTable(&b, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"seed 7: 2 installations × 3 launches", "FAILURE: engine broke 2 invariant(s): wrong-user (e.g. installation 1)"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "finding:") {
		t.Errorf("a strategy without violations has a finding:\n%s", out)
	}
}
