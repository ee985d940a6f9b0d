package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
)

// SDK is the part of the Vital Core SDK the runner reads and drives.
// Status and CurrentUserID must do no IO.
type SDK interface {
	Status() fsm.Status
	CurrentUserID() string
	// Environment returns the SDK's configured environment and region, and
	// false when it has none.
	Environment() (fsm.Environment, fsm.Region, bool)
	SignIn(ctx context.Context, signInToken string) error
	SignOut(ctx context.Context) error
}

// Initializer is implemented by SDKs that must be set up in the process
// before their status means anything: Android's status reads empty until
// its client exists (§10.11), and a launch that read it first would tear a
// good session down. The runner calls Initialize before its first read.
type Initializer interface {
	Initialize(ctx context.Context) error
}

// ProtectedData is implemented by SDKs that can tell whether the device's
// protected data is readable (the iOS keychain before first unlock, §10.6).
// While it is not, the planner decides nothing.
type ProtectedData interface {
	ProtectedDataAvailable() bool
}

// Identifier is implemented by SDKs whose profile has identifyExternalUser.
// The runner migrates through it where a plain signIn does not persist an
// API-key → token migration (iOS 1.4+; reference §2.7).
type Identifier interface {
	IdentifyWithSignInToken(ctx context.Context, externalUserID, signInToken string) error
}

// TokenSource is the app backend's issuer of Sign-In Tokens.
type TokenSource interface {
	// SignInToken mints a token for the app user and says which Vital user
	// it signs in.
	SignInToken(ctx context.Context, appUserID string) (vitalUserID, token string, err error)
	// ResolveVitalUser returns the app user's Vital user without minting.
	ResolveVitalUser(ctx context.Context, appUserID string) (string, error)
}

// JournalEntry is what the runner persists per installation.
type JournalEntry struct {
	// LastObserved is the state the runner last classified the SDK in.
	LastObserved fsm.State
	// Environment and Region are the SDK configuration last observed.
	Environment fsm.Environment
	Region      fsm.Region
	// AppUserID and VitalUserID are the app user and their Vital user, as
	// last settled or learned from the token source.
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

// Backoff is the capped, jittered exponential backoff of failed runs.
type Backoff struct {
	// Base is the first delay; each further failure doubles it, up to Cap.
	Base, Cap time.Duration
	// Jitter is the fraction of the delay drawn at random (0 to 1): the
	// delay is d·(1−Jitter·r) for r in [0,1).
	Jitter float64
}

// DefaultBackoff starts at 30 s and caps at one hour, with 20% jitter.
var DefaultBackoff = Backoff{Base: 30 * time.Second, Cap: time.Hour, Jitter: 0.2}

// Delay returns the delay after the n-th consecutive failure (n ≥ 1), given
// a random draw r in [0,1) and the server's Retry-After (0 if none).
func (b Backoff) Delay(n int, r float64, retryAfter time.Duration) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Cap; i++ {
		d *= 2
	}
	d = min(d, b.Cap)
	d -= time.Duration(float64(d) * b.Jitter * r)
	return max(d, retryAfter)
}

// Config wires a Runner. SDK, Tokens, Journal, App, Now and Rand are required.
type Config struct {
	Profile fsm.Profile
	SDK     SDK
	Tokens  TokenSource
	Journal Journal
	// App returns the app's session: whether a user is signed in, the app
	// user ID, and the environment and region the app targets. The Vital
	// user is filled in from the journal.
	App func() AppSession
	// Now is the clock; Rand draws jitter in [0,1).
	Now  func() time.Time
	Rand func() float64
	// Backoff defaults to DefaultBackoff.
	Backoff Backoff
	// AllowAPIKey keeps a matching API-key session (sandbox evaluation).
	AllowAPIKey bool
	// ResolveInterval: see Observation.ResolveInterval (zero: the default).
	ResolveInterval time.Duration
	// Logger gets one line per action; nil discards.
	Logger *slog.Logger
}

// Result says how a launch ended.
type Result string

// The results.
const (
	// ResultNothingToDo: the SDK agreed with the app; nothing was applied.
	ResultNothingToDo Result = "nothing-to-do"
	// ResultApplied: actions were applied and the SDK now agrees.
	ResultApplied Result = "applied"
	// ResultDeferred: there is work, but an earlier failure's backoff is
	// not over (Outcome.RetryAt); nothing was applied or written.
	ResultDeferred Result = "deferred"
	// ResultFailed: an action failed transiently (the next attempt is
	// scheduled at Outcome.RetryAt) or the launch was cancelled.
	ResultFailed Result = "failed"
	// ResultTerminal: an action failed and the planner has no rule left for
	// its error; no retry is scheduled, a later launch starts afresh.
	ResultTerminal Result = "terminal"
)

// Step is one action the runner applied, and how it ended.
type Step struct {
	Action Action
	// Err is nil when the action succeeded.
	Err error
	// Class and SDKError classify Err ("" and NoSDKError on success).
	Class    ErrorClass
	SDKError SDKError
}

// Pass is one round of a launch: what the runner observed, what the planner
// planned from it, and the actions applied, in order: a prefix of the
// plan's actions, of which only the last may have failed.
type Pass struct {
	Observation Observation
	Plan        Plan
	Applied     []Step
}

// Divergence is an SDK that did not end where the profile's state machine
// says the launch's successful actions lead.
type Divergence struct {
	// Expected is "" when the table has no path for the actions.
	Expected, Observed fsm.State
}

func (d Divergence) String() string {
	return "expected " + orUnknown(d.Expected) + ", observed " + string(d.Observed)
}

// Outcome is what one launch saw, planned and did.
type Outcome struct {
	Result Result
	// Passes are the launch's rounds, in order; the last one's plan is empty
	// (agreement, a deferral or a terminal end) unless the launch was
	// cancelled or ran out of passes.
	Passes []Pass
	// State is the state observed last.
	State fsm.State
	// RetryAt is when the next attempt is due, after a deferral or a
	// transient failure.
	RetryAt time.Time
	// Interrupted is the action a previous launch was applying when its
	// process died (nil if none); this launch reconciled from what it left.
	Interrupted Action
	// Divergence is set when the SDK did not follow the state machine.
	Divergence *Divergence
}

// Applied returns the actions that succeeded, across passes, in order.
func (o Outcome) Applied() []Action {
	var as []Action
	for _, p := range o.Passes {
		for _, st := range p.Applied {
			if st.Err == nil {
				as = append(as, st.Action)
			}
		}
	}
	return as
}

// First returns the launch's first pass (the zero Pass if it had none).
func (o Outcome) First() Pass {
	if len(o.Passes) == 0 {
		return Pass{}
	}
	return o.Passes[0]
}

// MaxPasses bounds the passes of one launch that apply actions. The
// planner's model test proves that any fault-free world agrees within 3, and
// a world with one fault of each kind the planner has a rule for within
// MaxPasses.
const MaxPasses = 6

// Runner is the launch task of one installation: Run observes, plans,
// applies and records until the SDK agrees with the app, a backoff defers
// the work, or the planner has no rule left. It is safe for concurrent use:
// a Run while another is in progress joins it.
type Runner struct {
	cfg Config
	log *slog.Logger

	mu  sync.Mutex
	cur *call
}

type call struct {
	done chan struct{}
	out  Outcome
	err  error
}

// NewRunner returns a runner for one installation.
func NewRunner(cfg Config) (*Runner, error) {
	switch {
	case cfg.SDK == nil:
		return nil, errors.New("reconcile: Config.SDK is required")
	case cfg.Tokens == nil:
		return nil, errors.New("reconcile: Config.Tokens is required")
	case cfg.Journal == nil:
		return nil, errors.New("reconcile: Config.Journal is required")
	case cfg.App == nil:
		return nil, errors.New("reconcile: Config.App is required")
	case cfg.Now == nil || cfg.Rand == nil:
		return nil, errors.New("reconcile: Config.Now and Config.Rand are required")
	}
	if _, ok := fsm.ParseProfile(cfg.Profile.Name); !ok {
		return nil, fmt.Errorf("reconcile: unknown profile %q", cfg.Profile.Name)
	}
	if cfg.Backoff == (Backoff{}) {
		cfg.Backoff = DefaultBackoff
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{cfg: cfg, log: log}, nil
}

// Launch is a run started in the background by RunAtLaunch.
type Launch struct {
	done chan struct{}
	out  Outcome
	err  error
}

// Done is closed when the run has finished.
func (l *Launch) Done() <-chan struct{} { return l.done }

// Wait waits for the run, or for ctx.
func (l *Launch) Wait(ctx context.Context) (Outcome, error) {
	select {
	case <-l.done:
		return l.out, l.err
	case <-ctx.Done():
		return Outcome{}, ctx.Err()
	}
}

// RunAtLaunch starts Run in the background and returns at once.
func (r *Runner) RunAtLaunch(ctx context.Context) *Launch {
	l := &Launch{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.out, l.err = r.Run(ctx)
	}()
	return l
}

// Run runs one launch. A call while another is in progress waits for it and
// returns its result. The error is a *RunError when an action failed
// (transient or cancelled) or the launch ended terminal, ErrNoConvergence
// when the pass bound ran out, or the journal's error.
func (r *Runner) Run(ctx context.Context) (Outcome, error) {
	r.mu.Lock()
	if c := r.cur; c != nil {
		r.mu.Unlock()
		select {
		case <-c.done:
			return c.out, c.err
		case <-ctx.Done():
			return Outcome{}, ctx.Err()
		}
	}
	c := &call{done: make(chan struct{})}
	r.cur = c
	r.mu.Unlock()

	c.out, c.err = r.run(ctx)

	r.mu.Lock()
	r.cur = nil
	r.mu.Unlock()
	close(c.done)
	return c.out, c.err
}

// RecordSDKError records an SDK error the app met outside a launch (a data
// sync's getAccessToken, say), so that the next launch plans from it: on
// iOS 1.4+ a needsReauthentication is visible nowhere else (reference
// §1.2). Errors that are not one of the SDK's own (network failures, other
// errors) are ignored. It waits for a run in flight, and costs at most one
// journal write.
func (r *Runner) RecordSDKError(ctx context.Context, sdkErr error) error {
	// Wait out a run in flight, so that its settle cannot overwrite the
	// record, and hold the flight lock while writing.
	for {
		r.mu.Lock()
		c := r.cur
		if c == nil {
			break
		}
		r.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer r.mu.Unlock()
	return RecordSDKError(ctx, r.cfg.Journal, sdkErr)
}

// RecordSDKError is Runner.RecordSDKError for a process that has no runner
// at hand (a command-line tool, a background sync): it records sdkErr in j.
func RecordSDKError(ctx context.Context, j Journal, sdkErr error) error {
	_, e, _ := Classify(context.Background(), sdkErr)
	if e == NoSDKError || e == ErrNetwork || e == ErrUnknown {
		return nil
	}
	entry, err := j.Load(ctx)
	if err != nil {
		return fmt.Errorf("reconcile: load journal: %w", err)
	}
	if entry.LastError == e && entry.LastAction == nil {
		return nil
	}
	entry.LastAction, entry.LastError, entry.Attempts = nil, e, 0
	return j.Save(ctx, entry, "recorded "+string(e))
}

// launch is the state of one launch in progress, beyond its journal entry:
// the facts the token source told it, and what it did.
type launch struct {
	j      JournalEntry // the entry as the runner keeps it
	loaded JournalEntry // the entry as loaded, to write nothing when nothing changed
	out    Outcome
	// issued is the Vital user the token source named for issuedFor.
	issued, issuedFor string
	// minted is a token minted for a plan it did not fit, kept for the next
	// pass (a token is good for minutes; a launch takes seconds).
	minted *minted
	// from is the state the first pass observed; steps the SDK actions that
	// succeeded since, for the divergence check.
	from  fsm.State
	steps []Action
	acted bool
	// last is the action applied last in this launch.
	last Action
	// resolvedAt is when the token source last named the app user's Vital
	// user in this launch.
	resolvedAt time.Time
	// failure is the last action failure of the launch.
	failure *RunError
}

type minted struct{ app, vital, token string }

// learn records what the token source said: the app user's Vital user, at
// the time it said it.
func (l *launch) learn(app, vital string, at time.Time) {
	l.issued, l.issuedFor, l.resolvedAt = vital, app, at
}

// observe builds the observation from the SDK, the app, the journal and
// the facts the token source told this launch.
func (r *Runner) observe(l *launch) Observation {
	j := &l.j
	app := r.cfg.App()
	if app.SignedIn && app.VitalUserID == "" && j.AppUserID == app.AppUserID {
		app.VitalUserID = j.VitalUserID
	}
	if !app.SignedIn {
		app.AppUserID, app.VitalUserID = "", ""
	}
	o := Observation{
		Profile:         r.cfg.Profile,
		App:             app,
		LastObserved:    j.LastObserved,
		LastAction:      l.last,
		LastError:       j.LastError,
		Attempts:        j.Attempts,
		NextAttemptAt:   j.NextAttemptAt,
		LastResolvedAt:  j.LastResolvedAt,
		ResolveInterval: r.cfg.ResolveInterval,
		Now:             r.cfg.Now(),
		AllowAPIKey:     r.cfg.AllowAPIKey,
	}
	if pd, ok := r.cfg.SDK.(ProtectedData); ok && !pd.ProtectedDataAvailable() {
		o.ProtectedDataUnavailable = true
	}
	if app.SignedIn && j.AppUserID == app.AppUserID && j.VitalUserID != "" &&
		app.VitalUserID != "" && !strings.EqualFold(app.VitalUserID, j.VitalUserID) {
		// The token source named another user than the app's, in an earlier
		// launch: the app still has the user it was told at sign-in.
		o.IssuedVitalUserID = j.VitalUserID
	}
	if app.SignedIn && app.AppUserID == l.issuedFor && l.issued != "" {
		o.IssuedVitalUserID = l.issued
	}
	o.SDK.Status = r.cfg.SDK.Status()
	if o.SDK.Status.Has(fsm.FlagSignedIn) {
		o.SDK.CurrentUserID = r.cfg.SDK.CurrentUserID()
		if j.AppUserID != "" && (j.VitalUserID == "" || strings.EqualFold(j.VitalUserID, o.SDK.CurrentUserID)) {
			// The journal knows whose session it is: the app user whose
			// Vital user it is, or, before that user's Vital user was
			// learned, the app user the reconciler served while it existed.
			o.SessionAppUserID = j.AppUserID
		}
	}
	if env, region, ok := r.cfg.SDK.Environment(); ok && o.SDK.Status.Has(fsm.FlagSignedIn) {
		o.SDK.Environment, o.SDK.Region = env, region
	}
	return o
}

// run is one launch: observe, plan, apply, and again, until the plan is
// empty. Every decision is the planner's; the runner only applies, and
// reports back through the journal what happened.
func (r *Runner) run(ctx context.Context) (Outcome, error) {
	if err := ctx.Err(); err != nil {
		return Outcome{}, err
	}
	j, err := r.cfg.Journal.Load(ctx)
	if err != nil {
		return Outcome{}, fmt.Errorf("reconcile: load journal: %w", err)
	}
	if in, ok := r.cfg.SDK.(Initializer); ok {
		if err := in.Initialize(ctx); err != nil {
			return Outcome{Result: ResultFailed}, fmt.Errorf("reconcile: initialise the SDK: %w", err)
		}
	}
	l := &launch{j: j, loaded: j}
	if j.InFlight != nil {
		// The last run died mid-action. The observation is level-based, so
		// planning from what the SDK reports now is the recovery.
		l.out.Interrupted = j.InFlight
		l.j.InFlight = nil
		r.log.Warn("previous run was interrupted", "action", j.InFlight.String())
	}
	for pass := 0; ; pass++ {
		o := r.observe(l)
		if err := o.Validate(); err != nil {
			return l.out, err
		}
		p := o.Plan()
		if pass == 0 {
			l.from = p.Observed
		}
		l.j.LastObserved = p.Observed
		l.out.State = p.Observed
		l.out.Passes = append(l.out.Passes, Pass{Observation: o, Plan: p})
		if p.Empty() {
			return l.out, r.end(ctx, l, &o, p)
		}
		if pass >= MaxPasses {
			l.out.Result = ResultFailed
			return l.out, ErrNoConvergence
		}
		if err := r.apply(ctx, l, &o, p); err != nil {
			return l.out, err
		}
	}
}

// end finishes a launch whose last plan is empty: agreement, a deferral, or
// a terminal end.
func (r *Runner) end(ctx context.Context, l *launch, o *Observation, p Plan) error {
	switch {
	case p.Terminal:
		l.out.Result = ResultTerminal
		re := &RunError{Action: l.j.LastAction, Class: ClassTerminal, Err: l.j.LastError}
		if l.failure != nil {
			re.Action, re.Err = l.failure.Action, l.failure.Err
		}
		next := l.j
		next.InFlight, next.Attempts, next.NextAttemptAt = nil, 0, time.Time{}
		r.log.Warn("reconcile ends terminal", "action", actionString(next.LastAction), "sdk_error", string(next.LastError))
		if err := r.save(ctx, l, next, "terminal after "+actionString(next.LastAction)+" ("+string(next.LastError)+")"); err != nil {
			return errors.Join(re, err)
		}
		return re
	case p.Defer:
		l.out.Result = ResultDeferred
		return nil // nothing can be decided now: nothing written
	case !p.RetryAt.IsZero():
		l.out.RetryAt = p.RetryAt
		if l.failure != nil {
			l.out.Result = ResultFailed
			return l.failure
		}
		l.out.Result = ResultDeferred
		return nil // deferred: nothing written
	}
	l.out.Result = ResultNothingToDo
	if l.acted {
		l.out.Result = ResultApplied
		if want := r.expect(ctx, l.from, l.steps); want != p.Observed {
			l.out.Divergence = &Divergence{Expected: want, Observed: p.Observed}
			r.log.Warn("sdk diverged from the state machine", "expected", string(want), "observed", string(p.Observed),
				"profile", r.cfg.Profile.Name)
		}
	}
	next := l.j
	next.InFlight, next.LastAction, next.LastError = nil, nil, NoSDKError
	next.Attempts, next.NextAttemptAt = 0, time.Time{}
	if o.App.SignedIn {
		next.AppUserID, next.VitalUserID = o.App.AppUserID, o.GoalVitalUser()
	}
	if p.Observed.SignedIn() {
		next.Environment, next.Region = o.SDK.Environment, o.SDK.Region
	} else {
		next.Environment, next.Region = "", ""
	}
	if next == l.loaded && !l.acted {
		return nil // a consistent launch whose journal agrees writes nothing
	}
	event := "observed " + string(p.Observed)
	if l.acted {
		event = "settled in " + string(p.Observed)
	}
	return r.save(ctx, l, next, event)
}

// save persists next (even when ctx has ended: the record of what happened
// must not be lost to a cancellation) and makes it the launch's entry.
func (r *Runner) save(ctx context.Context, l *launch, next JournalEntry, event string) error {
	if err := r.cfg.Journal.Save(context.WithoutCancel(ctx), next, event); err != nil {
		return fmt.Errorf("reconcile: save journal (%s): %w", event, err)
	}
	l.j = next
	return nil
}

// apply applies a plan's actions in order, journaling each before and after,
// and stops at the first failure, which it journals for the planner to read.
// It returns an error only when the launch must end here: the journal failed
// or the context was cancelled.
func (r *Runner) apply(ctx context.Context, l *launch, o *Observation, p Plan) error {
	pass := &l.out.Passes[len(l.out.Passes)-1]
	for _, a := range p.Actions {
		if err := ctx.Err(); err != nil {
			return r.fail(ctx, l, pass, a, err)
		}
		start := l.j
		start.InFlight = a
		switch a.(type) {
		case SignIn, Migrate:
			if o.App.SignedIn && start.AppUserID != o.App.AppUserID {
				// The SDK holds no token session now (a sign-in needs it signed
				// out, a migration replaces an API-key one), so any session
				// after this action, crash or not, is this app user's. Other
				// actions leave the attribution alone: a session the journal
				// did not see started (one there before a reinstall, before
				// a crash in a switch) is nobody's until the token source
				// names its user.
				start.AppUserID, start.VitalUserID = o.App.AppUserID, VitalUserOf(a)
			}
		}
		if err := r.cfg.Journal.Save(ctx, start, "start "+a.String()); err != nil {
			return fmt.Errorf("reconcile: journal before %s: %w", a, err)
		}
		l.j = start
		r.log.Info("reconcile action", "action", a.String(), "from_state", string(p.Observed), "profile", r.cfg.Profile.Name)
		if err := r.do(ctx, l, o, a); err != nil {
			return r.fail(ctx, l, pass, a, err)
		}
		pass.Applied = append(pass.Applied, Step{Action: a})
		l.acted, l.last = true, a
		if a.Type() != TypeResolve {
			l.steps = append(l.steps, a)
		}
		done := l.j
		done.InFlight, done.LastAction, done.LastError = nil, a, NoSDKError
		if l.issued != "" && l.issuedFor == o.App.AppUserID {
			done.AppUserID, done.VitalUserID, done.LastResolvedAt = l.issuedFor, l.issued, l.resolvedAt
		}
		if err := r.save(ctx, l, done, "done "+a.String()); err != nil {
			return err
		}
	}
	return nil
}

// fail records a failed action and ends the pass. A stale plan records the
// token source's Vital user; any other failure records the action and its
// SDK error and, when transient, schedules the next attempt with backoff.
// It returns an error only when the launch must end now (cancelled, or the
// journal failed); otherwise the planner decides next.
func (r *Runner) fail(ctx context.Context, l *launch, pass *Pass, a Action, err error) error {
	class, sdkErr, retryAfter := Classify(ctx, err)
	pass.Applied = append(pass.Applied, Step{Action: a, Err: err, Class: class, SDKError: sdkErr})
	next := l.j
	next.InFlight = nil
	var event string
	switch class {
	case ClassStale:
		next.AppUserID, next.VitalUserID, next.LastResolvedAt = l.issuedFor, l.issued, l.resolvedAt
		r.log.Info("token source names another Vital user", "action", a.String(), "vital_user", l.issued)
		return r.save(ctx, l, next, "stale "+a.String()+": token source names "+l.issued)
	case ClassCancelled:
		event = "cancelled " + a.String()
	default:
		l.last = a
		next.LastAction, next.LastError = a, sdkErr
		next.Attempts++
		if class == ClassTransient {
			next.NextAttemptAt = r.cfg.Now().Add(r.cfg.Backoff.Delay(next.Attempts, r.cfg.Rand(), retryAfter))
		}
		event = fmt.Sprintf("failed %s (%s: %s)", a, class, string(sdkErr))
	}
	re := &RunError{Action: a, Class: class, RetryAt: next.NextAttemptAt, Err: err}
	r.log.Warn("reconcile action failed", "action", a.String(), "class", string(class), "sdk_error", string(sdkErr),
		"attempt", next.Attempts)
	if serr := r.save(ctx, l, next, event); serr != nil {
		return errors.Join(re, serr)
	}
	l.failure = re
	if class == ClassCancelled {
		l.out.Result = ResultFailed
		return re
	}
	return nil
}

// do performs one action. Which SDK call performs it is a property of the
// profile, not a decision: see viaIdentify.
func (r *Runner) do(ctx context.Context, l *launch, o *Observation, a Action) error {
	switch a := a.(type) {
	case SignOut:
		return r.cfg.SDK.SignOut(ctx)
	case Resolve:
		v, err := r.cfg.Tokens.ResolveVitalUser(ctx, a.AppUser)
		if err != nil {
			return err
		}
		l.learn(a.AppUser, v, r.cfg.Now())
		return nil
	case SignIn, Migrate, Reauthenticate:
		app, planned := o.App.AppUserID, VitalUserOf(a)
		v, tok, err := r.token(ctx, l, app, planned)
		if err != nil {
			return err
		}
		l.learn(app, v, r.cfg.Now())
		if planned != "" && !strings.EqualFold(v, planned) {
			l.minted = &minted{app: app, vital: v, token: tok}
			return &StaleError{Planned: planned, Issued: v}
		}
		return r.signInSDK(ctx, app, tok, r.viaIdentify(a))
	}
	return fmt.Errorf("reconcile: unknown action %T", a)
}

// token returns a Sign-In Token for app: the one a previous pass minted and
// could not use, when it fits the plan, or a fresh one.
func (r *Runner) token(ctx context.Context, l *launch, app, planned string) (string, string, error) {
	if m := l.minted; m != nil && m.app == app && (planned == "" || strings.EqualFold(m.vital, planned)) {
		l.minted = nil
		return m.vital, m.token, nil
	}
	l.minted = nil
	return r.cfg.Tokens.SignInToken(ctx, app)
}

// viaIdentify says which SDK call applies a token action on the profile:
// identifyExternalUser where the profile's plain signIn does not persist a
// new session or a migration (iOS 1.4+, reference §1.2 and §2.7), plain
// signIn elsewhere. A Reauthenticate always re-exchanges through signIn:
// identify would return at once on the session's own external ID. Android
// keeps plain signIn: its identify short-circuits on a stored external ID
// even after the user was deleted (§4).
func (r *Runner) viaIdentify(a Action) bool {
	switch a.(type) {
	case SignIn:
		return r.cfg.Profile.SignInNeedsRelaunch
	case Migrate:
		return !r.cfg.Profile.APIKeyMigrationPersists || r.cfg.Profile.SignInNeedsRelaunch
	}
	return false
}

// signInSDK signs the SDK in with a token, through identifyExternalUser
// (keyed on the app user) when viaIdentify and the SDK has it.
func (r *Runner) signInSDK(ctx context.Context, appUser, tok string, viaIdentify bool) error {
	if id, ok := r.cfg.SDK.(Identifier); ok && viaIdentify {
		return id.IdentifyWithSignInToken(ctx, appUser, tok)
	}
	return r.cfg.SDK.SignIn(ctx, tok)
}

// expect runs the applied SDK steps through the profile's state machine,
// built fresh from the observed state, and returns where they should lead
// ("" when the table has no such path).
func (r *Runner) expect(ctx context.Context, from fsm.State, steps []Action) fsm.State {
	m, err := fsm.NewMachine(r.cfg.Profile, from)
	if err != nil {
		return ""
	}
	for _, a := range steps {
		e, ok := EventOf(a)
		if !ok {
			continue
		}
		if err := m.Fire(context.WithoutCancel(ctx), e); err != nil {
			return ""
		}
	}
	return m.State()
}

// EventOf maps an SDK action to its state machine event; Resolve touches
// no SDK state.
func EventOf(a Action) (fsm.Event, bool) {
	switch a.(type) {
	case SignOut:
		return fsm.EventSignOut, true
	case SignIn:
		return fsm.EventSignIn, true
	case Migrate:
		return fsm.EventMigrate, true
	case Reauthenticate:
		return fsm.EventReauthenticate, true
	}
	return "", false
}

func orUnknown(st fsm.State) string {
	if st == "" {
		return "(no path in the table)"
	}
	return string(st)
}

// ErrUnplanned is returned by Outcome.CheckApplied.
var ErrUnplanned = errors.New("reconcile: applied an action the plan did not name")

// CheckApplied verifies the runner's promise that it applies only what the
// planner said: in every pass the applied actions are a prefix of the
// pass's plan (an applied sign-in names the Vital user its plan named, or
// its plan named none), and only the last of them may have failed. Tests
// and simulations assert it after every launch.
func (o Outcome) CheckApplied() error {
	for i, p := range o.Passes {
		if len(p.Applied) > len(p.Plan.Actions) {
			return fmt.Errorf("%w: pass %d applied %d actions of a %d-action plan", ErrUnplanned, i+1,
				len(p.Applied), len(p.Plan.Actions))
		}
		for k, st := range p.Applied {
			if st.Action != p.Plan.Actions[k] {
				return fmt.Errorf("%w: pass %d step %d applied %s, the plan said %s", ErrUnplanned, i+1, k+1,
					st.Action, p.Plan.Actions[k])
			}
			if st.Err != nil && k != len(p.Applied)-1 {
				return fmt.Errorf("%w: pass %d went on after step %d failed", ErrUnplanned, i+1, k+1)
			}
		}
	}
	return nil
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
