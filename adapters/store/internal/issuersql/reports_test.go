package issuersql

import (
	"slices"
	"strings"
	"testing"
)

// Updates sets every column but the key, each to its excluded value, in
// the order of Columns.
func TestUpdatesSetsEveryColumnButTheKey(t *testing.T) {
	var cols []string
	for _, c := range strings.Split(Columns, ",") {
		cols = append(cols, strings.TrimSpace(c))
	}
	if cols[0] != "installation_id" {
		t.Fatalf("the first column is %q, not the key", cols[0])
	}
	var set []string
	for _, a := range strings.Split(Updates, ",") {
		col, val, ok := strings.Cut(strings.TrimSpace(a), " = ")
		if !ok || val != "excluded."+col {
			t.Fatalf("assignment %q does not set a column to its excluded value", a)
		}
		set = append(set, col)
	}
	if !slices.Equal(set, cols[1:]) {
		t.Fatalf("Updates sets %v, want %v", set, cols[1:])
	}
}
