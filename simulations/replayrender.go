package simulations

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// RecordColumns are the columns of a replay's CSV (WriteRecordsCSV), one
// row per step; the table (WriteRecordsTable) shows the same values.
var RecordColumns = []string{"step", "time", "input", "before", "after", "actions", "result", "judged", "violations"}

// WriteRecordsJSON writes a replayed run's records as JSON lines, as a
// trace holds them.
func WriteRecordsJSON(w io.Writer, recs []Record) error {
	enc := json.NewEncoder(w)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// WriteRecordsCSV writes a replayed run's records as CSV: RecordColumns,
// then a row per step.
func WriteRecordsCSV(w io.Writer, recs []Record) error {
	cw := csv.NewWriter(w)
	cw.Write(RecordColumns)
	for _, r := range recs {
		cw.Write([]string{strconv.Itoa(r.Index), r.T, describeInput(r, func(s string) string { return s }), r.Before, r.After,
			strings.Join(r.Actions, "; "), r.Result, r.Judged, strings.Join(r.Violations, ",")})
	}
	cw.Flush()
	return cw.Error()
}

// WriteRecordsTable writes a replayed run for people: which installation
// it was, then a row per step. A trace comes from outside: quote is
// applied to the values it names (its profile, users and actions), so that
// one holding a line break or a terminal escape cannot forge rows.
func WriteRecordsTable(w io.Writer, s Solo, recs []Record, quote func(string) string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "seed %d, installation %d, strategy %s, profile %s: %d steps replayed identically\n",
		s.Seed, s.Install, s.Strategy, quote(s.Setup.Profile), len(recs))
	fmt.Fprintln(tw, "step\ttime\tinput\tsdk before → after\tactions\tresult\tjudged\tviolations")
	for _, r := range recs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s → %s\t%s\t%s\t%s\t%s\n", r.Index, r.T, describeInput(r, quote), r.Before, r.After,
			cmp.Or(quote(strings.Join(r.Actions, "; ")), "-"), r.Result, r.Judged, cmp.Or(strings.Join(r.Violations, ","), "-"))
	}
	return tw.Flush()
}

// describeInput summarizes a step's input for a replay's table or CSV.
func describeInput(r Record, quote func(string) string) string {
	var parts []string
	if a := r.Input.App; a != nil {
		parts = append(parts, strings.TrimSpace(a.Kind+" "+quote(a.User)))
	}
	for _, f := range r.Input.Between {
		parts = append(parts, string(f))
	}
	for _, n := range r.Input.Net {
		parts = append(parts, string(n.Kind)+" on request "+strconv.Itoa(n.Skip+1))
	}
	if r.Input.Crash != nil {
		parts = append(parts, "crash before step "+strconv.Itoa(*r.Input.Crash))
	}
	if r.Input.Concurrent {
		parts = append(parts, "second launch task")
	}
	if r.Input.Sync {
		parts = append(parts, "data sync")
	}
	if r.Input.Tail {
		parts = append(parts, "(faults stopped)")
	}
	return cmp.Or(strings.Join(parts, ", "), "-")
}
