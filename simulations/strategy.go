package simulations

import (
	"context"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/installation"
	"github.com/vitalsync/vitalsync/reconcile"
)

// Strategy is a way for an app to keep the SDK's sign-in state in line with
// its user at launch. The world gives every strategy the same installations,
// schedules and faults (paired on the seed), so their measures compare.
// Adding one is one file: a type with these two methods, listed in
// Strategies.
type Strategy interface {
	// Name is the strategy's stable name (flags, reports).
	Name() string
	// Launch is the strategy's work in one launch of p. It returns what it
	// applied; an error ends the launch (no strategy retries within one).
	Launch(ctx context.Context, p *Process) LaunchResult
}

// Process is one process start of an installation, as a strategy sees it.
type Process struct {
	Profile fsm.Profile
	// Installation is the launch composed by installation: the SDK
	// core opened on the device's stores, and the reconcile runner.
	Installation *installation.Installation
	// Tokens is the app backend's token issuer.
	Tokens reconcile.TokenSource
	// App is the app's session; a strategy may record the Vital user its
	// backend named in App.VitalUser.
	App *AppState
	// ExternalUserID reads the SDK's stored external user ID: what
	// identifyExternalUser compares before it calls the app back for
	// credentials (the SDKs' callback is lazy; see the identify strategy).
	ExternalUserID func() string
	// Key is the installation's key; Journal its launch task's journal, as
	// this process writes it (it crashes with the process); Now and Rand
	// the world's clock and randomness. A strategy that runs its launch
	// task elsewhere (the conformance harness's engine process) keeps the
	// world's journal in step through them.
	Key     string
	Journal reconcile.Journal
	Now     func() time.Time
	Rand    func() float64
}

// SDK returns the process's SDK core.
func (p *Process) SDK() reconcile.SDK { return p.Installation.SDK() }

// Applied is one SDK action a launch applied, and its error.
type Applied struct {
	Action reconcile.Action
	Err    error
}

// LaunchResult is what a strategy did in one launch.
type LaunchResult struct {
	// Applied are the actions, in order.
	Applied []Applied
	// Outcome is the reconcile runner's (the engine only).
	Outcome *reconcile.Outcome
	// Result is the runner's result, or "applied", "nothing-to-do" or
	// "failed" for the other strategies.
	Result string
	// Err is the launch's error.
	Err error
}

// Strategies returns every strategy, the engine first.
func Strategies() []Strategy {
	return []Strategy{Engine{}, DocsRecipe{}, Identify{}, EveryLaunch{}}
}

// ParseStrategies parses a comma-separated list of strategy names, or
// "all". The result keeps the order of Strategies.
func ParseStrategies(list string) ([]Strategy, error) {
	all := Strategies()
	if s := strings.TrimSpace(list); s == "" || s == "all" {
		return all, nil
	}
	want := map[string]bool{}
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		found := false
		for _, st := range all {
			found = found || st.Name() == s
		}
		if !found {
			return nil, &NameError{Kind: "strategy", Name: s}
		}
		want[s] = true
	}
	var out []Strategy
	for _, st := range all {
		if want[st.Name()] {
			out = append(out, st)
		}
	}
	return out, nil
}

// ParseProfiles parses a comma-separated list of SDK profiles, or "all".
func ParseProfiles(list string) ([]fsm.Profile, error) {
	if s := strings.TrimSpace(list); s == "" || s == "all" {
		return fsm.Profiles(), nil
	}
	var out []fsm.Profile
	for _, s := range strings.Split(list, ",") {
		p, ok := fsm.ParseProfile(strings.TrimSpace(s))
		if !ok {
			return nil, &NameError{Kind: "profile", Name: strings.TrimSpace(s)}
		}
		out = append(out, p)
	}
	return out, nil
}

// signOutInUnless is the plain strategies' launch: while the app has no
// user it signs out a session the SDK holds; while it has one it signs out
// and in again (signOutIn) unless the SDK holds a session and keep accepts
// it.
func signOutInUnless(ctx context.Context, p *Process, keep func(sdk reconcile.SDK) bool) LaunchResult {
	var l LaunchResult
	sdk := p.SDK()
	signedIn := sdk.Status().Has(fsm.FlagSignedIn)
	switch {
	case !p.App.SignedIn:
		if signedIn {
			signOut(ctx, p, &l)
		}
	case !signedIn || !keep(sdk):
		signOutIn(ctx, p, &l, signedIn)
	}
	return finish(l)
}

// signOutIn is the literal recipe's repair: sign out if the SDK holds a
// session, then mint a token and sign in. It records the Vital user the
// backend named.
func signOutIn(ctx context.Context, p *Process, l *LaunchResult, signedIn bool) {
	sdk := p.SDK()
	if signedIn {
		err := sdk.SignOut(ctx)
		l.Applied = append(l.Applied, Applied{Action: reconcile.SignOut{}, Err: err})
		if err != nil {
			l.Err = err
			return
		}
	}
	v, tok, err := p.Tokens.SignInToken(ctx, p.App.User)
	if err != nil {
		l.Applied = append(l.Applied, Applied{Action: reconcile.SignIn{}, Err: err})
		l.Err = err
		return
	}
	p.App.VitalUser = v
	err = sdk.SignIn(ctx, tok)
	l.Applied = append(l.Applied, Applied{Action: reconcile.SignIn{VitalUser: v}, Err: err})
	l.Err = err
}

// finish sets a plain strategy's result from what it applied.
func finish(l LaunchResult) LaunchResult {
	switch {
	case l.Err != nil:
		l.Result = string(reconcile.ResultFailed)
	case len(l.Applied) > 0:
		l.Result = string(reconcile.ResultApplied)
	default:
		l.Result = string(reconcile.ResultNothingToDo)
	}
	return l
}
