package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
)

// JournalEntry is what the runner persists per installation. The runner
// changes it only through its transitions (below), pure functions of the
// entry, the action and how it ended; it saves what they return.
type JournalEntry struct {
	// LastObserved is the state the runner last classified the SDK in.
	LastObserved fsm.State
	// Environment and Region are the SDK configuration last observed.
	Environment fsm.Environment
	Region      fsm.Region
	// AppUserID and VitalUserID attribute the SDK's session: the app user
	// the reconciler last served and their Vital user, as last settled or
	// learned from the token source. The attribution rule: a sign-in or a
	// migration for another app user than the entry's moves the entry to
	// that user (and the Vital user the action names) when it starts,
	// since any session after it, crash or not, is that user's. Other
	// actions leave it alone: a session the journal did not see start (one
	// there before a reinstall, or before a crash in a switch) is nobody's
	// until the token source names its user.
	AppUserID   string
	VitalUserID string
	// InFlight is the action being applied; nil when none. A launch that
	// finds it set knows its predecessor died mid-action.
	InFlight Action
	// LastAction is the action applied last and LastError the SDK error it
	// ended with (NoSDKError: it succeeded), or the error the app recorded
	// (RecordSDKError, with LastAction nil). Both clear when a launch settles.
	LastAction Action
	LastError  SDKError
	// Attempts counts the failed attempts since the last agreement (a
	// terminal end starts the count afresh); backoff grows with it.
	Attempts int
	// NextAttemptAt is when a backed-off run may act again.
	NextAttemptAt time.Time
	// LastResolvedAt is when the token source last named the app user's
	// Vital user (see Observation.LastResolvedAt).
	LastResolvedAt time.Time
}

// Journal persists the runner's entry for one installation. Load returns
// the zero entry when there is none. Save writes one entry and appends
// event to the installation's history, in one transaction.
type Journal interface {
	Load(ctx context.Context) (JournalEntry, error)
	Save(ctx context.Context, e JournalEntry, event string) error
}

// actionEnd is how an applied action ended, as the runner reports it back
// to the journal: its class ("" when it succeeded; ClassStale when its
// token carried another Vital user and was not applied), its SDK error and
// the server's Retry-After, when it ended, and, for a transient failure,
// the random draw in [0,1) its backoff jitters by.
type actionEnd struct {
	class      ErrorClass
	sdkErr     SDKError
	retryAfter time.Duration
	at         time.Time
	draw       float64
}

// resumed is the entry a launch starts from: an action left in flight is
// dropped (its process died; the observation is level-based, and the
// launch reports the action as interrupted).
func (e JournalEntry) resumed() JournalEntry {
	e.InFlight = nil
	return e
}

// observed records the state a pass classified the SDK in.
func (e JournalEntry) observed(st fsm.State) JournalEntry {
	e.LastObserved = st
	return e
}

// started is the entry journaled before a is applied for appUser ("" when
// the app is signed out), with its event: a in flight, and the attribution
// rule (see AppUserID).
func (e JournalEntry) started(a Action, appUser string) (JournalEntry, string) {
	e.InFlight = a
	switch a.(type) {
	case SignIn, Migrate:
		if appUser != "" && e.AppUserID != appUser {
			e.AppUserID, e.VitalUserID = appUser, VitalUserOf(a)
		}
	}
	return e, "start " + a.String()
}

// journaledBefore reports whether a's start entry is written before a is
// applied. A sign-out's is not: it is local and idempotent, and it changes
// no attribution, so a process that dies before the sign-out is durable
// leaves the session, which the next launch observes and signs out again;
// a start entry would only be one more write, one more instant to die in,
// before the session ends (the simulations' fair crash model measured it
// as the engine's excess wrong-user time after a crash). Every other action
// is journaled before it: a sign-in or migration moves the attribution
// when it starts, and a resolve is recorded as in flight.
func journaledBefore(a Action) bool { return a.Type() != TypeSignOut }

// ended is the entry journaled after a, applied for appUser, ended as end,
// with ans the token source's last answer in the launch, and its event:
//
//   - success: a is the last action, with no error; the answer, when it is
//     for appUser, becomes the entry's attribution and resolve time;
//   - stale: the answer becomes the attribution and resolve time; the last
//     action and error stay (nothing failed);
//   - cancelled: nothing but the action in flight changes;
//   - transient or terminal: a is the last action with its SDK error, one
//     more attempt is counted, and a transient one schedules the next
//     attempt after b's delay for that count.
func (e JournalEntry) ended(a Action, end actionEnd, ans Answer, appUser string, b Backoff) (JournalEntry, string) {
	e.InFlight = nil
	switch end.class {
	case "":
		e.LastAction, e.LastError = a, NoSDKError
		if ans.VitalUser != "" && ans.AppUser == appUser {
			e.AppUserID, e.VitalUserID, e.LastResolvedAt = ans.AppUser, ans.VitalUser, ans.At
		}
		return e, "done " + a.String()
	case ClassStale:
		e.AppUserID, e.VitalUserID, e.LastResolvedAt = ans.AppUser, ans.VitalUser, ans.At
		return e, "stale " + a.String() + ": token source names " + ans.VitalUser
	case ClassCancelled:
		return e, "cancelled " + a.String()
	}
	e.LastAction, e.LastError = a, end.sdkErr
	e.Attempts++
	if end.class == ClassTransient {
		e.NextAttemptAt = end.at.Add(b.Delay(e.Attempts, end.draw, end.retryAfter))
	}
	return e, fmt.Sprintf("failed %s (%s: %s)", a, end.class, string(end.sdkErr))
}

// terminal is the entry journaled when a launch ends with no rule left for
// its last error: the error stays for the next launch to read, the count
// and the backoff start afresh.
func (e JournalEntry) terminal() (JournalEntry, string) {
	e.InFlight, e.Attempts, e.NextAttemptAt = nil, 0, time.Time{}
	return e, "terminal after " + actionString(e.LastAction) + " (" + string(e.LastError) + ")"
}

// settled is the entry of a launch that ends in agreement in state st, its
// event, and whether it is written: the last action, error, count and
// backoff clear; a signed-in app's user and goal Vital user become the
// attribution; the SDK's environment is kept while it holds a session. A
// launch that applied nothing and whose loaded entry is already that one
// writes nothing (a consistent launch costs no write).
func (e JournalEntry) settled(loaded JournalEntry, o *Observation, st fsm.State, acted bool) (JournalEntry, string, bool) {
	e.InFlight, e.LastAction, e.LastError = nil, nil, NoSDKError
	e.Attempts, e.NextAttemptAt = 0, time.Time{}
	if o.App.SignedIn {
		e.AppUserID, e.VitalUserID = o.App.AppUserID, o.GoalVitalUser()
	}
	if st.SignedIn() {
		e.Environment, e.Region = o.SDK.Environment, o.SDK.Region
	} else {
		e.Environment, e.Region = "", ""
	}
	switch {
	case acted:
		return e, "settled in " + string(st), true
	case e == loaded:
		return e, "", false
	}
	return e, "observed " + string(st), true
}

// recorded is the entry after the app recorded SDK error err between
// launches (RecordSDKError), and whether it changed: the error with no
// action, the count afresh.
func (e JournalEntry) recorded(err SDKError) (JournalEntry, string, bool) {
	if e.LastError == err && e.LastAction == nil {
		return e, "", false
	}
	e.LastAction, e.LastError, e.Attempts = nil, err, 0
	return e, "recorded " + string(err), true
}

// ErrInvalidJournalEntry is matched (errors.Is) by a journal's refusal of
// an entry or event it cannot store: Journal implementations return it from
// Save, with nothing changed.
var ErrInvalidJournalEntry = errors.New("reconcile: invalid journal entry")

// Validate reports whether a journal can store e with event: a known state
// (or none), environment, region and SDK error, non-negative attempts, and
// a non-empty event.
func (e JournalEntry) Validate(event string) error {
	bad := func(field string) error { return fmt.Errorf("%w: %s", ErrInvalidJournalEntry, field) }
	switch {
	case event == "":
		return bad("event")
	case e.LastObserved != "" && !validState(e.LastObserved):
		return bad("last_observed")
	case e.Environment != "" && !validEnv(e.Environment):
		return bad("environment")
	case e.Region != "" && !validRegion(e.Region):
		return bad("region")
	case e.Attempts < 0:
		return bad("attempts")
	}
	if _, ok := ParseSDKError(string(e.LastError)); !ok {
		return bad("last_error")
	}
	return nil
}

func validState(st fsm.State) bool    { _, ok := fsm.ParseState(string(st)); return ok }
func validEnv(e fsm.Environment) bool { _, ok := fsm.ParseEnvironment(string(e)); return ok }
func validRegion(r fsm.Region) bool   { _, ok := fsm.ParseRegion(string(r)); return ok }
