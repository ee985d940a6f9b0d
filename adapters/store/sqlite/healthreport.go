package sqlite

import (
	"errors"
	"time"
)

// HealthReport is a Health as JSON, as vitalsync doctor --format json
// prints it; the field names are stable.
type HealthReport struct {
	Path          string           `json:"path"`
	Healthy       bool             `json:"healthy"`
	SizeBytes     int64            `json:"size_bytes"`
	WALBytes      int64            `json:"wal_bytes"`
	DBKind        string           `json:"kind"`
	SchemaVersion int              `json:"schema_version"`
	KnownVersion  int              `json:"known_schema_version"`
	Key           string           `json:"key"`
	Rows          map[string]int64 `json:"rows"`
	History       HistoryReport    `json:"history"`
	Problems      []ProblemReport  `json:"problems"`
}

// HistoryReport is HistoryStats with the bounds SaveJournal keeps the
// history within.
type HistoryReport struct {
	Events               int64      `json:"events"`
	Installations        int64      `json:"installations"`
	MaxPerInstallation   int64      `json:"max_per_installation"`
	Oldest               *time.Time `json:"oldest"` // nil: no event
	LimitPerInstallation int        `json:"limit_per_installation"`
	MaxAge               string     `json:"max_age"`
}

// ProblemReport is one Problem: Kind is ProblemKind's name for the error's
// class, Message the error.
type ProblemReport struct {
	Check   string `json:"check"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
	// Fix, when set, is the command that repairs the problem.
	Fix string `json:"fix,omitempty"`
}

// problemKinds name the package's sentinels, in the order they are tried.
var problemKinds = []struct {
	err  error
	kind string
}{
	{ErrNotFile, "not-a-file"},
	{ErrNotWritable, "not-writable"},
	{ErrNotDatabase, "not-a-database"},
	{ErrMixedFile, "mixed"},
	{ErrNewerSchema, "newer-schema"},
	{ErrMissingKey, "missing-key"},
	{ErrBadKey, "bad-key"},
	{ErrCorrupt, "corrupt"},
}

// ProblemKind is the stable name of a problem's class: "not-a-file",
// "not-writable", "not-a-database", "mixed", "newer-schema", "missing-key",
// "bad-key", "corrupt", or "error" for any other error.
func ProblemKind(err error) string {
	for _, k := range problemKinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return "error"
}

// Report returns h as a HealthReport. fix, when not nil, returns the
// command that repairs a problem, "" for none.
func (h *Health) Report(fix func(Problem) string) HealthReport {
	rep := HealthReport{
		Path: h.Path, Healthy: h.OK(), SizeBytes: h.Size, WALBytes: h.WALSize,
		DBKind: h.Kind, SchemaVersion: h.SchemaVersion, KnownVersion: h.KnownVersion, Key: string(h.Key), Rows: h.Rows,
		History: HistoryReport{
			Events: h.History.Events, Installations: h.History.Installations, MaxPerInstallation: h.History.MaxPerInstall,
			LimitPerInstallation: HistoryMaxEvents, MaxAge: HistoryMaxAge.String(),
		},
		Problems: []ProblemReport{},
	}
	if !h.History.Oldest.IsZero() {
		oldest := h.History.Oldest
		rep.History.Oldest = &oldest
	}
	for _, p := range h.Problems {
		pr := ProblemReport{Check: p.Check, Kind: ProblemKind(p.Err), Message: p.Err.Error()}
		if fix != nil {
			pr.Fix = fix(p)
		}
		rep.Problems = append(rep.Problems, pr)
	}
	return rep
}
