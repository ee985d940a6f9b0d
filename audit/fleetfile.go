package audit

import (
	"encoding/json"
	"io"
	"os"
)

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
