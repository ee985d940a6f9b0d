package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// The vector files' kinds and names in an export directory.
const (
	KindPlan     = "plan"
	KindRunner   = "runner"
	KindProfiles = "profiles"

	PlanFile     = "plan.json"
	RunnerFile   = "runner.json"
	ProfilesFile = "profiles.json"
)

// Action is an action's JSON form, as the observation and plan JSON write
// it: {"type":"sign-in","vital_user_id":…} or {"type":"resolve","app_user_id":…};
// a token action applied through identifyExternalUser adds
// "sdk_call":"identifyExternalUser", one that takes the launch's unused
// token "token":"unused".
type Action struct {
	Type        string `json:"type"`
	VitalUserID string `json:"vital_user_id,omitempty"`
	AppUserID   string `json:"app_user_id,omitempty"`
	SDKCall     string `json:"sdk_call,omitempty"`
	Token       string `json:"token,omitempty"`
}

// ActionOf returns a's JSON form; nil for a nil action.
func ActionOf(a reconcile.Action) *Action {
	if a == nil {
		return nil
	}
	data, err := json.Marshal(reconcile.Plan{Actions: []reconcile.Action{a}})
	if err != nil {
		panic(err) // an action always encodes
	}
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil || len(p.Actions) != 1 {
		panic(fmt.Sprintf("conformance: action %s: %v", a, err))
	}
	return &p.Actions[0]
}

// Reconcile returns the action w names; nil for nil.
func (w *Action) Reconcile() (reconcile.Action, error) {
	if w == nil {
		return nil, nil
	}
	data, err := json.Marshal(Plan{Actions: []Action{*w}})
	if err != nil {
		return nil, err
	}
	var p reconcile.Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("conformance: action %q: %w", w.Type, err)
	}
	if len(p.Actions) != 1 {
		return nil, fmt.Errorf("conformance: unknown action type %q", w.Type)
	}
	return p.Actions[0], nil
}

// bare returns the action's type and user alone; nil for nil.
func (w *Action) bare() *Action {
	if w == nil {
		return nil
	}
	return &Action{Type: w.Type, VitalUserID: w.VitalUserID, AppUserID: w.AppUserID}
}

// String renders the action as reconcile does ("sign-in(v-1)"), or
// "(no action)".
func (w *Action) String() string {
	a, err := w.Reconcile()
	if err != nil {
		return "(" + w.Type + "?)"
	}
	if a == nil {
		return "(no action)"
	}
	return a.String()
}

// Plan is a plan's JSON form, with every field present.
type Plan struct {
	Actions  []Action `json:"actions"`
	RetryAt  *string  `json:"retry_at"`
	Terminal bool     `json:"terminal"`
	Deferred bool     `json:"deferred"`
}

// PlanOf returns p's JSON form.
func PlanOf(p reconcile.Plan) Plan {
	w := Plan{Actions: []Action{}, Terminal: p.Terminal, Deferred: p.Defer}
	for _, a := range p.Actions {
		w.Actions = append(w.Actions, *ActionOf(a))
	}
	w.RetryAt = timeString(p.RetryAt)
	return w
}

// String renders the plan as reconcile.Plan.String does.
func (w Plan) String() string {
	p := reconcile.Plan{Terminal: w.Terminal, Defer: w.Deferred}
	for _, a := range w.Actions {
		ra, err := a.Reconcile()
		if err != nil {
			return "(invalid plan: " + err.Error() + ")"
		}
		p.Actions = append(p.Actions, ra)
	}
	if w.RetryAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *w.RetryAt)
		if err != nil {
			return "(invalid retry_at " + *w.RetryAt + ")"
		}
		p.RetryAt = t
	}
	return p.String()
}

func timeString(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

// ProfileOverrides changes facts of a named profile for one case. Nil
// fields leave the profile's fact.
type ProfileOverrides struct {
	// DetectsDeletion false: an SDK that never detects a deleted user
	// (Android 4.2.1–4.2.2's, reference §10.1).
	DetectsDeletion *bool `json:"detects_deletion,omitempty"`
	// HasIdentify false: the app's SDK has no identifyExternalUser (a
	// bridge without it, or a scripted SDK without it): the planner applies
	// every token action through signIn.
	HasIdentify *bool `json:"has_identify,omitempty"`
}

// Apply returns p with the overrides.
func (o *ProfileOverrides) Apply(p fsm.Profile) fsm.Profile {
	if o != nil && o.DetectsDeletion != nil {
		p.DetectsDeletion = *o.DetectsDeletion
	}
	if o != nil && o.HasIdentify != nil {
		p.HasIdentify = *o.HasIdentify
	}
	return p
}

// PlanCase is one planner vector: an observation in, the classification
// and the plan out (or, for a decode case, the invalid field).
type PlanCase struct {
	// Name is the case's file and line in reconcile/testdata/plan.
	Name    string `json:"name"`
	Comment string `json:"comment,omitempty"`
	// Observation is the observation JSON; a decode case has
	// ObservationText instead, the document to decode as written.
	Observation      json.RawMessage   `json:"observation,omitempty"`
	ObservationText  *string           `json:"observation_text,omitempty"`
	ProfileOverrides *ProfileOverrides `json:"profile_overrides,omitempty"`
	Expect           PlanResult        `json:"expect"`
}

// Decode reports whether the case tests the strict decoder.
func (c PlanCase) Decode() bool { return c.ObservationText != nil }

// PlanResult is what the planner answers: the state, the class and the
// plan, or the field that makes the observation invalid.
type PlanResult struct {
	Observed    string   `json:"observed,omitempty"`
	Discrepancy string   `json:"discrepancy,omitempty"`
	Plan        *Plan    `json:"plan,omitempty"`
	Invalid     *Invalid `json:"invalid,omitempty"`
}

// Invalid names the field of an invalid observation.
type Invalid struct {
	Field string `json:"field"`
}

// String renders the result as the scenario files print it.
func (r PlanResult) String() string {
	if r.Invalid != nil {
		return "invalid: " + r.Invalid.Field
	}
	plan := "(none)"
	if r.Plan != nil {
		plan = r.Plan.String()
	}
	return fmt.Sprintf("observed %s, class %s, plan %s", r.Observed, r.Discrepancy, plan)
}

// PlanFileData is plan.json.
type PlanFileData struct {
	Kind  string     `json:"kind"`
	Cases []PlanCase `json:"cases"`
}

// RunnerFileData is runner.json.
type RunnerFileData struct {
	Kind  string       `json:"kind"`
	Cases []RunnerCase `json:"cases"`
}

// ProfilesFileData is profiles.json: the profiles' facts, and which
// profile an installation gets for its platform, wrapper and native SDK
// version.
type ProfilesFileData struct {
	Kind     string         `json:"kind"`
	Profiles []ProfileFacts `json:"profiles"`
	Versions []VersionCase  `json:"versions"`
}

// VersionCase is one answer of the version table (fsm.ProfileForWrapper):
// the profile of a native SDK version on a platform under a wrapper, ""
// when none is modelled.
type VersionCase struct {
	Platform string `json:"platform"`
	Wrapper  string `json:"wrapper"`
	Version  string `json:"version"`
	Profile  string `json:"profile"`
}

// versionCases probes the version table at every boundary of a grid of
// versions (each change of profile, with the versions on both sides), and
// at the forms a version string takes outside the grid.
func versionCases() []VersionCase {
	var out []VersionCase
	lookup := func(w fsm.Wrapper, pl fsm.Platform, v string) VersionCase {
		p, ok := fsm.ProfileForWrapper(w, pl, v)
		c := VersionCase{Platform: string(pl), Wrapper: string(w), Version: v}
		if ok {
			c.Profile = p.Name
		}
		return c
	}
	for _, w := range []fsm.Wrapper{fsm.Native, fsm.ReactNative, fsm.Flutter} {
		for _, pl := range []fsm.Platform{fsm.IOS, fsm.Android} {
			var prev *VersionCase
			emitted := ""
			for major := 0; major <= 6; major++ {
				for minor := 0; minor <= 10; minor++ {
					for patch := 0; patch <= 12; patch++ {
						c := lookup(w, pl, fmt.Sprintf("%d.%d.%d", major, minor, patch))
						if prev != nil && prev.Profile != c.Profile {
							if emitted != prev.Version {
								out = append(out, *prev)
							}
							out = append(out, c)
							emitted = c.Version
						}
						prev = &c
					}
				}
			}
			for _, v := range []string{"v1.8.2", "v5.0.2", "5.0.0-rc.1", "1.8.8-beta.1", "1.8", "1.8.2.1", "", "x.y.z"} {
				out = append(out, lookup(w, pl, v))
			}
		}
	}
	return out
}

// ProfileFacts is one SDK profile's facts (fsm.Profile), by stable names.
type ProfileFacts struct {
	Name                     string `json:"name"`
	Platform                 string `json:"platform"`
	Wrapper                  string `json:"wrapper"`
	Versions                 string `json:"versions"`
	UpperCaseUserID          bool   `json:"upper_case_user_id"`
	LowerCaseUserID          bool   `json:"lower_case_user_id"`
	AutoSignOutOnDeletion    bool   `json:"auto_sign_out_on_deletion"`
	DetectsDeletion          bool   `json:"detects_deletion"`
	RefreshesOnUnauthorized  bool   `json:"refreshes_on_unauthorized"`
	UnauthorizedRetryCrashes bool   `json:"unauthorized_retry_crashes"`
	SameUserSignInThrows     bool   `json:"same_user_sign_in_throws"`
	APIKeyMigrationPersists  bool   `json:"api_key_migration_persists"`
	SignInNeedsRelaunch      bool   `json:"sign_in_needs_relaunch"`
	HasIdentify              bool   `json:"has_identify"`
	IdentifyShortCircuits    bool   `json:"identify_short_circuits"`
	ReportsPendingReauth     bool   `json:"reports_pending_reauth"`
	ConfigurePersists        bool   `json:"configure_persists"`
	LegacyTokenEndpoint      bool   `json:"legacy_token_endpoint"`
	RecordWithoutRegion      bool   `json:"record_without_region"`
	LockedKeychain           string `json:"locked_keychain"`
	LenientTokenBase64       bool   `json:"lenient_token_base64"`
	// The wrapper bridge's facts (docs/reference/profiles.md).
	StatusOrder          []string `json:"status_order"`
	StatusCreatesClient  bool     `json:"status_creates_client"`
	IdentifyWaitsUntimed bool     `json:"identify_waits_untimed"`
	ErrorsByMessage      bool     `json:"errors_by_message"`
	SetUserIDCrashes     bool     `json:"set_user_id_crashes"`
}

func profileFacts(p fsm.Profile) ProfileFacts {
	return ProfileFacts{Name: p.Name, Platform: string(p.Platform), Wrapper: string(p.Wrapper), Versions: p.Versions,
		UpperCaseUserID: p.UpperCaseUserID, LowerCaseUserID: p.LowerCaseUserID,
		AutoSignOutOnDeletion: p.AutoSignOutOnDeletion, DetectsDeletion: p.DetectsDeletion,
		RefreshesOnUnauthorized: p.RefreshesOnUnauthorized, UnauthorizedRetryCrashes: p.UnauthorizedRetryCrashes, SameUserSignInThrows: p.SameUserSignInThrows,
		APIKeyMigrationPersists: p.APIKeyMigrationPersists, SignInNeedsRelaunch: p.SignInNeedsRelaunch,
		HasIdentify: p.HasIdentify, IdentifyShortCircuits: p.IdentifyShortCircuits,
		ReportsPendingReauth: p.ReportsPendingReauth, ConfigurePersists: p.ConfigurePersists,
		LegacyTokenEndpoint: p.LegacyTokenEndpoint, RecordWithoutRegion: p.RecordWithoutRegion,
		LockedKeychain: string(p.LockedKeychain), LenientTokenBase64: p.LenientTokenBase64,
		// Every flag, in the order the app receives them.
		StatusOrder:         p.StatusNames(fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseAPIKey | fsm.FlagUseSignInToken | fsm.FlagPendingReauthentication),
		StatusCreatesClient: p.StatusCreatesClient, IdentifyWaitsUntimed: p.IdentifyWaitsUntimed,
		ErrorsByMessage: p.ErrorsByMessage, SetUserIDCrashes: p.SetUserIDCrashes}
}

// Vectors is a whole export.
type Vectors struct {
	Plan     PlanFileData
	Runner   RunnerFileData
	Profiles ProfilesFileData
}

// Export reads reconcile's datadriven files under testdata (the
// repository's reconcile/testdata) and returns the vectors they hold:
// nothing is written twice, the expected outputs are the files'.
func Export(testdata string) (*Vectors, error) {
	plans, err := exportPlans(filepath.Join(testdata, "plan"))
	if err != nil {
		return nil, err
	}
	runs, err := exportRunner(filepath.Join(testdata, "runner"))
	if err != nil {
		return nil, err
	}
	v := &Vectors{Plan: PlanFileData{Kind: KindPlan, Cases: plans},
		Runner: RunnerFileData{Kind: KindRunner, Cases: runs}, Profiles: ProfilesFileData{Kind: KindProfiles}}
	for _, p := range fsm.Profiles() {
		v.Profiles.Profiles = append(v.Profiles.Profiles, profileFacts(p))
	}
	v.Profiles.Versions = versionCases()
	return v, nil
}

// Files returns the export's files by name, each as indented JSON.
func (v *Vectors) Files() (map[string][]byte, error) {
	out := map[string][]byte{}
	for name, doc := range map[string]any{PlanFile: v.Plan, RunnerFile: v.Runner, ProfilesFile: v.Profiles} {
		data, err := marshalIndent(doc)
		if err != nil {
			return nil, err
		}
		out[name] = data
	}
	return out, nil
}

// Write writes the export's files into dir, creating it.
func (v *Vectors) Write(dir string) error {
	files, err := v.Files()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func marshalIndent(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ErrVectors is matched (errors.Is) by every error reading a vector file.
var ErrVectors = errors.New("conformance: invalid vectors")

// ReadPlanFile reads planner vectors in the exported format.
func ReadPlanFile(path string) (PlanFileData, error) {
	return readVectorFile[PlanFileData](path, "#/$defs/planFile")
}

// ReadRunnerFile reads runner vectors in the exported format.
func ReadRunnerFile(path string) (RunnerFileData, error) {
	return readVectorFile[RunnerFileData](path, "#/$defs/runnerFile")
}

// readVectorFile reads the vector file at path, holds it to the schema's
// definition def and decodes it.
func readVectorFile[T any](path, def string) (T, error) {
	var f T
	data, err := os.ReadFile(path)
	if err != nil {
		return f, err
	}
	if err := ValidateJSON(data, def); err != nil {
		return f, fmt.Errorf("%w: %s: %w", ErrVectors, path, err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("%w: %s: %w", ErrVectors, path, err)
	}
	return f, nil
}
