package issuer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// PathInstallationReport is the route installations send their reports to.
const PathInstallationReport = "/v1/installation-report"

// Report is one installation's report of its state: the app's session, what
// the SDK says, and what the launch task last saw and did. Its JSON form is
// the public report schema (docs/reference/report-schema.md): the body of POST
// /v1/installation-report and one line of an audit's JSONL input.
type Report struct {
	// InstallationID names the installation; required.
	InstallationID string
	// Platform is "ios" or "android", and SDKVersion the SDK's release
	// ("1.8.1"); both required.
	Platform   fsm.Platform
	SDKVersion string
	// Profile is derived from Platform and SDKVersion by fsm.ProfileFor;
	// "" when no profile models that release (the report is stored and an
	// audit counts it as unknown-profile).
	Profile string
	// The app's session.
	AppSignedIn    bool
	AppUserID      string
	AppVitalUserID string
	AppEnvironment fsm.Environment
	AppRegion      fsm.Region
	// What the SDK reports.
	SDKStatus        fsm.Status
	SDKCurrentUserID string
	SDKEnvironment   fsm.Environment
	SDKRegion        fsm.Region
	// The launch task's journal: the state it last observed, the SDK error
	// its last action met, and when a backed-off attempt is due (zero:
	// none).
	LastObserved  fsm.State
	LastError     reconcile.SDKError
	NextAttemptAt time.Time
	// ReportedAt is when the installation took the report; required. The
	// latest report per installation wins.
	ReportedAt time.Time
}

// wireReport is the report's JSON form. Pointers mark required fields.
type wireReport struct {
	InstallationID   *string  `json:"installation_id"`
	Platform         *string  `json:"platform"`
	SDKVersion       *string  `json:"sdk_version"`
	Profile          string   `json:"profile,omitempty"`
	AppSignedIn      *bool    `json:"app_signed_in"`
	AppUserID        string   `json:"app_user_id,omitempty"`
	AppVitalUserID   string   `json:"app_vital_user_id,omitempty"`
	AppEnvironment   string   `json:"app_environment,omitempty"`
	AppRegion        string   `json:"app_region,omitempty"`
	SDKStatus        []string `json:"sdk_status"`
	SDKCurrentUserID string   `json:"sdk_current_user_id,omitempty"`
	SDKEnvironment   string   `json:"sdk_environment,omitempty"`
	SDKRegion        string   `json:"sdk_region,omitempty"`
	LastObserved     string   `json:"last_observed,omitempty"`
	LastError        string   `json:"last_error,omitempty"`
	NextAttemptAt    *string  `json:"next_attempt_at,omitempty"`
	ReportedAt       *string  `json:"reported_at"`
}

// ReportFieldError names the field of a report that is missing, unknown or
// has a value that does not parse. It matches ErrBadReport.
type ReportFieldError struct {
	Field string
	Err   error
}

// Error names the field; it never quotes a user ID.
func (e *ReportFieldError) Error() string { return "report: " + e.Field + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *ReportFieldError) Unwrap() error { return e.Err }

// Is matches ErrBadReport.
func (e *ReportFieldError) Is(target error) bool { return target == ErrBadReport }

// ErrBadReport is matched (errors.Is) by every *ReportFieldError.
var ErrBadReport = errors.New("invalid installation report")

func reportErr(field, format string, args ...any) error {
	return &ReportFieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// MarshalJSON encodes r in the public report schema.
func (r Report) MarshalJSON() ([]byte, error) {
	id, pf, ver := r.InstallationID, string(r.Platform), r.SDKVersion
	rep := r.ReportedAt.UTC().Format(time.RFC3339Nano)
	w := wireReport{InstallationID: &id, Platform: &pf, SDKVersion: &ver, Profile: r.Profile,
		AppSignedIn: &r.AppSignedIn, AppUserID: r.AppUserID, AppVitalUserID: r.AppVitalUserID,
		AppEnvironment: string(r.AppEnvironment), AppRegion: string(r.AppRegion),
		SDKStatus: r.SDKStatus.Names(), SDKCurrentUserID: r.SDKCurrentUserID,
		SDKEnvironment: string(r.SDKEnvironment), SDKRegion: string(r.SDKRegion),
		LastObserved: string(r.LastObserved), LastError: string(r.LastError), ReportedAt: &rep}
	if !r.NextAttemptAt.IsZero() {
		t := r.NextAttemptAt.UTC().Format(time.RFC3339Nano)
		w.NextAttemptAt = &t
	}
	return json.Marshal(w)
}

// DecodeReport decodes one report strictly: an unknown field (keys match
// exactly: "INSTALLATION_ID" is unknown), a key given twice, a missing
// required one, a value of the wrong type or one that does not parse, and
// trailing data are a *ReportFieldError naming the field. The profile is
// derived from the platform and version (a "profile" field, when present,
// must agree with them). The report is checked by Validate.
func DecodeReport(data []byte) (Report, error) {
	if err := checkReportKeys(data); err != nil {
		return Report{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var w wireReport
	if err := dec.Decode(&w); err != nil {
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &ute):
			return Report{}, reportErr(orDocument(ute.Field), "wrong type: got JSON %s", ute.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return Report{}, reportErr(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "unknown field")
		}
		return Report{}, reportErr("(document)", "not a JSON object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Report{}, reportErr("(document)", "trailing data after the report")
	}
	return w.report()
}

// reportKeys are the report's JSON keys, exactly as the schema spells them.
var reportKeys = func() map[string]bool {
	keys := map[string]bool{}
	t := reflect.TypeFor[wireReport]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys[name] = true
	}
	return keys
}()

// checkReportKeys refuses a top-level key that is not the schema's exact
// spelling (encoding/json would match it case-insensitively) and a key
// given twice (encoding/json would keep the last). Anything else that does
// not parse is left to the decoder's own errors.
func checkReportKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	seen := make(map[string]bool, len(reportKeys))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, ok := tok.(string)
		if !ok {
			return nil
		}
		switch {
		case !reportKeys[key]:
			return reportErr(printableKey(key), "unknown field")
		case seen[key]:
			return reportErr(key, "given twice")
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}

// printableKey is an unknown key as an error may name it: bounded, without
// control characters.
func printableKey(k string) string {
	var b strings.Builder
	for _, r := range k {
		if b.Len() >= 64 {
			b.WriteString("…")
			break
		}
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func orDocument(field string) string {
	if field == "" {
		return "(document)"
	}
	return field
}

func (w *wireReport) report() (Report, error) {
	var r Report
	switch {
	case w.InstallationID == nil:
		return r, reportErr("installation_id", "required")
	case w.Platform == nil:
		return r, reportErr("platform", "required")
	case w.SDKVersion == nil:
		return r, reportErr("sdk_version", "required")
	case w.AppSignedIn == nil:
		return r, reportErr("app_signed_in", "required")
	case w.SDKStatus == nil:
		return r, reportErr("sdk_status", "required (use [] for none)")
	case w.ReportedAt == nil:
		return r, reportErr("reported_at", "required")
	}
	r.InstallationID, r.Platform, r.SDKVersion = *w.InstallationID, fsm.Platform(*w.Platform), *w.SDKVersion
	r.AppSignedIn, r.AppUserID, r.AppVitalUserID = *w.AppSignedIn, w.AppUserID, w.AppVitalUserID
	r.SDKCurrentUserID = w.SDKCurrentUserID
	r.AppEnvironment, r.AppRegion = fsm.Environment(w.AppEnvironment), fsm.Region(w.AppRegion)
	r.SDKEnvironment, r.SDKRegion = fsm.Environment(w.SDKEnvironment), fsm.Region(w.SDKRegion)
	for _, c := range []struct {
		field, unknown string
		known          bool
	}{
		{"app_environment", "unknown environment", r.AppEnvironment.KnownOrNone()},
		{"app_region", "unknown region", r.AppRegion.KnownOrNone()},
		{"sdk_environment", "unknown environment", r.SDKEnvironment.KnownOrNone()},
		{"sdk_region", "unknown region", r.SDKRegion.KnownOrNone()},
	} {
		if !c.known {
			return Report{}, reportErr(c.field, "%s", c.unknown)
		}
	}
	var ok bool
	for i, name := range w.SDKStatus {
		f, ok := fsm.ParseFlag(name)
		if !ok {
			return r, reportErr(fmt.Sprintf("sdk_status[%d]", i), "unknown flag")
		}
		r.SDKStatus |= f
	}
	if w.LastObserved != "" {
		if r.LastObserved, ok = fsm.ParseState(w.LastObserved); !ok {
			return r, reportErr("last_observed", "unknown state")
		}
	}
	if r.LastError, ok = reconcile.ParseSDKError(w.LastError); !ok {
		return r, reportErr("last_error", "unknown SDK error")
	}
	if w.NextAttemptAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *w.NextAttemptAt)
		if err != nil {
			return r, reportErr("next_attempt_at", "not an RFC 3339 time")
		}
		r.NextAttemptAt = t.UTC()
	}
	t, err := time.Parse(time.RFC3339Nano, *w.ReportedAt)
	if err != nil {
		return r, reportErr("reported_at", "not an RFC 3339 time")
	}
	r.ReportedAt = t.UTC()
	if p, ok := fsm.ProfileFor(r.Platform, r.SDKVersion); ok {
		r.Profile = p.Name
	}
	if w.Profile != "" && w.Profile != r.Profile {
		return r, reportErr("profile", "does not match platform and sdk_version")
	}
	return r, r.Validate()
}

// Validate reports the first field of r that a store must not hold: a
// missing installation ID or report time, a platform other than ios and
// android, an empty SDK version, an app user while the app is signed out
// (or none while it is signed in), an ID that is too long or holds control
// characters, or a flag outside the SDK's set. A version no profile models
// is valid (Profile is then "").
func (r *Report) Validate() error {
	switch {
	case r.InstallationID == "":
		return reportErr("installation_id", "required")
	case r.Platform != fsm.IOS && r.Platform != fsm.Android:
		return reportErr("platform", "must be ios or android")
	case r.SDKVersion == "":
		return reportErr("sdk_version", "required")
	case r.ReportedAt.IsZero():
		return reportErr("reported_at", "required")
	case r.AppSignedIn && r.AppUserID == "":
		return reportErr("app_user_id", "required when app_signed_in is true")
	case !r.AppSignedIn && (r.AppUserID != "" || r.AppVitalUserID != ""):
		return reportErr("app_user_id", "set while app_signed_in is false")
	}
	if CheckTime(r.ReportedAt) != nil {
		return &ReportFieldError{Field: "reported_at", Err: ErrTimeOutOfRange}
	}
	if CheckTime(r.NextAttemptAt) != nil {
		return &ReportFieldError{Field: "next_attempt_at", Err: ErrTimeOutOfRange}
	}
	if s, err := fsm.ParseStatus(r.SDKStatus.Names()); err != nil || s != r.SDKStatus {
		return reportErr("sdk_status", "unknown flag")
	}
	for _, f := range []struct{ name, v string }{
		{"installation_id", r.InstallationID}, {"sdk_version", r.SDKVersion}, {"app_user_id", r.AppUserID},
		{"app_vital_user_id", r.AppVitalUserID}, {"sdk_current_user_id", r.SDKCurrentUserID},
	} {
		if f.v != "" && ValidateAppUserID(f.v) != nil {
			return reportErr(f.name, "too long or holds control characters")
		}
	}
	if p, ok := fsm.ProfileFor(r.Platform, r.SDKVersion); (ok && p.Name != r.Profile) || (!ok && r.Profile != "") {
		return reportErr("profile", "does not match platform and sdk_version")
	}
	return nil
}

// ReportStore keeps the latest report of each installation and each
// installation's binding to an app user; adapters/store/sqlite, adapters/store/postgres
// and adapters/store/memory implement it, and adapters/store/storetest checks them
// against this contract:
//
//   - SubmitReport applies Bind to the installation's stored binding and
//     s, in one transaction with the report's write: a refusal
//     (ErrInstallationBound, ErrStaleSequence) changes nothing; a rebind
//     keeps the replaced binding in the installation's history.
//   - The report is stored as its installation's report unless the stored
//     one was received later (a later ReceivedAt): reports are ordered by
//     the issuer's clock, never by the device's reported_at. An equal time
//     replaces it. It reports whether the report was stored. Times come
//     back in UTC.
//   - A submission that fails Validate is refused with an error matching
//     ErrBadReport (a time out of range also matches ErrTimeOutOfRange),
//     and nothing changes.
//   - A done context yields ctx.Err() and changes nothing.
//   - It is safe for concurrent use, across processes for the stores that
//     share a database.
type ReportStore interface {
	SubmitReport(ctx context.Context, s Submission) (stored bool, err error)
}

// reportAnswer is the answer of POST /v1/installation-report.
type reportAnswer struct {
	Stored bool `json:"stored"`
}

// serveInstallationReport stores the caller's report. The handler has
// already checked that the body's app_user_id, if any, is the caller's.
func (h *Handler) serveInstallationReport(ctx context.Context, r *http.Request, app string) (any, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	rep, err := DecodeReport(data)
	if err != nil {
		return nil, err
	}
	if rep.AppUserID != "" && rep.AppUserID != app {
		return nil, ErrForbidden
	}
	keyHash, seq, err := submissionProof(r)
	if err != nil {
		return nil, err
	}
	now := h.now().UTC()
	if rep.ReportedAt.After(now.Add(MaxReportSkew)) {
		return nil, &ReportFieldError{Field: "reported_at", Err: ErrFutureReport}
	}
	stored, err := h.reports.SubmitReport(ctx, Submission{Report: rep, Caller: app, KeyHash: keyHash, Sequence: seq, ReceivedAt: now})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
			errors.Is(err, ErrInstallationBound) || errors.Is(err, ErrStaleSequence) || errors.Is(err, ErrBadReport) ||
			errors.Is(err, ErrStoreUnavailable) {
			return nil, err
		}
		return nil, &storeError{op: "put report", err: err}
	}
	return reportAnswer{Stored: stored}, nil
}

// SendReport sends rep to the issuer's POST /v1/installation-report and
// says whether the issuer stored it (false: it holds a report of the
// installation received later). rep's app user must be the session's:
// otherwise the issuer answers ErrForbidden. A report that fails Validate
// is not sent. It sends no installation key or sequence: see SendReportFrom.
func (c *Client) SendReport(ctx context.Context, rep Report) (stored bool, err error) {
	return c.SendReportFrom(ctx, rep, nil, 0)
}

// SendReportFrom is SendReport with the installation's key (nil: none) and
// the report's sequence (0: none), which let the issuer rebind the
// installation on a user switch and tell a restored copy of its database
// from the original. An issuer that refuses the installation answers an
// *Error matching ErrInstallationBound (403) or ErrStaleSequence (409).
func (c *Client) SendReportFrom(ctx context.Context, rep Report, key []byte, seq uint64) (stored bool, err error) {
	const op = "installation report"
	if err := rep.Validate(); err != nil {
		return false, &Error{Op: op, Kind: ErrBadRequest, Err: err}
	}
	if key != nil && len(key) != InstallationKeySize {
		return false, &Error{Op: op, Kind: ErrBadRequest, Err: fmt.Errorf("installation key of %d bytes", len(key))}
	}
	body, err := json.Marshal(rep)
	if err != nil {
		return false, &Error{Op: op, Kind: ErrBadRequest, Err: err}
	}
	hdr := http.Header{}
	if key != nil {
		hdr.Set(HeaderInstallationKey, EncodeInstallationKey(key))
	}
	if seq != 0 {
		hdr.Set(HeaderReportSequence, strconv.FormatUint(seq, 10))
	}
	var out reportAnswer
	if err := c.doWith(ctx, op, http.MethodPost, PathInstallationReport, body, &out, hdr); err != nil {
		return false, err
	}
	return out.Stored, nil
}
