package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
)

// Config wires a Runner. SDK, Tokens, Journal, App, Now and Rand are required.
type Config struct {
	Profile fsm.Profile
	// SDK must implement Identifier where the profile's plans apply an
	// action through identifyExternalUser (iOS 1.4+).
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
	if _, ok := cfg.SDK.(Identifier); !ok && needsIdentify(cfg.Profile) {
		return nil, fmt.Errorf("reconcile: profile %s signs in through identifyExternalUser; Config.SDK has no IdentifyWithSignInToken",
			cfg.Profile.Name)
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

// BackgroundRun is a run RunAtLaunch started in the background. (A launch,
// in this module, is always one process start's reconcile.)
type BackgroundRun struct {
	done chan struct{}
	out  Outcome
	err  error
}

// Done is closed when the run has finished.
func (l *BackgroundRun) Done() <-chan struct{} { return l.done }

// Wait waits for the run, or for ctx.
func (l *BackgroundRun) Wait(ctx context.Context) (Outcome, error) {
	select {
	case <-l.done:
		return l.out, l.err
	case <-ctx.Done():
		return Outcome{}, ctx.Err()
	}
}

// RunAtLaunch starts Run in the background and returns at once.
func (r *Runner) RunAtLaunch(ctx context.Context) *BackgroundRun {
	l := &BackgroundRun{done: make(chan struct{})}
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
	_, e, _ := classify(context.Background(), sdkErr)
	if e == NoSDKError || e == ErrNetwork || e == ErrUnknown {
		return nil
	}
	entry, err := j.Load(ctx)
	if err != nil {
		return fmt.Errorf("reconcile: load journal: %w", err)
	}
	next, event, changed := entry.recorded(e)
	if !changed {
		return nil
	}
	return j.Save(ctx, next, event)
}

// launch is one launch in progress: the journal entry as the runner keeps
// it, what the launch did (its last action, the token source's last answer
// and the unused token it names), and what it reports.
type launch struct {
	j      JournalEntry // the entry as the runner keeps it
	loaded JournalEntry // the entry as loaded, to write nothing when nothing changed
	last   Action       // the action applied last in this launch
	answer Answer       // the token source's last answer in this launch
	// token is the Sign-In Token answer.Unused says is unused; it never
	// leaves the runner.
	token string
	out   Outcome
	// from is the state the first pass observed; steps the SDK actions that
	// succeeded since, for the divergence check.
	from  fsm.State
	steps []Action
	acted bool
	// failure is the last action failure of the launch.
	failure *RunError
}

// run is one launch: observe, plan, apply, and again, until the plan is
// empty. Every decision is the planner's, every fact Observe's, every
// journal change a transition's; the runner reads, applies and saves.
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
	l := &launch{j: j.resumed(), loaded: j}
	if j.InFlight != nil {
		l.out.Interrupted = j.InFlight
		r.log.Warn("previous run was interrupted", "action", j.InFlight.String())
	}
	for pass := 0; ; pass++ {
		rd := r.read(l)
		o := Observe(&l.j, &rd)
		if err := o.Validate(); err != nil {
			return l.out, err
		}
		p := o.Plan()
		if pass == 0 {
			l.from = p.Observed
		}
		l.j = l.j.observed(p.Observed)
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
		next, event := l.j.terminal()
		r.log.Warn("reconcile ends terminal", "action", actionString(next.LastAction), "sdk_error", string(next.LastError))
		if err := r.save(ctx, l, next, event); err != nil {
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
	next, event, write := l.j.settled(l.loaded, o, p.Observed, l.acted)
	if !write {
		return nil
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
