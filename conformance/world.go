package conformance

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// scripted is the runner transcripts' world: an SDK on a profile as the
// planner's tests model it, a token source that maps app users to Vital
// users and mints numbered tokens, scripted failures, and the journal's
// events as the engine reports them. It logs the calls as the transcripts
// print them (reconcile/runner_test.go's fakeSDK and fakeTokens).
type scripted struct {
	p      fsm.Profile
	calls  SDKCalls
	st     fsm.State
	user   string
	env    fsm.Environment
	region fsm.Region
	hidden bool   // a session the status does not show (iOS 1.4+)
	ext    string // the stored external user ID (identify)
	errs   []reconcile.SDKError
	tokens map[string]string // token → Vital user

	users  map[string]string // app user → Vital user
	terrs  []*WireError
	minted int

	needsInit, initialised, locked bool

	now time.Time
	app StepApp
	// entry is the journal entry the engine last wrote or was given;
	// events the events it reported.
	entry  JournalEntry
	events []string
	log    []string
	// mutations counts the SDK calls that change its state, tokenCalls the
	// token source's calls.
	mutations, tokenCalls int
}

func newScripted(setup RunnerSetup) (*scripted, error) {
	p, ok := fsm.ParseProfile(setup.Profile)
	if !ok {
		return nil, fmt.Errorf("%w: unknown profile %q", ErrVectors, setup.Profile)
	}
	return &scripted{p: p, calls: setup.SDK, st: fsm.SignedOut, tokens: map[string]string{},
		users: map[string]string{"alice": "v-alice", "bob": "v-bob", "carol": "v-carol"}, now: ScenarioNow}, nil
}

func (w *scripted) record(format string, args ...any) {
	w.log = append(w.log, fmt.Sprintf(format, args...))
}

// apply performs a setup step (not launch or record).
func (w *scripted) apply(s Step) error {
	switch s.Op {
	case OpApp:
		if s.App == nil {
			return fmt.Errorf("%w: app step without app", ErrVectors)
		}
		w.app = *s.App
	case OpBackend:
		for k, v := range s.Backend {
			w.users[k] = v
		}
	case OpSDK:
		if s.SDK == nil {
			return fmt.Errorf("%w: sdk step without sdk", ErrVectors)
		}
		for _, n := range s.SDK.Fail {
			w.errs = append(w.errs, reconcile.SDKError(n))
		}
		if s.SDK.State != "" {
			st, ok := fsm.ParseState(s.SDK.State)
			if !ok {
				return fmt.Errorf("%w: unknown state %q", ErrVectors, s.SDK.State)
			}
			w.st, w.user, w.env, w.region = st, s.SDK.User, "", ""
			if st.SignedIn() {
				w.env, w.region = fsm.Sandbox, fsm.US
			}
		}
		w.ext, w.hidden = s.SDK.Ext, s.SDK.Hidden
		w.needsInit, w.initialised, w.locked = s.SDK.Uninitialized, false, s.SDK.Locked
	case OpTokens:
		if s.Tokens == nil {
			return fmt.Errorf("%w: tokens step without tokens", ErrVectors)
		}
		w.terrs = append(w.terrs, &WireError{Transient: s.Tokens.Transient, RetryAfterMS: s.Tokens.RetryAfterMS,
			Message: s.Tokens.Message})
	case OpAdvance:
		w.now = w.now.Add(time.Duration(s.AdvanceMS) * time.Millisecond)
	default:
		return fmt.Errorf("%w: step %q is not a setup step", ErrVectors, s.Op)
	}
	return nil
}

// mutating reports whether a call changes the world (a crash point).
func mutating(call string) bool {
	switch call {
	case CallSignIn, CallIdentify, CallSignOut, CallSignInToken, CallResolve, CallInitialize, CallJournalSaved:
		return true
	}
	return false
}

// handle answers one call.
func (w *scripted) handle(call string, args json.RawMessage) (any, *WireError, error) {
	switch call {
	case CallStatus:
		if w.needsInit && !w.initialised {
			return statusResult{Status: []string{}}, nil, nil
		}
		return statusResult{Status: nonNil(fsm.StatusOf(w.st, w.p).Names())}, nil, nil
	case CallCurrentUserID:
		if !w.st.SignedIn() || (w.needsInit && !w.initialised) {
			return userResult{}, nil, nil
		}
		u := w.user
		if w.p.UpperCaseUserID {
			u = strings.ToUpper(u)
		}
		return userResult{UserID: &u}, nil, nil
	case CallEnvironment:
		if w.env == "" {
			return envResult{}, nil, nil
		}
		e, r := string(w.env), string(w.region)
		return envResult{Environment: &e, Region: &r}, nil, nil
	case CallInitialize:
		if !w.calls.Initialize {
			return nil, nil, fmt.Errorf("%w: sdk.initialize in a world without it", ErrProtocol)
		}
		w.record("sdk.initialize()")
		w.initialised = true
		return struct{}{}, nil, nil
	case CallProtectedData:
		if !w.calls.ProtectedData {
			return nil, nil, fmt.Errorf("%w: sdk.protectedDataAvailable in a world without it", ErrProtocol)
		}
		return availableResult{Available: !w.locked}, nil, nil
	case CallSignIn:
		var a tokenArgs
		if err := decodeArgs(call, args, &a); err != nil {
			return nil, nil, err
		}
		return struct{}{}, w.signIn(a.Token), nil
	case CallIdentify:
		if !w.calls.Identify {
			return nil, nil, fmt.Errorf("%w: sdk.identifyExternalUser in a world without it", ErrProtocol)
		}
		var a identifyArgs
		if err := decodeArgs(call, args, &a); err != nil {
			return nil, nil, err
		}
		w.record("sdk.identifyExternalUser(%s, %s)", a.ExternalUserID, a.Token)
		if w.ext != "" && w.ext == a.ExternalUserID {
			return struct{}{}, nil, nil // identify short-circuits on the stored external ID (§2.6)
		}
		if werr := w.signIn(a.Token); werr != nil {
			return nil, werr, nil
		}
		w.ext = a.ExternalUserID
		return struct{}{}, nil, nil
	case CallSignOut:
		w.mutations++
		w.record("sdk.signOut()")
		w.st, w.user, w.env, w.region, w.hidden, w.ext = fsm.SignedOut, "", "", "", false, ""
		return struct{}{}, nil, nil
	case CallSignInToken:
		var a appUserArgs
		if err := decodeArgs(call, args, &a); err != nil {
			return nil, nil, err
		}
		w.tokenCalls++
		if len(w.terrs) > 0 {
			e := w.terrs[0]
			w.terrs = w.terrs[1:]
			w.record("tokens.signInToken(%s) → %s", a.AppUserID, e.Message)
			return nil, e, nil
		}
		w.minted++
		tok := "tok-" + a.AppUserID + "-" + string(rune('a'+w.minted))
		w.tokens[tok] = w.users[a.AppUserID]
		w.record("tokens.signInToken(%s) → %s, %s", a.AppUserID, w.users[a.AppUserID], tok)
		return tokenResult{UserID: w.users[a.AppUserID], SignInToken: tok}, nil, nil
	case CallResolve:
		var a appUserArgs
		if err := decodeArgs(call, args, &a); err != nil {
			return nil, nil, err
		}
		w.tokenCalls++
		w.record("tokens.resolveVitalUser(%s) → %s", a.AppUserID, w.users[a.AppUserID])
		return resolveResult{UserID: w.users[a.AppUserID]}, nil, nil
	case CallJournalSaved:
		var a savedArgs
		if err := decodeArgs(call, args, &a); err != nil {
			return nil, nil, err
		}
		if a.Event == "" {
			return nil, nil, fmt.Errorf("%w: journal.saved without an event", ErrProtocol)
		}
		if _, err := a.Entry.Reconcile(); err != nil {
			return nil, nil, err
		}
		w.entry, w.events = a.Entry, append(w.events, a.Event)
		return struct{}{}, nil, nil
	case CallRand:
		return randResult{Value: 0.5}, nil, nil
	}
	return nil, nil, fmt.Errorf("%w: unknown call %q", ErrProtocol, call)
}

func (w *scripted) signIn(tok string) *WireError {
	w.mutations++
	if len(w.errs) > 0 {
		e := w.errs[0]
		w.errs = w.errs[1:]
		w.record("sdk.signIn(%s) → %v", tok, e)
		return &WireError{SDKError: string(e), Message: e.Error()}
	}
	w.record("sdk.signIn(%s)", tok)
	if w.hidden || (w.st == fsm.Token && w.p.SameUserSignInThrows) {
		return &WireError{SDKError: string(reconcile.ErrAlreadySignedIn), Message: reconcile.ErrAlreadySignedIn.Error()}
	}
	w.st, w.user, w.env, w.region = fsm.Token, w.tokens[tok], fsm.Sandbox, fsm.US
	return nil
}

func decodeArgs(call string, args json.RawMessage, v any) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s without args", ErrProtocol, call)
	}
	if err := json.Unmarshal(args, v); err != nil {
		return fmt.Errorf("%w: %s's args: %v", ErrProtocol, call, err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// agrees is the world's judgement after a launch: the app signed out and
// no session, or a token session of the app user's Vital user (as the
// token source maps it now). wrongUser: a session of another Vital user
// than the app user's, or any while the app is signed out.
func (w *scripted) judge() (agrees, wrongUser bool) {
	signedIn := w.st.SignedIn() || w.hidden
	if !w.app.SignedIn {
		return !signedIn, signedIn
	}
	want := w.users[w.app.AppUserID]
	if !signedIn {
		return false, false
	}
	same := strings.EqualFold(w.user, want)
	return same && w.st == fsm.Token && !w.hidden, !same
}
