package sqlite

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes the report for people, as vitalsync doctor prints it:
// a line per check, then a line per problem and its fix.
func (r HealthReport) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "database\t%q\n", r.Path)
	fmt.Fprintf(tw, "size\t%d bytes (WAL %d bytes)\n", r.SizeBytes, r.WALBytes)
	fmt.Fprintf(tw, "kind\t%s\n", orDash(r.DBKind))
	fmt.Fprintf(tw, "schema\tversion %d (this program knows %d)\n", r.SchemaVersion, r.KnownVersion)
	fmt.Fprintf(tw, "key\t%s\n", orDash(r.Key))
	var counts []string
	for _, t := range slices.Sorted(maps.Keys(r.Rows)) {
		counts = append(counts, fmt.Sprintf("%s %d", t, r.Rows[t]))
	}
	fmt.Fprintf(tw, "rows\t%s\n", orDash(strings.Join(counts, ", ")))
	hist := fmt.Sprintf("%d events, %d installations, at most %d per installation (limit %d, max age %s)",
		r.History.Events, r.History.Installations, r.History.MaxPerInstallation,
		r.History.LimitPerInstallation, r.History.MaxAge)
	if r.History.Oldest != nil {
		hist += ", oldest " + r.History.Oldest.Format(time.RFC3339)
	}
	fmt.Fprintf(tw, "history\t%s\n", hist)
	if r.Healthy {
		fmt.Fprintf(tw, "result\thealthy\n")
	} else {
		fmt.Fprintf(tw, "result\tproblems: %d\n", len(r.Problems))
	}
	for _, p := range r.Problems {
		fmt.Fprintf(tw, "problem\t%s (%s): %q\n", p.Check, p.Kind, p.Message)
		if p.Fix != "" {
			fmt.Fprintf(tw, "fix\t%s\n", p.Fix)
		}
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
