package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/fsm"
	"pgregory.net/rapid"
)

// sdkModel is the reference model of one SDK installation: its state, the
// Vital user of its session, and the environment and region it runs in.
type sdkModel struct {
	st     fsm.State
	user   string
	env    fsm.Environment
	region fsm.Region
}

// world is what the model needs besides the SDK: the app's session and the
// Vital user the backend maps the app user to (what a token carries).
type world struct {
	app     AppSession
	backend string // the app user's Vital user at the backend
	issued  string // what the token source said during this launch
	p       fsm.Profile
	allow   bool
}

// outcome is how one action ends in the model.
type outcome int

const (
	done    outcome = iota
	stale           // the token source named another Vital user: nothing changed
	refused         // the SDK throws, or the action would be unsafe
)

// sameSession is the SDKs' isSameUser (team, user and environment, §2.5);
// an unknown environment on either side is taken as the same.
func sameSession(w *world, m sdkModel, user string) bool {
	return strings.EqualFold(m.user, user) &&
		(m.env == "" || w.app.Environment == "" || m.env == w.app.Environment) &&
		(m.region == "" || w.app.Region == "" || m.region == w.app.Region)
}

// applyModel applies one action to the model. The state it leads to is the
// fsm transition table's (fsm.Next over the action's event); the guards are
// the reference's user and environment checks (§2.5–2.7, §5), and a token
// carries the backend's user: a plan naming another one is stale.
func applyModel(w *world, m sdkModel, a Action) (sdkModel, outcome) {
	if r, ok := a.(Resolve); ok {
		if r.AppUser != w.app.AppUserID {
			return m, refused
		}
		w.issued = w.backend
		return m, done
	}
	e, _ := eventOf(a)
	next, ok := fsm.Next(w.p, m.st, e)
	if !ok {
		return m, refused
	}
	if _, out := a.(SignOut); out {
		return sdkModel{st: next}, done
	}
	if v := VitalUserOf(a); v != "" && !strings.EqualFold(v, w.backend) {
		w.issued = w.backend
		return m, stale
	}
	w.issued = w.backend
	switch a.(type) {
	case SignIn:
		if m.st == fsm.Token && !sameSession(w, m, w.backend) {
			return m, refused // alreadySignedIn
		}
		if m.st == fsm.Token {
			return m, done // iOS 1.4+: a same-user sign-in is a no-op
		}
		return sdkModel{st: next, user: w.backend, env: w.app.Environment, region: w.app.Region}, done
	case Migrate:
		if !strings.EqualFold(m.user, w.backend) || m.env == "" || m.env != w.app.Environment ||
			m.region == "" || m.region != w.app.Region {
			return m, refused
		}
	case Reauthenticate:
		if !sameSession(w, m, w.backend) {
			return m, refused
		}
	}
	return sdkModel{st: next, user: m.user, env: m.env, region: m.region}, done
}

// goal reports whether the model agrees with the app.
func goal(w *world, m sdkModel) bool {
	if !w.app.SignedIn {
		return m.st == fsm.SignedOut
	}
	envOK := func() bool {
		return (m.env == "" || w.app.Environment == "" || m.env == w.app.Environment) &&
			(m.region == "" || w.app.Region == "" || m.region == w.app.Region)
	}
	switch m.st {
	case fsm.Token:
		return strings.EqualFold(m.user, w.backend) && envOK()
	case fsm.APIKey:
		return w.allow && strings.EqualFold(m.user, w.backend) && m.env != "" && m.env == w.app.Environment &&
			m.region != "" && m.region == w.app.Region
	}
	return false
}

// shortest is the brute-force reference: the length of a shortest action
// sequence that reaches the goal (the app's Vital user known), by breadth
// first search over every action the model offers.
func shortest(w world, start sdkModel) int {
	if goal(&w, start) {
		return 0
	}
	users := []string{w.backend, start.user}
	var alphabet []Action
	alphabet = append(alphabet, SignOut{})
	for _, u := range users {
		alphabet = append(alphabet, SignIn{VitalUser: u}, Migrate{VitalUser: u}, Reauthenticate{VitalUser: u})
	}
	frontier := []sdkModel{start}
	for depth := 1; depth <= 4; depth++ {
		var next []sdkModel
		for _, m := range frontier {
			for _, a := range alphabet {
				ww := w
				n, res := applyModel(&ww, m, a)
				if res != done {
					continue
				}
				if goal(&ww, n) {
					return depth
				}
				next = append(next, n)
			}
		}
		frontier = next
	}
	return -1
}

// observe builds the observation an SDK in model state m reports.
func observe(w *world, m sdkModel, last fsm.State, now time.Time) Observation {
	o := Observation{Profile: w.p, App: w.app, LastObserved: last, Now: now, AllowAPIKey: w.allow,
		LastResolvedAt: now} // a reconciler that has just asked the token source
	if w.app.SignedIn {
		o.IssuedVitalUserID = w.issued
	}
	o.SDK.Status = fsm.StatusOf(m.st, w.p)
	if m.st.SignedIn() {
		o.SDK.CurrentUserID = m.user
		if w.p.UpperCaseUserID {
			o.SDK.CurrentUserID = strings.ToUpper(m.user)
		}
		o.SDK.Environment, o.SDK.Region = m.env, m.region
	}
	return o
}

// genCase draws a world and an SDK model state.
func genCase(t *rapid.T) (world, sdkModel) {
	p := rapid.SampledFrom(fsm.Profiles()).Draw(t, "profile")
	users := []string{"3f0c1a52-8d2e-4b7a-9c1d-5e6f7a8b9c01", "9a8b7c6d-0000-4111-8222-933344445555"}
	envs := []fsm.Environment{"", fsm.Sandbox, fsm.Production}
	regions := []fsm.Region{"", fsm.US, fsm.EU}
	w := world{p: p, allow: rapid.Bool().Draw(t, "allow-api-key")}
	w.backend = rapid.SampledFrom(users).Draw(t, "backend-user")
	if rapid.Bool().Draw(t, "app-signed-in") {
		w.app = AppSession{SignedIn: true, AppUserID: "app-user"}
		if rapid.IntRange(0, 3).Draw(t, "app-knows-vital-user") > 0 {
			w.app.VitalUserID = w.backend
		}
		w.app.Environment = rapid.SampledFrom(envs).Draw(t, "app-env")
		w.app.Region = rapid.SampledFrom(regions).Draw(t, "app-region")
	}
	st := rapid.SampledFrom(fsm.States()).Draw(t, "sdk-state")
	m := sdkModel{st: st}
	if st.SignedIn() {
		m.user = rapid.SampledFrom(users).Draw(t, "sdk-user")
		m.env = rapid.SampledFrom(envs).Draw(t, "sdk-env")
		m.region = rapid.SampledFrom(regions).Draw(t, "sdk-region")
	}
	if st == fsm.ReauthRequired && !p.ReportsPendingReauth {
		m.st = fsm.Token // iOS 1.4+ cannot report it
	}
	if st == fsm.UserDeleted && p.AutoSignOutOnDeletion {
		m.st = fsm.SignedOut
	}
	return w, m
}

// lastFor is the state a reconciler would have persisted before observing m.
func lastFor(m sdkModel) fsm.State {
	if m.st == fsm.UserDeleted {
		return fsm.Token
	}
	return m.st
}

// run applies a plan to the model, checking safety after every step.
func run(t *rapid.T, w *world, m sdkModel, p Plan) sdkModel {
	for i, a := range p.Actions {
		n, res := applyModel(w, m, a)
		require.Equal(t, done, res, "step %d %s fails on %+v", i, a, m)
		if n.st.SignedIn() && w.app.VitalUserID != "" {
			require.True(t, strings.EqualFold(n.user, w.app.VitalUserID) || n == m,
				"step %d %s signs in as %s, app's user is %s", i, a, n.user, w.app.VitalUserID)
		}
		m = n
	}
	return m
}

var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// TestPlanMatchesBruteForce: every plan is a shortest path to the goal in the
// profile's model, and no plan passes through a wrong-user session.
func TestPlanMatchesBruteForce(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w, m := genCase(t)
		o := observe(&w, m, lastFor(m), now)
		require.NoError(t, o.Validate())
		p := o.Plan()
		if w.app.SignedIn && w.app.VitalUserID == "" && m.st.SignedIn() {
			if m.st == fsm.APIKey && (!w.allow || !envMatch(&o)) {
				// An API-key session nothing attributes to the app's user
				// ends before anything needs the network: sign out, sign in
				// as the token source says, never through another user.
				require.Equal(t, APIKeyIncompatible, p.Discrepancy)
				require.Len(t, p.Actions, 2, "plan %s", p)
				require.Equal(t, SignOut{}, p.Actions[0])
				require.Equal(t, TypeSignIn, p.Actions[1].Type())
				require.Empty(t, VitalUserOf(p.Actions[1]))
				end := run(t, &w, m, p)
				require.True(t, goal(&w, end), "plan %s from %+v ends in %+v", p, m, end)
				return
			}
			require.Equal(t, []Action{Resolve{AppUser: w.app.AppUserID}}, p.Actions)
			return
		}
		want := shortest(w, m)
		require.NotEqual(t, -1, want, "goal unreachable from %+v", m)
		require.Len(t, p.Actions, want, "plan %s from %s (%+v), want %d actions", p, p.Observed, m, want)
		end := run(t, &w, m, p)
		require.True(t, goal(&w, end), "plan %s from %+v ends in %+v", p, m, end)
	})
}

// TestPlanIdempotent: after a successful plan (and one more pass after a
// Resolve), planning again yields nothing; a consistent launch stays quiet.
func TestPlanIdempotent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w, m := genCase(t)
		last := lastFor(m)
		for pass := 0; pass < 3; pass++ {
			o := observe(&w, m, last, now)
			p := o.Plan()
			if p.Empty() {
				require.Equal(t, Consistent, p.Discrepancy)
				require.True(t, p.RetryAt.IsZero())
				require.LessOrEqual(t, pass, 2)
				require.True(t, goal(&w, m) || (w.app.SignedIn && w.app.VitalUserID == ""), "empty plan off goal: %+v", m)
				// Quiet: every later launch plans nothing too.
				for i := 0; i < 3; i++ {
					again := observe(&w, m, o.stateOrEmpty(), now.Add(time.Duration(i)*time.Hour))
					require.True(t, again.Plan().Empty())
				}
				return
			}
			hasResolve := p.Actions[0].Type() == TypeResolve
			m = run(t, &w, m, p)
			last = m.st
			if !hasResolve {
				o2 := observe(&w, m, last, now)
				require.True(t, o2.Plan().Empty(), "after %s, plan again = %s", p, o2.Plan())
				return
			}
		}
		t.Fatalf("did not converge")
	})
}

func (o *Observation) stateOrEmpty() fsm.State {
	st, err := o.State()
	if err != nil {
		return ""
	}
	return st
}

// TestPlanBackoff: with NextAttemptAt in the future a plan that needs the
// network is deferred whole; a plan without work, or of sign-outs alone, is
// not.
func TestPlanBackoff(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w, m := genCase(t)
		o := observe(&w, m, lastFor(m), now)
		base := o.Plan()
		o.NextAttemptAt = now.Add(time.Duration(rapid.IntRange(1, 3600).Draw(t, "wait-s")) * time.Second)
		p := o.Plan()
		if !base.Empty() && !needsNetwork(base.Actions) {
			require.Equal(t, base, p, "a local sign-out never waits")
			return
		}
		// The sign-outs that lead the plan run now; the rest waits.
		require.Equal(t, leadingSignOuts(base.Actions), p.Actions)
		for _, a := range p.Actions {
			require.Equal(t, TypeSignOut, a.Type())
		}
		if base.Empty() {
			require.True(t, p.RetryAt.IsZero())
		} else {
			require.Equal(t, o.NextAttemptAt, p.RetryAt)
			require.Equal(t, BackingOff, p.Discrepancy)
		}
		o.NextAttemptAt = now.Add(-time.Second)
		require.Equal(t, base, o.Plan(), "a due retry plans as if there were no backoff")
	})
}

// TestPlanDeterministic: the same observation always yields the same plan.
func TestPlanDeterministic(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w, m := genCase(t)
		o := observe(&w, m, lastFor(m), now)
		require.Equal(t, o.Plan(), o.Plan())
	})
}

// TestPlanNeverAPIKeyGoal: without the policy flag, an API-key session is
// never left in place when the app is signed in.
func TestPlanNeverAPIKeyGoal(t *testing.T) {
	for _, p := range fsm.Profiles() {
		o := Observation{Profile: p, Now: now,
			App: AppSession{SignedIn: true, AppUserID: "u", VitalUserID: "v", Environment: fsm.Sandbox, Region: fsm.US},
			SDK: SDKObservation{Status: fsm.StatusOf(fsm.APIKey, p), CurrentUserID: "v", Environment: fsm.Sandbox, Region: fsm.US}}
		pl := o.Plan()
		identify := p.HasIdentify && (!p.APIKeyMigrationPersists || p.SignInNeedsRelaunch)
		require.Equal(t, []Action{Migrate{VitalUser: "v", Identify: identify}}, pl.Actions, "%s", p)
		o.AllowAPIKey = true
		require.True(t, o.Plan().Empty(), "%s", p)
	}
}

func TestInvalidObservationPlansNothing(t *testing.T) {
	p, _ := fsm.ParseProfile("ios-1.8")
	o := Observation{Profile: p, Now: now, SDK: SDKObservation{Status: fsm.FlagSignedIn}}
	pl := o.Plan()
	require.Empty(t, pl.Actions)
	require.Equal(t, Invalid, pl.Discrepancy)
	require.ErrorIs(t, o.Validate(), ErrInvalidObservation)
}

// modelSDK is the SDK of the model (sdkModel, stepped through the fsm
// table by the SDK call's event), driven by the real Runner: the engine
// test's device. Faults are one-shot and scripted.
type modelSDK struct {
	locked  bool // protected data unreadable (lockedSDK reports it)
	w       *world
	m       sdkModel
	ext     string  // the stored external user ID (identify)
	hidden  bool    // a session the status does not show (iOS 1.4+)
	errs    []error // returned by the next sign-ins, in order
	tokens  map[string]string
	unsafe  []string // sign-ins as another user than the backend's
	history []sdkModel
}

func (s *modelSDK) Status() fsm.Status { return fsm.StatusOf(s.m.st, s.w.p) }

func (s *modelSDK) CurrentUserID() string {
	if !s.m.st.SignedIn() {
		return ""
	}
	if s.w.p.UpperCaseUserID {
		return strings.ToUpper(s.m.user)
	}
	return s.m.user
}

func (s *modelSDK) Environment() (fsm.Environment, fsm.Region, bool) {
	return s.m.env, s.m.region, s.m.env != "" || s.m.region != ""
}

// SignIn exchanges a token: the event is the one the SDK's state makes of a
// signIn (a migration from an API-key session, a re-exchange from a pending
// one, a sign-in otherwise), the next state the table's.
func (s *modelSDK) SignIn(_ context.Context, tok string) error {
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		return err
	}
	if s.hidden {
		return ErrAlreadySignedIn
	}
	user, ok := s.tokens[tok]
	if !ok {
		return ErrInvalidSignInToken
	}
	if s.w.app.SignedIn && !strings.EqualFold(user, s.w.backend) {
		s.unsafe = append(s.unsafe, user)
	}
	e := fsm.EventSignIn
	switch s.m.st {
	case fsm.APIKey:
		e = fsm.EventMigrate
	case fsm.ReauthRequired:
		e = fsm.EventReauthenticate
	case fsm.Token:
		if !sameSession(s.w, s.m, user) {
			return ErrAlreadySignedIn
		}
		if !s.w.p.ReportsPendingReauth {
			e = fsm.EventReauthenticate // a hidden pending reauthentication
		}
	}
	next, ok := fsm.Next(s.w.p, s.m.st, e)
	if !ok {
		return ErrAlreadySignedIn
	}
	if e == fsm.EventMigrate && (!strings.EqualFold(s.m.user, user) || s.m.env != s.w.app.Environment) {
		return ErrAlreadySignedIn
	}
	s.set(sdkModel{st: next, user: user, env: s.w.app.Environment, region: s.w.app.Region})
	return nil
}

// IdentifyWithSignInToken short-circuits on the stored external ID (§2.6).
func (s *modelSDK) IdentifyWithSignInToken(ctx context.Context, ext, tok string) error {
	if s.w.p.IdentifyShortCircuits && s.ext != "" && s.ext == ext {
		return nil
	}
	if err := s.SignIn(ctx, tok); err != nil {
		return err
	}
	s.ext = ext
	return nil
}

func (s *modelSDK) SignOut(context.Context) error {
	next, _ := fsm.Next(s.w.p, s.m.st, fsm.EventSignOut)
	s.set(sdkModel{st: next})
	s.ext, s.hidden = "", false
	return nil
}

func (s *modelSDK) set(m sdkModel) {
	s.m = m
	s.history = append(s.history, m)
}

// lockedSDK reports whether protected data is readable.
type lockedSDK struct{ *modelSDK }

func (s lockedSDK) ProtectedDataAvailable() bool { return !s.locked }

// modelTokens is the backend: it maps the app user to w.backend.
type modelTokens struct {
	sdk   *modelSDK
	errs  []error
	calls int
}

func (f *modelTokens) SignInToken(_ context.Context, appUser string) (string, string, error) {
	f.calls++
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return "", "", err
	}
	tok := fmt.Sprintf("tok-%d", f.calls)
	f.sdk.tokens[tok] = f.sdk.w.backend
	return f.sdk.w.backend, tok, nil
}

func (f *modelTokens) ResolveVitalUser(context.Context, string) (string, error) {
	f.calls++
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return "", err
	}
	return f.sdk.w.backend, nil
}

// The faults the engine test injects, each a planner rule's reason to be.
const (
	faultNone              = "none"
	faultInvalidToken      = "invalid sign-in token once"
	faultInvalidTokenTwice = "invalid sign-in token twice"
	faultHiddenSession     = "a session the status hides"
	faultShortCircuit      = "identify short-circuits on the API-key build's user"
	faultTransient         = "token source unavailable once"
	faultReplacedUser      = "the app's Vital user was replaced at the backend"
	faultRecordedReauth    = "needsReauthentication recorded between launches"
	faultNoRecord          = "notSignedIn recorded: a session without a record"
	faultLocked            = "protected data locked on the first launch"
)

// TestEngineConvergesInTheModel drives the real Runner against the model
// SDK and backend, from every state the model can be in, with at most one
// fault of each kind a planner rule recovers from. It checks that:
//
//   - a fault-free launch agrees within 3 passes that act, and every launch
//     within MaxPasses (the bound the runner enforces);
//   - what each pass applied is a prefix of its plan (CheckApplied);
//   - no sign-in ever signs the SDK in as another user than the backend's;
//   - a world with faults agrees within three launches (a transient
//     failure waits out its backoff; a terminal end is retried by the next
//     launch), and the launch after agreement is quiet.
func TestEngineConvergesInTheModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w, m := genCase(t)
		fault := rapid.SampledFrom([]string{faultNone, faultInvalidToken, faultInvalidTokenTwice, faultHiddenSession,
			faultShortCircuit, faultTransient, faultReplacedUser, faultRecordedReauth, faultNoRecord,
			faultLocked}).Draw(t, "fault")
		sdk := &modelSDK{w: &w, m: m, tokens: map[string]string{}}
		tokens := &modelTokens{sdk: sdk}
		journal := &memJournal{e: JournalEntry{LastObserved: lastFor(m)}}
		clock := now
		appSession := w.app
		switch fault {
		case faultInvalidToken:
			sdk.errs = []error{ErrInvalidSignInToken}
		case faultInvalidTokenTwice:
			sdk.errs = []error{ErrInvalidSignInToken, ErrInvalidSignInToken}
		case faultHiddenSession:
			if !w.p.SignInNeedsRelaunch || !w.app.SignedIn || m.st.SignedIn() {
				t.Skip("only iOS 1.4+ hides a session, behind {configured}")
			}
			sdk.m, sdk.hidden = sdkModel{st: fsm.Configured}, true
			journal.e.LastObserved = fsm.Configured
		case faultShortCircuit:
			if !w.p.IdentifyShortCircuits || !w.app.SignedIn {
				t.Skip("needs identify and an app user")
			}
			sdk.m = sdkModel{st: fsm.APIKey, user: w.backend, env: w.app.Environment, region: w.app.Region}
			sdk.ext = w.app.AppUserID
			journal.e.LastObserved = fsm.APIKey
		case faultTransient:
			tokens.errs = []error{transientErr{msg: "503"}}
		case faultReplacedUser:
			if !w.app.SignedIn {
				t.Skip("needs an app user")
			}
			appSession.VitalUserID = "00000000-dead-4000-8000-000000000000" // deleted; replaced by w.backend
		case faultRecordedReauth:
			if !w.app.SignedIn {
				t.Skip("needs an app user")
			}
			sdk.m = sdkModel{st: fsm.Token, user: w.backend, env: w.app.Environment, region: w.app.Region}
			journal.e = JournalEntry{LastObserved: fsm.Token, LastError: ErrNeedsReauthentication}
		}
		var port SDK = sdk
		switch fault {
		case faultNoRecord:
			if !w.app.SignedIn {
				t.Skip("needs an app user")
			}
			sdk.m = sdkModel{st: fsm.Token, user: w.backend, env: w.app.Environment, region: w.app.Region}
			journal.e = JournalEntry{LastObserved: fsm.Token, LastError: ErrNotSignedIn}
		case faultLocked:
			sdk.locked = true
			port = lockedSDK{sdk}
		}
		w.app = appSession
		r, err := NewRunner(Config{Profile: w.p, SDK: port, Tokens: tokens, Journal: journal,
			App: func() AppSession { return appSession }, Now: func() time.Time { return clock },
			Rand: func() float64 { return 0.5 }, AllowAPIKey: w.allow})
		require.NoError(t, err)

		for launch := 1; ; launch++ {
			w.issued = ""
			out, err := r.Run(context.Background())
			require.NoError(t, out.CheckApplied())
			require.LessOrEqual(t, actingPasses(out), MaxPasses)
			require.Empty(t, sdk.unsafe, "a sign-in as another user than the backend's")
			if fault == faultNone {
				require.NoError(t, err, "a fault-free launch agrees")
				require.LessOrEqual(t, actingPasses(out), 3, "passes: %+v", out.Passes)
			}
			if fault == faultLocked && launch == 1 {
				require.NoError(t, err)
				require.Equal(t, ResultDeferred, out.Result, "nothing is decided while protected data is locked")
				// But the sign-out of a session the app may not keep: the
				// only action, and the only reason to write.
				for _, h := range sdk.history {
					require.Equal(t, fsm.SignedOut, h.st, "nothing is done but a sign-out")
				}
				if len(sdk.history) == 0 {
					require.Zero(t, journal.saves, "or written")
				}
				sdk.locked = false
				continue
			}
			if err == nil && out.Result != ResultDeferred {
				require.Contains(t, []Result{ResultApplied, ResultNothingToDo}, out.Result)
				w.issued = ""
				require.True(t, goal(&w, sdk.m),
					"launch %d ended off goal: %+v (fault %s)", launch, sdk.m, fault)
				break
			}
			var re *RunError
			if err != nil {
				require.ErrorAs(t, err, &re)
				require.NotEqual(t, ClassCancelled, re.Class)
			}
			require.Less(t, launch, 3, "no agreement after %d launches (fault %s): %v", launch, fault, err)
			if !out.RetryAt.IsZero() {
				clock = out.RetryAt.Add(time.Second)
			}
		}
		// Quiet from then on.
		calls, saves, hist := tokens.calls, journal.saves, len(sdk.history)
		out, err := r.Run(context.Background())
		require.NoError(t, err)
		require.Equal(t, ResultNothingToDo, out.Result)
		require.Equal(t, []int{calls, saves, hist}, []int{tokens.calls, journal.saves, len(sdk.history)})
	})
}

// actingPasses counts the passes of a launch that applied something.
func actingPasses(out Outcome) int {
	n := 0
	for _, p := range out.Passes {
		if len(p.Applied) > 0 {
			n++
		}
	}
	return n
}

// TestEngineTerminalIsNotRetriedWithBackoff: an error without a rule ends
// the launch terminal at once, with no retry schedule, and the next launch
// tries again.
func TestEngineTerminalIsNotRetriedWithBackoff(t *testing.T) {
	h := newHarness(t, "android-5.0", false)
	h.signInApp("alice")
	h.tokens.errs = []error{errors.New("issuer: 403 another user")}
	out, err := h.runner.Run(context.Background())
	var re *RunError
	require.ErrorAs(t, err, &re)
	require.Equal(t, ClassTerminal, re.Class)
	require.Equal(t, ResultTerminal, out.Result)
	require.True(t, re.RetryAt.IsZero())
	require.True(t, h.journal.e.NextAttemptAt.IsZero())
	require.Equal(t, ErrUnknown, h.journal.e.LastError)
	require.Equal(t, 1, h.tokens.calls, "no second try in the same launch")

	out, err = h.runner.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, ResultApplied, out.Result)
}
