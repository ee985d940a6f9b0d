package audit

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// Row is one installation's report joined with the backend's current
// mapping of its app user: the public report schema (docs/reference/report-schema.md). A
// source hands a Row to the audit for the duration of one call only: its
// strings may point into the source's read buffer.
type Row struct {
	// Line is the row's 1-based line in a file (the header is line 1 of a
	// CSV file), or its ordinal in a database; it names invalid rows.
	Line int64
	// InstallationID, Platform and SDKVersion say which SDK release the
	// installation runs; Profile, when not empty, overrides the profile
	// fsm.ProfileFor derives from them.
	InstallationID, Platform, SDKVersion, Profile string
	// The app's session.
	AppSignedIn               bool
	AppUserID, AppVitalUserID string
	AppEnvironment            fsm.Environment
	AppRegion                 fsm.Region
	// What the SDK said.
	SDKStatus        fsm.Status
	SDKCurrentUserID string
	SDKEnvironment   fsm.Environment
	SDKRegion        fsm.Region
	// The launch task's journal.
	LastObserved  fsm.State
	LastError     reconcile.SDKError
	NextAttemptAt time.Time
	// ReportedAt is when the installation took the report.
	ReportedAt time.Time
	// MappedVitalUserID is the backend's current (active) mapping of the
	// app user; "" when it has none.
	MappedVitalUserID string
	// Err is set when the row is malformed (a *RowError): the audit counts
	// it as invalid, names it, and goes on.
	Err error
}

// The report schema's columns, in the order of Columns.
const (
	colInstallationID = iota
	colPlatform
	colSDKVersion
	colProfile
	colAppSignedIn
	colAppUserID
	colAppVitalUserID
	colAppEnvironment
	colAppRegion
	colSDKStatus
	colSDKCurrentUserID
	colSDKEnvironment
	colSDKRegion
	colLastObserved
	colLastError
	colNextAttemptAt
	colReportedAt
	colMappedVitalUserID
	numColumns
)

var columns = [numColumns]string{
	"installation_id", "platform", "sdk_version", "profile", "app_signed_in", "app_user_id",
	"app_vital_user_id", "app_environment", "app_region", "sdk_status", "sdk_current_user_id",
	"sdk_environment", "sdk_region", "last_observed", "last_error", "next_attempt_at", "reported_at",
	"mapped_vital_user_id",
}

// Columns returns the report schema's column names, in the order a record
// (RecordSource) holds them. Every column but profile is required in a file.
func Columns() []string { return append([]string(nil), columns[:]...) }

// optional reports whether a column may be absent from a file.
func optional(col int) bool { return col == colProfile }

// Errors before the first row.
var (
	// ErrMissingColumn: a required column is absent (a *SchemaError names it).
	ErrMissingColumn = errors.New("audit: missing column")
	// ErrDuplicateColumn: a column appears twice in a header.
	ErrDuplicateColumn = errors.New("audit: duplicate column")
	// ErrEmptySource: a file has no header.
	ErrEmptySource = errors.New("audit: no header")
)

// SchemaError names the column a source's schema lacks or repeats.
type SchemaError struct {
	Source string
	Column string
	Err    error
}

// Error names the source and column.
func (e *SchemaError) Error() string { return e.Source + ": " + e.Err.Error() + " " + e.Column }

// Unwrap returns the kind: ErrMissingColumn or ErrDuplicateColumn.
func (e *SchemaError) Unwrap() error { return e.Err }

// ErrInvalidRow is matched by every *RowError.
var ErrInvalidRow = errors.New("audit: invalid row")

// RowError says why a row is malformed: the column and what is wrong. It
// never quotes a value.
type RowError struct {
	Column string
	Reason string
}

// Error names the column.
func (e *RowError) Error() string {
	if e.Column == "" {
		return e.Reason
	}
	return e.Column + ": " + e.Reason
}

// Is matches ErrInvalidRow.
func (e *RowError) Is(target error) bool { return target == ErrInvalidRow }

func rowErr(col int, reason string) error {
	if col < 0 {
		return &RowError{Reason: reason}
	}
	return &RowError{Column: columns[col], Reason: reason}
}

// parseFields fills r from its columns' text (absent optional columns
// are ""), and returns the first malformed field's error.
func parseFields(f *[numColumns]string, r *Row) error { return parseFieldsIn(f, r, false) }

// parseFieldsIn is parseFields, with the time fields in decimal Unix
// nanoseconds when nanos is set (RecordSource.UnixNanos).
func parseFieldsIn(f *[numColumns]string, r *Row, nanos bool) error {
	r.InstallationID = f[colInstallationID]
	if r.InstallationID == "" {
		return rowErr(colInstallationID, "empty")
	}
	for _, col := range textColumns {
		if !cleanText(f[col]) {
			if col == colInstallationID {
				r.InstallationID = "" // never shown
			}
			return rowErr(col, "holds a control character or invalid UTF-8")
		}
	}
	r.Platform, r.SDKVersion, r.Profile = f[colPlatform], f[colSDKVersion], f[colProfile]
	switch f[colAppSignedIn] {
	case "true", "1":
		r.AppSignedIn = true
	case "false", "0", "":
		r.AppSignedIn = false
	default:
		return rowErr(colAppSignedIn, "not a boolean")
	}
	r.AppUserID, r.AppVitalUserID = f[colAppUserID], f[colAppVitalUserID]
	var ok bool
	if r.AppEnvironment, ok = parseEnv(f[colAppEnvironment]); !ok {
		return rowErr(colAppEnvironment, "unknown environment")
	}
	if r.AppRegion, ok = parseRegion(f[colAppRegion]); !ok {
		return rowErr(colAppRegion, "unknown region")
	}
	if r.SDKStatus, ok = parseStatus(f[colSDKStatus]); !ok {
		return rowErr(colSDKStatus, "unknown flag")
	}
	r.SDKCurrentUserID = f[colSDKCurrentUserID]
	if r.SDKEnvironment, ok = parseEnv(f[colSDKEnvironment]); !ok {
		return rowErr(colSDKEnvironment, "unknown environment")
	}
	if r.SDKRegion, ok = parseRegion(f[colSDKRegion]); !ok {
		return rowErr(colSDKRegion, "unknown region")
	}
	if s := f[colLastObserved]; s != "" {
		if r.LastObserved, ok = fsm.ParseState(s); !ok {
			return rowErr(colLastObserved, "unknown state")
		}
	} else {
		r.LastObserved = ""
	}
	if r.LastError, ok = parseSDKError(f[colLastError]); !ok {
		return rowErr(colLastError, "unknown SDK error")
	}
	parseT, what := parseTime, "not an RFC 3339 time"
	if nanos {
		parseT, what = parseNanos, "not Unix nanoseconds"
	}
	if r.NextAttemptAt, ok = parseT(f[colNextAttemptAt]); !ok {
		return rowErr(colNextAttemptAt, what)
	}
	if !inRange(r.NextAttemptAt) {
		return rowErr(colNextAttemptAt, "out of range (1970 to 2200)")
	}
	if f[colReportedAt] == "" {
		return rowErr(colReportedAt, "empty")
	}
	if r.ReportedAt, ok = parseT(f[colReportedAt]); !ok {
		return rowErr(colReportedAt, what)
	}
	if !inRange(r.ReportedAt) {
		return rowErr(colReportedAt, "out of range (1970 to 2200)")
	}
	r.MappedVitalUserID = f[colMappedVitalUserID]
	return nil
}

// textColumns are the free-text columns, which must be UTF-8 without
// control characters (the issuer refuses others; a file or a loaded store
// may hold them): every source then gives the same row.
var textColumns = [...]int{colInstallationID, colPlatform, colSDKVersion, colProfile, colAppUserID,
	colAppVitalUserID, colSDKCurrentUserID, colMappedVitalUserID}

// cleanText reports whether s is valid UTF-8 without control characters
// (C0, DEL, C1), eight ASCII bytes at a time first.
func cleanText(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		b := s[i : i+8] // one bounds check, and one load
		w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		if w&highBits != 0 {
			return cleanUnicode(s[i:]) // bytes before i are ASCII: i starts a rune
		}
		// With every byte below 0x80, the borrow trick finds a byte below
		// 0x20, and one equal to 0x7f (a zero byte of w^0x7f…).
		if (w-lowBytes*0x20)&^w&highBits != 0 || ((w^(lowBytes*0x7f))-lowBytes)&^(w^(lowBytes*0x7f))&highBits != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c >= 0x80 {
			return cleanUnicode(s[i:])
		}
	}
	return true
}

// The bytes of a word: each byte's high bit, and each byte 1.
const (
	highBits = 0x8080808080808080
	lowBytes = 0x0101010101010101
)

func cleanUnicode(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return false
		}
	}
	return true
}

// The range of times a row may hold: as the issuer's stores (1970 to
// 2200), so that a time no store can keep is refused the same way by every
// source. The zero time (none) passes.
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

func inRange(t time.Time) bool { return t.IsZero() || (!t.Before(minTime) && t.Before(maxTime)) }

func parseEnv(s string) (fsm.Environment, bool) {
	if s == "" {
		return "", true
	}
	return fsm.ParseEnvironment(s)
}

func parseRegion(s string) (fsm.Region, bool) {
	if s == "" {
		return "", true
	}
	return fsm.ParseRegion(s)
}

// parseSDKError is reconcile.ParseSDKError, with the common values first.
func parseSDKError(s string) (reconcile.SDKError, bool) {
	switch e := reconcile.SDKError(s); e {
	case reconcile.NoSDKError, reconcile.ErrNetwork:
		return e, true
	}
	return reconcile.ParseSDKError(s)
}

// parseStatus parses comma-separated flag names ("" is none), with the
// combinations SDKs report on the fast path.
func parseStatus(s string) (fsm.Status, bool) {
	switch s {
	case "":
		return 0, true
	case "configured":
		return fsm.FlagConfigured, true
	case "configured,signedIn,useSignInToken":
		return fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseSignInToken, true
	case "configured,signedIn,useApiKey":
		return fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseAPIKey, true
	}
	var st fsm.Status
	for s != "" {
		name, rest, _ := strings.Cut(s, ",")
		f, ok := fsm.ParseFlag(strings.TrimSpace(name))
		if !ok {
			return 0, false
		}
		st |= f
		s = rest
	}
	return st, true
}

// parseTime parses an RFC 3339 time ("" is the zero time). The common
// form, "2006-01-02T15:04:05Z", takes a fast path.
func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	if len(s) == 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == 'Z' {
		y, ok1 := digits(s[0:4])
		mo, ok2 := digits(s[5:7])
		d, ok3 := digits(s[8:10])
		h, ok4 := digits(s[11:13])
		mi, ok5 := digits(s[14:16])
		se, ok6 := digits(s[17:19])
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(mo, y) &&
			h < 24 && mi < 60 && se < 60 {
			return time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC), true
		}
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// describe renders a row error with where it was found.
func describe(src string, r *Row) string {
	where := fmt.Sprintf("%s line %d", src, r.Line)
	if r.InstallationID != "" {
		where += " (installation " + r.InstallationID + ")"
	}
	return where + ": " + r.Err.Error()
}
