package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// CSVFile is the reports in the CSV file at path.
func CSVFile(path string) CSVSource { return CSVSource{Label: path, Open: openFile(path)} }

// JSONLFile is the reports in the JSON Lines file at path.
func JSONLFile(path string) JSONLSource { return JSONLSource{Label: path, Open: openFile(path)} }

func openFile(path string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return os.Open(path) }
}

// CreateFindingFile creates the file at path for a Run's findings
// (FindingWriter): CSV when its name ends in .csv, JSON Lines otherwise.
// The returned close flushes and closes it; after the first call it does
// nothing, so it may be deferred as well as called to see its error.
func CreateFindingFile(path string) (Sink, func() error, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	sink, flush := FindingWriter(f, strings.HasSuffix(path, ".csv"))
	closed := false
	return sink, func() error {
		if closed {
			return nil
		}
		closed = true
		return errors.Join(flush(), f.Close())
	}, nil
}

// ParseShard parses "K/N", shard K (from 0) of N, for Options.Shard and
// Options.Shards.
func ParseShard(s string) (k, n int, ok bool) {
	a, b, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 0 || k >= n {
		return 0, 0, false
	}
	return k, n, true
}

// ParseClasses parses a comma-separated list of classes ("" is none).
func ParseClasses(s string) ([]Class, error) {
	if s == "" {
		return nil, nil
	}
	var cs []Class
	for _, name := range strings.Split(s, ",") {
		c, ok := ParseClass(strings.TrimSpace(name))
		if !ok {
			return nil, fmt.Errorf("unknown class %q", name)
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// ErrTruthFile is ParseSummary's error for a fleet's ground truth (Truth,
// which fleet generation writes beside a fleet).
var ErrTruthFile = errors.New("a fleet's ground truth, not an audit summary")

// ErrNotSummary is ParseSummary's error for data that is no JSON Summary.
var ErrNotSummary = errors.New("not a JSON summary of an audit")

// ParseSummary decodes a Summary as JSON (an audit's, of a shard to
// Merge).
func ParseSummary(data []byte) (Summary, error) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) == nil && fields["seed"] != nil {
		return Summary{}, ErrTruthFile
	}
	var s Summary
	if err := json.Unmarshal(data, &s); err != nil || fields["rows"] == nil {
		return Summary{}, ErrNotSummary
	}
	return s, nil
}
