package audit

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteSummaryTable writes a summary for people: the rows, the classes
// worst first, the classes per profile, the planned actions, the time.
func WriteSummaryTable(w io.Writer, s Summary) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "rows\t%d\t\n\t\t\nclass\tinstallations\t\n", s.Rows)
	for _, c := range Classes() {
		if v := s.Classes[c]; v > 0 {
			fmt.Fprintf(tw, "%s\t%d\t\n", c, v)
		}
	}
	fmt.Fprintf(tw, "\t\t\nprofile\tclass\tinstallations\t\n")
	for _, p := range sortedKeys(s.ByProfile) {
		for _, c := range Classes() {
			if v := s.ByProfile[p][c]; v > 0 {
				fmt.Fprintf(tw, "%s\t%s\t%d\t\n", p, c, v)
			}
		}
	}
	fmt.Fprintf(tw, "\t\t\naction\tplanned\t\n")
	for _, a := range sortedKeys(s.Actions) {
		fmt.Fprintf(tw, "%s\t%d\t\n", a, s.Actions[a])
	}
	fmt.Fprintf(tw, "\t\t\nseconds\t%.2f\t\nrows/s\t%.0f\t\n", s.Seconds, s.RowsPerSecond)
	return tw.Flush()
}

// WriteSummaryCSV writes a summary as CSV rows of kind,profile,key,count:
// the rows, the classes, the classes per profile, the planned actions.
func WriteSummaryCSV(w io.Writer, s Summary) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"kind", "profile", "key", "count"})
	_ = cw.Write([]string{"rows", "", "", strconv.FormatInt(s.Rows, 10)})
	for _, c := range Classes() {
		if v := s.Classes[c]; v > 0 {
			_ = cw.Write([]string{"class", "", string(c), strconv.FormatInt(v, 10)})
		}
	}
	for _, p := range sortedKeys(s.ByProfile) {
		for _, c := range Classes() {
			if v := s.ByProfile[p][c]; v > 0 {
				_ = cw.Write([]string{"class", p, string(c), strconv.FormatInt(v, 10)})
			}
		}
	}
	for _, a := range sortedKeys(s.Actions) {
		_ = cw.Write([]string{"action", "", string(a), strconv.FormatInt(s.Actions[a], 10)})
	}
	cw.Flush()
	return cw.Error()
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// FindingWriter returns a Sink writing findings to w, buffered, as JSON
// Lines or as CSV with a header, and the function that writes out the
// rest.
func FindingWriter(w io.Writer, asCSV bool) (Sink, func() error) {
	if !asCSV {
		bw := bufio.NewWriterSize(w, 64<<10)
		enc := json.NewEncoder(bw)
		return func(f *Finding) error { return enc.Encode(f) }, bw.Flush
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"installation_id", "line", "profile", "class", "classes", "actions", "reason"})
	return func(f *Finding) error {
			classes := make([]string, len(f.Classes))
			for i, c := range f.Classes {
				classes[i] = string(c)
			}
			return cw.Write([]string{f.InstallationID, strconv.FormatInt(f.Line, 10), f.Profile, string(f.Class),
				strings.Join(classes, ","), ActionsString(f.Actions), f.Reason})
		}, func() error {
			cw.Flush()
			return cw.Error()
		}
}

// LoadFleet generates a fleet (GenerateFleet) straight into a database's
// bulk load (the SQLite and PostgreSQL stores' LoadFleet), the generator
// running beside the load, and returns its ground truth.
func LoadFleet(ctx context.Context, opts FleetOptions, load func(ctx context.Context, next func() ([]string, bool)) error) (Truth, error) {
	recs := make(chan []string, 1024)
	done := make(chan error, 1)
	var truth Truth
	go func() {
		var err error
		truth, err = GenerateFleet(opts, func(rec []string) error {
			recs <- append([]string(nil), rec...)
			return nil
		})
		close(recs)
		done <- err
	}()
	loadErr := load(ctx, func() ([]string, bool) {
		rec, ok := <-recs
		return rec, ok
	})
	for range recs { // drain after a failed load
	}
	if err := <-done; err != nil {
		return truth, err
	}
	return truth, loadErr
}
