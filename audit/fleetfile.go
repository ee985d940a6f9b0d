package audit

import "io"

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
