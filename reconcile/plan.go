package reconcile

import (
	"encoding/json"
	"strconv"
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
	// (another user, a user nothing attributes to the app's, or
	// environment/region not known to match).
	APIKeyIncompatible Discrepancy = "api-key-incompatible"
	// ReauthNeeded: the SDK's refresh said reauthentication_required.
	ReauthNeeded Discrepancy = "reauth-required"
	// VitalUserUnknown: the SDK is signed in but the app does not know its
	// Vital user, so it cannot tell whether they agree.
	VitalUserUnknown Discrepancy = "vital-user-unknown"
	// AlreadySignedInConflict: the previous sign-in hit alreadySignedIn
	// although the status showed no session.
	AlreadySignedInConflict Discrepancy = "already-signed-in"
	// MigrationNotTaken: a migrate succeeded but the SDK still reports its
	// API-key session.
	MigrationNotTaken Discrepancy = "migration-not-taken"
	// Diverged: the action applied last succeeded, yet the SDK does not
	// show its effect; nothing more is planned in this launch.
	Diverged Discrepancy = "diverged"
	// ProtectedDataLocked: the device's protected data cannot be read (a
	// background launch before first unlock); nothing is decided until a
	// later launch.
	ProtectedDataLocked Discrepancy = "protected-data-locked"
	// SessionWithoutRecord: the status shows a session whose calls fail with
	// notSignedIn (iOS 1.4+ after a crash inside the auto sign-out).
	SessionWithoutRecord Discrepancy = "session-without-record"
	// DeadSession: the SDK's token calls fail in a way it cannot decode
	// (refreshFailed): its user was deleted or its refresh token revoked.
	DeadSession Discrepancy = "dead-session"
	// ResolveDue: the profile cannot detect a deleted user, and the app
	// user's Vital user was last asked for more than ResolveInterval ago.
	ResolveDue Discrepancy = "resolve-due"
)

// DefaultResolveInterval is how often a launch on a profile that cannot
// detect a deleted user asks the token source for the app user's Vital user.
const DefaultResolveInterval = 24 * time.Hour

// Discrepancies returns every class, in a fixed order.
func Discrepancies() []Discrepancy {
	return []Discrepancy{Consistent, Invalid, BackingOff, AppSignedOut, SDKSignedOut, UserDeletedDiscrepancy,
		WrongUser, APIKeyMode, APIKeyIncompatible, ReauthNeeded, VitalUserUnknown, AlreadySignedInConflict,
		MigrationNotTaken, Diverged, ProtectedDataLocked, SessionWithoutRecord, DeadSession, ResolveDue}
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
	// Terminal is set when work remains but the previous attempt's error has
	// no rule left (see Plan): there are no actions, and the launch ends
	// without a retry schedule.
	Terminal bool
	// Defer is set when nothing can be decided now (protected data locked):
	// there are no actions, nothing is written, and a later launch decides.
	Defer bool
}

// Empty reports whether the plan has no actions.
func (p Plan) Empty() bool { return len(p.Actions) == 0 }

// String renders the actions: "sign-out, sign-in(…)" or "(nothing)".
func (p Plan) String() string {
	if len(p.Actions) > 0 && !p.RetryAt.IsZero() {
		parts := make([]string, len(p.Actions))
		for i, a := range p.Actions {
			parts[i] = a.String()
		}
		return strings.Join(parts, ", ") + ", then wait until " + p.RetryAt.UTC().Format(time.RFC3339)
	}
	if len(p.Actions) > 0 && p.Defer {
		parts := make([]string, len(p.Actions))
		for i, a := range p.Actions {
			parts[i] = a.String()
		}
		return strings.Join(parts, ", ") + ", then defer to a later launch"
	}
	if len(p.Actions) == 0 {
		if p.Terminal {
			return "(terminal: no rule after the last error)"
		}
		if p.Defer {
			return "(deferred to a later launch)"
		}
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
// It is the only place a decision is made: the Runner applies what a plan
// says, journals what happened (the last action, its SDK error, a Vital user
// the token source named), observes again (Observe builds every fact the
// rules read, from the journal entry, the SDK, the app, the token source's
// last answer and the time) and asks Plan again. The rules, each held by a
// scenario in testdata/plan (the facts' own rules by testdata/observe, the
// journal's by testdata/journal):
//
//   - app signed out: sign out unless the SDK is signed-out;
//   - app signed in as U: the goal is a token session of U's Vital user V,
//     which is IssuedVitalUserID when the token source named another user
//     than the app's (the backend replaces a deleted user; the app may keep
//     the one it was told at sign-in), else App.VitalUserID. No session (signed-out, configured,
//     user-deleted): sign in. A token session of V: nothing. Of another user
//     or environment: sign out, sign in. Reauthentication required for V:
//     reauthenticate. An API-key session of V whose environment and region
//     are known to match: migrate; otherwise sign out and sign in;
//   - a session the reconciler knows was signed in for another app user
//     (SessionAppUserID, a user switch): sign out, sign in, without asking
//     the token source first, even while the status shows a session of the
//     app user's Vital user;
//   - V unknown while the SDK holds a session: resolve V first (the next pass
//     plans with it), so a session that already agrees is never torn down;
//     but an API-key session that nothing attributes to the app's user
//     (SessionAppUserID empty) and that policy would not keep as it is
//     (AllowAPIKey false, or its environment not known to match): sign
//     out, sign in, without asking first. It may be another person's, and
//     a migration in place needs V known; asking first would leave it
//     syncing while the request is sent, fails or its process dies;
//   - user IDs compare case-insensitively (iOS 1.4+ reports upper case).
//
// The recovery rules, over the previous attempt (LastAction, LastError,
// Attempts):
//
//   - alreadySignedIn while the status shows no session (iOS 1.4+ keeps a
//     session its status hides after a deprecated signIn): sign out, then
//     sign in. Where the status shows a session the ordinary rules already
//     sign out first;
//   - invalidSignInToken: the SDK is unchanged, so the same plan runs again
//     and its sign-in mints a fresh token;
//   - a token session of V whose last error is needsReauthentication (an
//     SDK error the app recorded between launches: the status hides it on
//     iOS 1.4+): reauthenticate;
//   - a migrate that succeeded while the SDK still reports the API-key
//     session (identify returned at once because the API-key build had
//     identified the same external user, reference §2.7): sign out, sign in;
//   - the token source naming another Vital user than the app's: the goal
//     moves to that user (see IssuedVitalUserID above);
//   - an action is never planned again right after it succeeded: an SDK
//     that does not show an action's effect (a deprecated signIn that reads
//     {configured} until relaunch) has left its state machine, and the plan
//     is empty with Discrepancy Diverged; the runner reports the divergence
//     and the next launch plans from what the SDK then shows;
//   - each of those is tried once: when the same SDK error comes back a
//     second time in a row (Attempts ≥ 2), or any error without a rule comes
//     back at all (ErrUnknown), the plan is Terminal with no actions, and the
//     launch ends without a retry schedule. A later launch starts afresh;
//   - notSignedIn while the status shows a session (the record is gone,
//     §10.7), or refreshFailed (a token call the SDK cannot decode: the
//     session is dead, §10.1): sign out, sign in;
//   - on a profile that cannot detect a deleted user
//     (fsm.Profile.DetectsDeletion false), a token session whose Vital user
//     the token source last named more than ResolveInterval ago: resolve it
//     again (the next pass signs in anew if the backend replaced it);
//   - a token action whose token carries another Vital user than the one
//     it names is not applied: the token source's user becomes the goal
//     (IssuedVitalUserID), and the token stays unused (UnusedToken) for the
//     next pass's action;
//   - protected data unavailable (the iOS keychain before first unlock,
//     §10.6): Defer set, nothing written, and nothing done but the sign-out
//     of a session known to be another's (a wrong user or a session while
//     the app is signed out: the status tells on iOS 1.4+, where it stays
//     right; the journal on iOS ≤1.3, whose status reads signed out), since
//     a sign-out is local;
//   - work that needs the network is deferred while NextAttemptAt is later
//     than Now (a transient failure's backoff): RetryAt set, and only the
//     sign-outs that lead the plan remain, since they are local: a session
//     the app no longer wants never keeps syncing while the rest waits.
//
// How each token action is applied is the planner's word too:
//
//   - the SDK call (Identify): identifyExternalUser where the profile has it
//     (HasIdentify) and its plain signIn does not persist the action: a
//     sign-in where signIn shows a session only after a relaunch
//     (SignInNeedsRelaunch, iOS 1.4+, reference §1.2), a migration where
//     signIn does not persist it (APIKeyMigrationPersists false, §2.7) or
//     the same relaunch rule holds. signIn elsewhere: Android keeps it, as
//     its identify short-circuits on a stored external user ID even after
//     the user was deleted (§4); a reauthentication always (identify would
//     return at once on the session's own external user ID); a profile
//     without identify (iOS ≤1.3, Flutter) always;
//   - the token (Reuse): the unused token (UnusedToken) when it is for the
//     Vital user the action names, or the action names none; else a token
//     minted for the action.
func (o *Observation) Plan() Plan {
	st, err := fsm.Classify(o.SDK.Status, o.LastObserved, o.Profile)
	if o.ProtectedDataUnavailable {
		return o.lockedPlan(st, err)
	}
	if err != nil {
		return Plan{Discrepancy: Invalid}
	}
	p := decide(o, st)
	p.Observed = st
	if p.Empty() {
		return p
	}
	if o.LastAction != nil && o.LastError == NoSDKError &&
		(sameStep(p.Actions[0], o.LastAction) || sameStep(p.Actions[0], o.asIssued(o.LastAction))) {
		// The action succeeded and the SDK does not show it: planning it
		// again would loop (and mint a token for nothing).
		return Plan{Observed: st, Discrepancy: Diverged}
	}
	if o.gaveUp() {
		return Plan{Observed: st, Discrepancy: p.Discrepancy, Terminal: true}
	}
	if needsNetwork(p.Actions) && o.NextAttemptAt.After(o.Now) {
		// The sign-outs that lead the plan are local: they run now, so that
		// a session the app no longer wants does not keep syncing; the
		// rest waits.
		return Plan{Actions: leadingSignOuts(p.Actions), RetryAt: o.NextAttemptAt, Observed: st, Discrepancy: BackingOff}
	}
	return p
}

// lockedPlan is the plan while protected data is unavailable: nothing that
// needs the keychain can be done, and nothing is decided on a status that
// may lie, so the launch defers. A session known to be another's is the
// exception, since a sign-out is local and idempotent and such a session
// keeps syncing one person's data into another's account: it is signed out
// now. On a profile whose status stays right while locked
// (fsm.KeychainCallsFail, iOS 1.4+) the status tells, as it would
// unlocked (a wrong user, or a session while the app is signed out); on
// one whose status reads signed out (fsm.KeychainReadsSignedOut, iOS
// ≤1.3) the app's session and the journal do: the app is signed out (no
// session can be its own, and one the keychain kept through a reinstall
// shows neither in the status nor in the journal: signed out once per
// launch), or the journal last observed a session of another app user
// (SessionAppUserID).
func (o *Observation) lockedPlan(st fsm.State, err error) Plan {
	p := Plan{Observed: st, Discrepancy: ProtectedDataLocked, Defer: true}
	switch o.Profile.LockedKeychain {
	case fsm.KeychainCallsFail:
		if err != nil {
			return p
		}
		if q := decide(o, st); q.Discrepancy == WrongUser || q.Discrepancy == AppSignedOut {
			p.Actions = leadingSignOuts(q.Actions)
		}
	case fsm.KeychainReadsSignedOut:
		switch {
		case o.SDK.Status.Has(fsm.FlagSignedIn):
		case !o.App.SignedIn && (o.LastAction == nil || o.LastAction.Type() != TypeSignOut):
			// No session is the app's while it is signed out, and the status
			// cannot say whether one is there (the keychain keeps one through
			// a reinstall, which the journal does not survive): sign out, once.
			p.Actions = []Action{SignOut{}}
		case o.App.SignedIn && o.LastObserved.SignedIn() && o.SessionAppUserID != "" && o.SessionAppUserID != o.App.AppUserID:
			p.Actions = []Action{SignOut{}}
		}
	}
	return p
}

// asIssued is a token action that named no Vital user as it was applied:
// with the token the token source issued, so for its Vital user
// (IssuedVitalUserID). A sign-in "from the token source" that succeeded
// and does not show is the same step as a sign-in for the user it named.
func (o *Observation) asIssued(a Action) Action {
	if VitalUserOf(a) != "" || o.IssuedVitalUserID == "" {
		return a
	}
	switch v := a.(type) {
	case SignIn:
		v.VitalUser = o.IssuedVitalUserID
		return v
	case Migrate:
		v.VitalUser = o.IssuedVitalUserID
		return v
	case Reauthenticate:
		v.VitalUser = o.IssuedVitalUserID
		return v
	}
	return a
}

// leadingSignOuts returns the sign-outs that open actions (nil if none).
func leadingSignOuts(actions []Action) []Action {
	n := 0
	for n < len(actions) && actions[n].Type() == TypeSignOut {
		n++
	}
	if n == 0 {
		return nil
	}
	return actions[:n:n]
}

// gaveUp reports whether the previous attempt's error has used up its rule:
// an error without one at its first occurrence, one with a rule at its
// second in a row. Network errors back off instead.
func (o *Observation) gaveUp() bool {
	switch o.LastError {
	case NoSDKError, ErrNetwork:
		return false
	case ErrUnknown:
		return o.Attempts >= 1
	}
	return o.Attempts >= 2
}

// GoalVitalUser is the Vital user the app's session should be signed in as:
// the token source's word in this launch, else the app's; "" when unknown
// or the app is signed out.
func (o *Observation) GoalVitalUser() string {
	if !o.App.SignedIn {
		return ""
	}
	if o.IssuedVitalUserID != "" {
		return o.IssuedVitalUserID
	}
	return o.App.VitalUserID
}

func decide(o *Observation, st fsm.State) Plan {
	if !o.App.SignedIn {
		if st == fsm.SignedOut {
			return Plan{Discrepancy: Consistent}
		}
		return Plan{Actions: []Action{SignOut{}}, Discrepancy: AppSignedOut}
	}
	v := o.GoalVitalUser()
	switch st {
	case fsm.SignedOut, fsm.Configured, fsm.UserDeleted:
		d := SDKSignedOut
		if st == fsm.UserDeleted {
			d = UserDeletedDiscrepancy
		}
		if o.LastError == ErrAlreadySignedIn {
			// A session the status does not show (iOS 1.4+ after a deprecated
			// signIn in the same process): clear it, then sign in.
			return Plan{Actions: []Action{SignOut{}, o.signIn(v)}, Discrepancy: AlreadySignedInConflict}
		}
		return Plan{Actions: []Action{o.signIn(v)}, Discrepancy: d}
	}
	// The SDK holds a session of o.SDK.CurrentUserID.
	switch o.LastError {
	case ErrNotSignedIn:
		return Plan{Actions: []Action{SignOut{}, o.signIn(v)}, Discrepancy: SessionWithoutRecord}
	case ErrRefreshFailed:
		return Plan{Actions: []Action{SignOut{}, o.signIn(v)}, Discrepancy: DeadSession}
	}
	if o.SessionAppUserID != "" && o.SessionAppUserID != o.App.AppUserID {
		// The session is another app user's (a user switch): it cannot be
		// this one's, so end it without asking the token source first.
		return Plan{Actions: []Action{SignOut{}, o.signIn(v)}, Discrepancy: WrongUser}
	}
	if v == "" {
		if st == fsm.APIKey && o.SessionAppUserID == "" && (!o.AllowAPIKey || !envMatch(o)) {
			// An API-key session nothing attributes to the app's user, which
			// policy ends either way (in place or by a sign-out): it may be
			// another person's, so it ends before anything needs the network,
			// as a switch's does, rather than syncing on while a resolve is
			// sent, fails or its process dies.
			return Plan{Actions: []Action{SignOut{}, o.signIn(v)}, Discrepancy: APIKeyIncompatible}
		}
		return Plan{Actions: []Action{Resolve{AppUser: o.App.AppUserID}}, Discrepancy: VitalUserUnknown}
	}
	if o.resolveDue(st) {
		return Plan{Actions: []Action{Resolve{AppUser: o.App.AppUserID}}, Discrepancy: ResolveDue}
	}
	same := strings.EqualFold(o.SDK.CurrentUserID, v)
	switch st {
	case fsm.Token:
		if same && !envMismatch(o) {
			if o.LastError == ErrNeedsReauthentication {
				// iOS 1.4+ never shows pendingReauthentication in its status
				// (reference §1.2): the app's record of the SDK error is the
				// only sign, and a same-user token re-exchanges.
				return Plan{Actions: []Action{o.reauthenticate(v)}, Discrepancy: ReauthNeeded}
			}
			return Plan{Discrepancy: Consistent}
		}
	case fsm.ReauthRequired:
		if same && !envMismatch(o) {
			return Plan{Actions: []Action{o.reauthenticate(v)}, Discrepancy: ReauthNeeded}
		}
	case fsm.APIKey:
		if same && envMatch(o) {
			if o.AllowAPIKey {
				return Plan{Discrepancy: Consistent}
			}
			if _, migrated := o.LastAction.(Migrate); migrated && o.LastError == NoSDKError {
				// The migrate succeeded and the SDK is still in API-key mode:
				// identify returned at once (reference §2.7). Sign out, which
				// clears the external user ID, and sign in.
				return Plan{Actions: []Action{SignOut{}, o.signIn(v)}, Discrepancy: MigrationNotTaken}
			}
			return Plan{Actions: []Action{o.migrate(v)}, Discrepancy: APIKeyMode}
		}
		return Plan{Actions: []Action{SignOut{}, o.signIn(v)}, Discrepancy: APIKeyIncompatible}
	}
	return Plan{Actions: []Action{SignOut{}, o.signIn(v)}, Discrepancy: WrongUser}
}

// signIn, migrate and reauthenticate build the token actions for Vital
// user v, saying how each is applied: the SDK call the profile needs, and
// whether the launch's unused token fits it.
func (o *Observation) signIn(v string) SignIn {
	p := &o.Profile
	return SignIn{VitalUser: v, Identify: p.HasIdentify && p.SignInNeedsRelaunch, Reuse: o.reuse(v)}
}

func (o *Observation) migrate(v string) Migrate {
	p := &o.Profile
	return Migrate{VitalUser: v, Identify: p.HasIdentify && (!p.APIKeyMigrationPersists || p.SignInNeedsRelaunch),
		Reuse: o.reuse(v)}
}

func (o *Observation) reauthenticate(v string) Reauthenticate {
	return Reauthenticate{VitalUser: v, Reuse: o.reuse(v)}
}

// reuse: the unused token is for v, or v is not known (the token source's
// user is the goal then).
func (o *Observation) reuse(v string) bool {
	return o.UnusedToken != "" && (v == "" || strings.EqualFold(v, o.UnusedToken))
}

// resolveDue: on a profile that cannot detect a deleted user, a token
// session whose Vital user the token source has not named within the
// interval (nor in this launch).
func (o *Observation) resolveDue(st fsm.State) bool {
	if o.Profile.DetectsDeletion || st != fsm.Token || o.IssuedVitalUserID != "" {
		return false
	}
	every := o.ResolveInterval
	if every == 0 {
		every = DefaultResolveInterval
	}
	return o.LastResolvedAt.IsZero() || !o.Now.Before(o.LastResolvedAt.Add(every))
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

type wirePlan struct {
	Actions  []wireAction `json:"actions"`
	RetryAt  *time.Time   `json:"retry_at"`
	Terminal bool         `json:"terminal,omitempty"`
	Defer    bool         `json:"deferred,omitempty"`
}

// MarshalJSON encodes the plan as {"actions":[{"type":…}],"retry_at":…},
// with "terminal":true when the plan is terminal and "deferred":true when
// nothing can be decided now.
func (p Plan) MarshalJSON() ([]byte, error) {
	w := wirePlan{Actions: make([]wireAction, len(p.Actions)), Terminal: p.Terminal, Defer: p.Defer}
	for i, a := range p.Actions {
		w.Actions[i] = toWire(a)
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
	out := Plan{Actions: make([]Action, 0, len(w.Actions)), Terminal: w.Terminal, Defer: w.Defer}
	for i, wa := range w.Actions {
		a, err := wa.action("actions[" + strconv.Itoa(i) + "]")
		if err != nil {
			return err
		}
		out.Actions = append(out.Actions, a)
	}
	if w.RetryAt != nil {
		out.RetryAt = *w.RetryAt
	}
	*p = out
	return nil
}

type errUnknownAction ActionType

func (e errUnknownAction) Error() string { return "unknown action type \"" + string(e) + "\"" }
