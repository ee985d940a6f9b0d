package reconcile

import (
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
