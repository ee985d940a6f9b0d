package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
)

// AppSession is the app's own view of its user.
type AppSession struct {
	// SignedIn reports whether an app user is signed in.
	SignedIn bool
	// AppUserID is the app's user ID; empty when signed out.
	AppUserID string
	// VitalUserID is the app user's Vital user, when the app knows it.
	VitalUserID string
	// Environment and Region are the Junction environment the app targets;
	// empty when unknown.
	Environment fsm.Environment
	Region      fsm.Region
}

// SDKObservation is what the SDK reports.
type SDKObservation struct {
	// Status is the SDK's status flag set.
	Status fsm.Status
	// CurrentUserID is the SDK's currentUserId; empty when it has none.
	CurrentUserID string
	// Environment and Region are the SDK's configuration; empty when unknown.
	Environment fsm.Environment
	Region      fsm.Region
}

// Observation is the whole, level-based picture the planner decides from.
type Observation struct {
	// Profile is the SDK line the installation runs.
	Profile fsm.Profile
	// App is the app's session.
	App AppSession
	// SDK is what the SDK reports.
	SDK SDKObservation
	// LastObserved is the state the reconciler persisted at its last
	// observation; empty when unknown.
	LastObserved fsm.State
	// LastAction is the action this launch applied last, whether it
	// succeeded (LastError is NoSDKError) or failed; nil on a launch's
	// first pass.
	LastAction Action
	// LastError is the SDK error LastAction ended with, or one the app
	// recorded between launches (Runner.RecordSDKError); NoSDKError if none.
	LastError SDKError
	// Attempts counts the consecutive failed attempts that ended with
	// LastError.
	Attempts int
	// IssuedVitalUserID is the Vital user the token source last named for
	// the app user (a Resolve's answer, or the user a minted token carries):
	// in this launch, whether or not it is App.VitalUserID, or, kept by the
	// journal from an earlier launch, when it differs from App.VitalUserID;
	// "" otherwise. The token source is the authority: an app may keep the
	// Vital user it was told at sign-in after the backend replaced a
	// deleted one.
	IssuedVitalUserID string
	// UnusedToken is the Vital user of a Sign-In Token the token source
	// minted for the app user in this launch and no SDK call applied (the
	// action it was minted for named another user); "" if there is none. A
	// token action for that user takes it (Reuse) rather than minting one.
	UnusedToken string
	// NextAttemptAt is when a backed-off attempt may run again; zero: now.
	NextAttemptAt time.Time
	// LastResolvedAt is when the token source last named the app user's
	// Vital user (a Resolve or a minted token); zero: never.
	LastResolvedAt time.Time
	// ResolveInterval is how often a profile that cannot detect a deleted
	// user (fsm.Profile.DetectsDeletion false) asks the token source again;
	// zero means DefaultResolveInterval.
	ResolveInterval time.Duration
	// SessionAppUserID is the app user the SDK's current session was signed
	// in for, when the reconciler knows it: its journal's app user, whose
	// Vital user is the SDK's current user, or whose Vital user it has not
	// learned yet (the session was there while it served that user); ""
	// when unknown.
	SessionAppUserID string
	// ProtectedDataUnavailable is set while the device's protected data
	// (the iOS keychain before first unlock, on a background launch) cannot
	// be read: the SDK's status may lie and its calls fail (§10.6).
	ProtectedDataUnavailable bool
	// Now is the observation time.
	Now time.Time
	// AllowAPIKey accepts a matching API-key sign-in as a goal (sandbox
	// evaluation only); by default API-key mode is migrated away from.
	AllowAPIKey bool
}

// FieldError reports an invalid field of an observation, by its JSON path.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return "observation: " + e.Field + ": " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }

// ErrInvalidObservation is matched (errors.Is) by every validation error.
var ErrInvalidObservation = errors.New("invalid observation")

func (e *FieldError) Is(target error) bool { return target == ErrInvalidObservation }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// State classifies the SDK's status on the observation's profile.
func (o *Observation) State() (fsm.State, error) {
	return fsm.Classify(o.SDK.Status, o.LastObserved, o.Profile)
}

// Validate reports the first field that makes the observation impossible.
func (o *Observation) Validate() error {
	if o.Profile.Name == "" {
		return fieldErr("profile", "required")
	}
	if _, ok := fsm.ParseProfile(o.Profile.Name); !ok {
		return fieldErr("profile", "unknown profile %q", o.Profile.Name)
	}
	if o.App.SignedIn && o.App.AppUserID == "" {
		return fieldErr("app.app_user_id", "required when app.signed_in is true")
	}
	if !o.App.SignedIn && (o.App.AppUserID != "" || o.App.VitalUserID != "") {
		return fieldErr("app.app_user_id", "set while app.signed_in is false")
	}
	if !o.App.SignedIn && o.IssuedVitalUserID != "" {
		return fieldErr("issued_vital_user_id", "set while app.signed_in is false")
	}
	if !o.App.SignedIn && o.UnusedToken != "" {
		return fieldErr("unused_token_vital_user_id", "set while app.signed_in is false")
	}
	if o.Attempts < 0 {
		return fieldErr("attempts", "negative")
	}
	if o.ResolveInterval < 0 {
		return fieldErr("resolve_interval", "negative")
	}
	if _, ok := ParseSDKError(string(o.LastError)); !ok {
		return fieldErr("last_error", "unknown SDK error %q", string(o.LastError))
	}
	if _, err := o.State(); err != nil {
		return &FieldError{Field: "sdk.status", Err: err}
	}
	signedIn := o.SDK.Status.Has(fsm.FlagSignedIn)
	if signedIn && o.SDK.CurrentUserID == "" {
		return fieldErr("sdk.current_user_id", "required when the status has signedIn")
	}
	if !signedIn && o.SDK.CurrentUserID != "" {
		return fieldErr("sdk.current_user_id", "set while the status lacks signedIn")
	}
	if o.Now.IsZero() {
		return fieldErr("now", "required")
	}
	return nil
}

// wire forms: every enumerated field is a string, validated after decoding
// so that errors can name the field.
type wireApp struct {
	SignedIn    *bool  `json:"signed_in"`
	AppUserID   string `json:"app_user_id,omitempty"`
	VitalUserID string `json:"vital_user_id,omitempty"`
	Environment string `json:"environment,omitempty"`
	Region      string `json:"region,omitempty"`
}

type wireSDK struct {
	Status        []string `json:"status"`
	CurrentUserID string   `json:"current_user_id,omitempty"`
	Environment   string   `json:"environment,omitempty"`
	Region        string   `json:"region,omitempty"`
}

type wireObservation struct {
	Profile           string      `json:"profile"`
	App               *wireApp    `json:"app"`
	SDK               *wireSDK    `json:"sdk"`
	LastObserved      string      `json:"last_observed,omitempty"`
	LastAction        *wireAction `json:"last_action,omitempty"`
	LastError         string      `json:"last_error,omitempty"`
	Attempts          int         `json:"attempts,omitempty"`
	IssuedVitalUserID string      `json:"issued_vital_user_id,omitempty"`
	UnusedToken       string      `json:"unused_token_vital_user_id,omitempty"`
	NextAttemptAt     *string     `json:"next_attempt_at"`
	LastResolvedAt    *string     `json:"last_resolved_at,omitempty"`
	SessionAppUserID  string      `json:"session_app_user_id,omitempty"`
	ResolveInterval   string      `json:"resolve_interval,omitempty"`
	ProtectedData     *bool       `json:"protected_data_available,omitempty"`
	Now               *string     `json:"now"`
	AllowAPIKey       bool        `json:"allow_api_key,omitempty"`
}

// observationKeys is the schema's object keys by path, for the strict
// checks encoding/json does not make (exact case, no duplicates).
var observationKeys = map[string][]string{
	"": {"profile", "app", "sdk", "last_observed", "last_action", "last_error", "attempts",
		"issued_vital_user_id", "unused_token_vital_user_id", "next_attempt_at", "last_resolved_at", "resolve_interval", "session_app_user_id",
		"protected_data_available", "now", "allow_api_key"},
	"app":         {"signed_in", "app_user_id", "vital_user_id", "environment", "region"},
	"sdk":         {"status", "current_user_id", "environment", "region"},
	"last_action": {"type", "vital_user_id", "app_user_id", "sdk_call", "token"},
}

// maxObservationBytes bounds one decoded observation.
const maxObservationBytes = 64 << 10

// DecodeObservation reads one JSON observation (the plan command's input,
// docs/reference/observation.md). Unknown fields, field names in another case,
// duplicate keys, missing required fields, unknown profiles, states, flags,
// environments and regions, and impossible flag combinations are rejected
// with a *FieldError naming the field. Trailing data is rejected.
func DecodeObservation(r io.Reader) (Observation, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxObservationBytes+1))
	if err != nil {
		return Observation{}, err
	}
	if len(data) > maxObservationBytes {
		return Observation{}, fieldErr("(document)", "larger than %d bytes", maxObservationBytes)
	}
	return ParseObservation(data)
}

// ParseObservation is DecodeObservation on a byte slice.
func ParseObservation(data []byte) (Observation, error) {
	if err := checkJSONKeys(data, observationKeys); err != nil {
		return Observation{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var w wireObservation
	if err := dec.Decode(&w); err != nil {
		return Observation{}, jsonFieldError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Observation{}, fieldErr("(document)", "trailing data after the observation")
	}
	return w.observation()
}

// jsonFieldError turns encoding/json's errors into a FieldError naming the field.
func jsonFieldError(err error) error {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		field := ute.Field
		if field == "" {
			field = "(document)"
		}
		return fieldErr(field, "wrong type: got JSON %s, want %s", ute.Value, ute.Type)
	}
	const unknownPrefix = "json: unknown field "
	if msg := err.Error(); len(msg) > len(unknownPrefix) && msg[:len(unknownPrefix)] == unknownPrefix {
		return fieldErr(strings.Trim(msg[len(unknownPrefix):], `"`), "unknown field")
	}
	return &FieldError{Field: "(document)", Err: err}
}

func (w *wireObservation) observation() (Observation, error) {
	var o Observation
	if w.Profile == "" {
		return o, fieldErr("profile", "required")
	}
	p, ok := fsm.ParseProfile(w.Profile)
	if !ok {
		return o, fieldErr("profile", "unknown profile %q", w.Profile)
	}
	o.Profile = p
	if w.App == nil {
		return o, fieldErr("app", "required")
	}
	if w.App.SignedIn == nil {
		return o, fieldErr("app.signed_in", "required")
	}
	o.App = AppSession{SignedIn: *w.App.SignedIn, AppUserID: w.App.AppUserID, VitalUserID: w.App.VitalUserID}
	var err error
	if o.App.Environment, o.App.Region, err = parseEnvRegion("app", w.App.Environment, w.App.Region); err != nil {
		return o, err
	}
	if w.SDK == nil {
		return o, fieldErr("sdk", "required")
	}
	if w.SDK.Status == nil {
		return o, fieldErr("sdk.status", "required (use [] for none)")
	}
	for i, name := range w.SDK.Status {
		f, ok := fsm.ParseFlag(name)
		if !ok {
			return o, fieldErr(fmt.Sprintf("sdk.status[%d]", i), "unknown flag %q", name)
		}
		o.SDK.Status |= f
	}
	o.SDK.CurrentUserID = w.SDK.CurrentUserID
	if o.SDK.Environment, o.SDK.Region, err = parseEnvRegion("sdk", w.SDK.Environment, w.SDK.Region); err != nil {
		return o, err
	}
	if w.LastObserved != "" {
		st, ok := fsm.ParseState(w.LastObserved)
		if !ok {
			return o, fieldErr("last_observed", "unknown state %q", w.LastObserved)
		}
		o.LastObserved = st
	}
	if w.LastAction != nil {
		if o.LastAction, err = w.LastAction.action("last_action"); err != nil {
			return o, err
		}
	}
	e, ok := ParseSDKError(w.LastError)
	if !ok {
		return o, fieldErr("last_error", "unknown SDK error %q", w.LastError)
	}
	o.LastError = e
	o.Attempts = w.Attempts
	o.IssuedVitalUserID = w.IssuedVitalUserID
	o.UnusedToken = w.UnusedToken
	o.SessionAppUserID = w.SessionAppUserID
	if w.NextAttemptAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *w.NextAttemptAt)
		if err != nil {
			return o, fieldErr("next_attempt_at", "not an RFC 3339 time: %q", *w.NextAttemptAt)
		}
		o.NextAttemptAt = t
	}
	if w.LastResolvedAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *w.LastResolvedAt)
		if err != nil {
			return o, fieldErr("last_resolved_at", "not an RFC 3339 time: %q", *w.LastResolvedAt)
		}
		o.LastResolvedAt = t
	}
	if w.ResolveInterval != "" {
		d, err := time.ParseDuration(w.ResolveInterval)
		if err != nil || d < 0 {
			return o, fieldErr("resolve_interval", "not a non-negative duration: %q", w.ResolveInterval)
		}
		o.ResolveInterval = d
	}
	if w.ProtectedData != nil {
		o.ProtectedDataUnavailable = !*w.ProtectedData
	}
	if w.Now == nil {
		return o, fieldErr("now", "required")
	}
	t, err := time.Parse(time.RFC3339Nano, *w.Now)
	if err != nil {
		return o, fieldErr("now", "not an RFC 3339 time: %q", *w.Now)
	}
	o.Now = t
	o.AllowAPIKey = w.AllowAPIKey
	return o, o.Validate()
}

func parseEnvRegion(prefix, env, region string) (fsm.Environment, fsm.Region, error) {
	var e fsm.Environment
	var r fsm.Region
	if env != "" {
		var ok bool
		if e, ok = fsm.ParseEnvironment(env); !ok {
			return "", "", fieldErr(prefix+".environment", "unknown environment %q", env)
		}
	}
	if region != "" {
		var ok bool
		if r, ok = fsm.ParseRegion(region); !ok {
			return "", "", fieldErr(prefix+".region", "unknown region %q", region)
		}
	}
	return e, r, nil
}

// MarshalJSON encodes the observation in the documented schema.
func (o Observation) MarshalJSON() ([]byte, error) {
	w := wireObservation{
		Profile: o.Profile.Name,
		App: &wireApp{SignedIn: &o.App.SignedIn, AppUserID: o.App.AppUserID, VitalUserID: o.App.VitalUserID,
			Environment: string(o.App.Environment), Region: string(o.App.Region)},
		SDK: &wireSDK{Status: o.SDK.Status.Names(), CurrentUserID: o.SDK.CurrentUserID,
			Environment: string(o.SDK.Environment), Region: string(o.SDK.Region)},
		LastObserved:      string(o.LastObserved),
		LastError:         string(o.LastError),
		Attempts:          o.Attempts,
		IssuedVitalUserID: o.IssuedVitalUserID,
		UnusedToken:       o.UnusedToken,
		SessionAppUserID:  o.SessionAppUserID,
		AllowAPIKey:       o.AllowAPIKey,
	}
	if o.LastAction != nil {
		wa := toWire(o.LastAction)
		w.LastAction = &wa
	}
	if !o.LastResolvedAt.IsZero() {
		t := o.LastResolvedAt.UTC().Format(time.RFC3339Nano)
		w.LastResolvedAt = &t
	}
	if o.ResolveInterval != 0 {
		w.ResolveInterval = o.ResolveInterval.String()
	}
	if o.ProtectedDataUnavailable {
		f := false
		w.ProtectedData = &f
	}
	if !o.NextAttemptAt.IsZero() {
		t := o.NextAttemptAt.UTC().Format(time.RFC3339Nano)
		w.NextAttemptAt = &t
	}
	if !o.Now.IsZero() {
		t := o.Now.UTC().Format(time.RFC3339Nano)
		w.Now = &t
	}
	return json.Marshal(w)
}
