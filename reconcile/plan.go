package reconcile

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
)

// Discrepancy classifies what the planner found, for people and audits.
type Discrepancy string

// The discrepancy classes.
const (
	// Consistent: the SDK agrees with the app; nothing to do.
	Consistent Discrepancy = "consistent"
	// Invalid: the observation is impossible (see Observation.Validate).
	Invalid Discrepancy = "invalid"
	// BackingOff: there is work, but a backed-off retry is not due yet.
	BackingOff Discrepancy = "backing-off"
	// AppSignedOut: the app is signed out but the SDK is not.
	AppSignedOut Discrepancy = "app-signed-out"
	// SDKSignedOut: the app is signed in but the SDK holds no session.
	SDKSignedOut Discrepancy = "sdk-signed-out"
	// UserDeletedDiscrepancy: the SDK detected that its Vital user was deleted.
	UserDeletedDiscrepancy Discrepancy = "user-deleted"
	// WrongUser: the SDK is signed in as another Vital user or environment.
	WrongUser Discrepancy = "wrong-user"
	// APIKeyMode: the SDK is signed in with an API key for the app's user.
	APIKeyMode Discrepancy = "api-key-mode"
	// APIKeyIncompatible: an API-key sign-in that cannot be migrated in place
	// (another user, or environment/region not known to match).
	APIKeyIncompatible Discrepancy = "api-key-incompatible"
	// ReauthNeeded: the SDK's refresh said reauthentication_required.
	ReauthNeeded Discrepancy = "reauth-required"
	// VitalUserUnknown: the SDK is signed in but the app does not know its
	// Vital user, so it cannot tell whether they agree.
	VitalUserUnknown Discrepancy = "vital-user-unknown"
	// RetryAfterConflict: the previous sign-in hit alreadySignedIn although the
	// status showed no session.
	RetryAfterConflict Discrepancy = "already-signed-in"
)

// Discrepancies returns every class, in a fixed order.
func Discrepancies() []Discrepancy {
	return []Discrepancy{Consistent, Invalid, BackingOff, AppSignedOut, SDKSignedOut, UserDeletedDiscrepancy,
		WrongUser, APIKeyMode, APIKeyIncompatible, ReauthNeeded, VitalUserUnknown, RetryAfterConflict}
}

// Plan is the planner's output: the ordered actions, and when waiting is
// right, the time to try again.
type Plan struct {
	// Actions are applied in order; empty when there is nothing to do.
	Actions []Action
	// RetryAt is set when actions are deferred by backoff; zero otherwise.
	RetryAt time.Time
	// Observed is the state the observation classified to ("" if invalid).
	Observed fsm.State
	// Discrepancy says why the plan is what it is.
	Discrepancy Discrepancy
}

// Empty reports whether the plan has no actions.
func (p Plan) Empty() bool { return len(p.Actions) == 0 }

// String renders the actions: "sign-out, sign-in(…)" or "(nothing)".
func (p Plan) String() string {
	if len(p.Actions) == 0 {
		if !p.RetryAt.IsZero() {
			return "(wait until " + p.RetryAt.UTC().Format(time.RFC3339) + ")"
		}
		return "(nothing)"
	}
	parts := make([]string, len(p.Actions))
	for i, a := range p.Actions {
		parts[i] = a.String()
	}
	return strings.Join(parts, ", ")
}

// Plan plans the fewest actions that bring the SDK in line with the app.
// It is pure and deterministic: no IO, no clock, no randomness. An invalid
// observation plans nothing, with Discrepancy Invalid; callers validate
// input first (DecodeObservation does).
//
// The rules:
//   - app signed out: sign out unless the SDK is signed-out;
//   - app signed in as U with Vital user V: the goal is a token session of V.
//     No session (signed-out, configured, user-deleted): sign in. A token
//     session of V: nothing. Of another user or environment: sign out, sign in.
//     Reauthentication required for V: reauthenticate. An API-key session of V
//     whose environment and region are known to match: migrate; otherwise sign
//     out and sign in;
//   - a token session of V whose app reported needsReauthentication (the
//     status hides it on iOS 1.4+): reauthenticate;
//   - V unknown while the SDK holds a session: resolve V first (the next pass
//     plans with it), so a session that already agrees is never torn down;
//   - user IDs compare case-insensitively (iOS 1.4+ reports upper case);
//   - work that needs the network is deferred while NextAttemptAt is later
//     than Now: no actions, RetryAt set. A plan of sign-outs is local and
//     runs at once.
func (o *Observation) Plan() Plan {
	st, err := fsm.Classify(o.SDK.Status, o.LastObserved, o.Profile)
	if err != nil {
		return Plan{Discrepancy: Invalid}
	}
	p := decide(o, st)
	p.Observed = st
	if needsNetwork(p.Actions) && o.NextAttemptAt.After(o.Now) {
		return Plan{RetryAt: o.NextAttemptAt, Observed: st, Discrepancy: BackingOff}
	}
	return p
}

func decide(o *Observation, st fsm.State) Plan {
	if !o.App.SignedIn {
		if st == fsm.SignedOut {
			return Plan{Discrepancy: Consistent}
		}
		return Plan{Actions: []Action{SignOut{}}, Discrepancy: AppSignedOut}
	}
	v := o.App.VitalUserID
	switch st {
	case fsm.SignedOut, fsm.Configured, fsm.UserDeleted:
		d := SDKSignedOut
		if st == fsm.UserDeleted {
			d = UserDeletedDiscrepancy
		}
		if o.LastError == ErrorAlreadySignedIn {
			// A session the status does not show (iOS 1.4+ after a deprecated
			// signIn in the same process): clear it, then sign in.
			return Plan{Actions: []Action{SignOut{}, SignIn{VitalUser: v}}, Discrepancy: RetryAfterConflict}
		}
		return Plan{Actions: []Action{SignIn{VitalUser: v}}, Discrepancy: d}
	}
	// The SDK holds a session of o.SDK.CurrentUserID.
	if v == "" {
		return Plan{Actions: []Action{Resolve{AppUser: o.App.AppUserID}}, Discrepancy: VitalUserUnknown}
	}
	same := strings.EqualFold(o.SDK.CurrentUserID, v)
	switch st {
	case fsm.Token:
		if same && !envMismatch(o) {
			if o.LastError == ErrorNeedsReauthentication {
				// iOS 1.4+ never shows pendingReauthentication in its status
				// (reference §1.2): the app's report of the SDK error is the
				// only sign, and a same-user token re-exchanges.
				return Plan{Actions: []Action{Reauthenticate{VitalUser: v}}, Discrepancy: ReauthNeeded}
			}
			return Plan{Discrepancy: Consistent}
		}
	case fsm.ReauthRequired:
		if same && !envMismatch(o) {
			return Plan{Actions: []Action{Reauthenticate{VitalUser: v}}, Discrepancy: ReauthNeeded}
		}
	case fsm.APIKey:
		if same && envMatch(o) {
			if o.AllowAPIKey {
				return Plan{Discrepancy: Consistent}
			}
			return Plan{Actions: []Action{Migrate{VitalUser: v}}, Discrepancy: APIKeyMode}
		}
		return Plan{Actions: []Action{SignOut{}, SignIn{VitalUser: v}}, Discrepancy: APIKeyIncompatible}
	}
	return Plan{Actions: []Action{SignOut{}, SignIn{VitalUser: v}}, Discrepancy: WrongUser}
}

// needsNetwork reports whether any action calls the backend or the auth
// server. A plan of sign-outs alone is local, so backoff never delays it: an
// app that signed its user out must not leave the SDK syncing that user.
func needsNetwork(actions []Action) bool {
	for _, a := range actions {
		if a.Type() != TypeSignOut {
			return true
		}
	}
	return false
}

// envMismatch: the SDK's and the app's environment or region are both known
// and differ.
func envMismatch(o *Observation) bool {
	return (o.SDK.Environment != "" && o.App.Environment != "" && o.SDK.Environment != o.App.Environment) ||
		(o.SDK.Region != "" && o.App.Region != "" && o.SDK.Region != o.App.Region)
}

// envMatch: both environments and regions are known and equal.
func envMatch(o *Observation) bool {
	return o.SDK.Environment != "" && o.SDK.Environment == o.App.Environment &&
		o.SDK.Region != "" && o.SDK.Region == o.App.Region
}

type wireAction struct {
	Type        ActionType `json:"type"`
	VitalUserID string     `json:"vital_user_id,omitempty"`
	AppUserID   string     `json:"app_user_id,omitempty"`
}

type wirePlan struct {
	Actions []wireAction `json:"actions"`
	RetryAt *time.Time   `json:"retry_at"`
}

// MarshalJSON encodes the plan as {"actions":[{"type":…}],"retry_at":…}.
func (p Plan) MarshalJSON() ([]byte, error) {
	w := wirePlan{Actions: make([]wireAction, len(p.Actions))}
	for i, a := range p.Actions {
		w.Actions[i] = wireAction{Type: a.Type(), VitalUserID: VitalUserOf(a)}
		if r, ok := a.(Resolve); ok {
			w.Actions[i].AppUserID = r.AppUser
		}
	}
	if !p.RetryAt.IsZero() {
		t := p.RetryAt.UTC()
		w.RetryAt = &t
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes the plan JSON that MarshalJSON writes.
func (p *Plan) UnmarshalJSON(data []byte) error {
	var w wirePlan
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	out := Plan{Actions: make([]Action, 0, len(w.Actions))}
	for i, a := range w.Actions {
		switch a.Type {
		case TypeSignOut:
			out.Actions = append(out.Actions, SignOut{})
		case TypeSignIn:
			out.Actions = append(out.Actions, SignIn{VitalUser: a.VitalUserID})
		case TypeMigrate:
			out.Actions = append(out.Actions, Migrate{VitalUser: a.VitalUserID})
		case TypeReauthenticate:
			out.Actions = append(out.Actions, Reauthenticate{VitalUser: a.VitalUserID})
		case TypeResolve:
			out.Actions = append(out.Actions, Resolve{AppUser: a.AppUserID})
		default:
			return &FieldError{Field: "actions[" + itoa(i) + "].type", Err: errUnknownAction(a.Type)}
		}
	}
	if w.RetryAt != nil {
		out.RetryAt = *w.RetryAt
	}
	*p = out
	return nil
}

type errUnknownAction ActionType

func (e errUnknownAction) Error() string { return "unknown action type \"" + string(e) + "\"" }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for ; i > 0; i /= 10 {
		n--
		b[n] = byte('0' + i%10)
	}
	return string(b[n:])
}
