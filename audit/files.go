package audit

import (
	"encoding/json"
	"errors"
	"io"
	"os"
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

// WriteFleet generates a fleet (GenerateFleet) to w in the report schema,
// as CSV when asCSV is set and as JSON Lines otherwise, and returns its
// ground truth.
func WriteFleet(opts FleetOptions, w io.Writer, asCSV bool) (Truth, error) {
	var rw interface {
		Write([]string) error
		Flush() error
	} = NewJSONLWriter(w)
	if asCSV {
		rw = NewCSVWriter(w)
	}
	truth, err := GenerateFleet(opts, rw.Write)
	if err != nil {
		return truth, err
	}
	return truth, rw.Flush()
}

// WriteFleetFile is WriteFleet to a new file at path.
func WriteFleetFile(opts FleetOptions, path string, asCSV bool) (Truth, error) {
	f, err := os.Create(path)
	if err != nil {
		return Truth{}, err
	}
	defer f.Close()
	truth, err := WriteFleet(opts, f, asCSV)
	if err != nil {
		return truth, err
	}
	return truth, f.Close()
}

// WriteFile writes the truth to a file at path as indented JSON.
func (t Truth) WriteFile(path string) error {
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
