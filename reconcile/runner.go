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
	// LastObserved is the state the last run observed after acting.
	LastObserved fsm.State
	// Environment and Region are the SDK configuration last observed.
	Environment fsm.Environment
	Region      fsm.Region
	// AppUserID and VitalUserID are the app user and their Vital user, as
	// last learned from the token source.
	AppUserID   string
	VitalUserID string
	// InFlight names the action being applied; empty when none.
	InFlight string
	// Attempts counts consecutive failed runs.
	Attempts int
	// NextAttemptAt is when a backed-off run may act again.
	NextAttemptAt time.Time
	// LastError is the SDK error class the last failed run ended with.
	LastError SDKError
}

// Journal persists the runner's entry for one installation. Load returns
// the zero entry when there is none. Save writes one entry and appends
// event to the installation's history, in one transaction.
type Journal interface {
	Load(ctx context.Context) (JournalEntry, error)
	Save(ctx context.Context, e JournalEntry, event string) error
}

// Errors the SDK adapter reports, matched with errors.Is (reference §9).
var (
	// ErrAlreadySignedIn: signIn found a session; sign out, then sign in.
	ErrAlreadySignedIn = errors.New("sdk: already signed in")
	// ErrInvalidSignInToken: the token was refused; fetch a fresh one.
	ErrInvalidSignInToken = errors.New("sdk: invalid sign-in token")
	// ErrUserDeleted: the SDK's Vital user is gone.
	ErrUserDeleted = errors.New("sdk: user deleted")
	// ErrNeedsReauthentication: the session needs a same-user token.
	ErrNeedsReauthentication = errors.New("sdk: needs reauthentication")
)

// TransientError marks a failure worth retrying later: network, 5xx, 429.
// Errors with a Transient() bool method that returns true are treated the
// same, and a RetryAfterHint() time.Duration method supplies the server's
// Retry-After.
type TransientError struct {
	Err error
	// RetryAfter is the server's Retry-After, if it sent one.
	RetryAfter time.Duration
}

func (e *TransientError) Error() string { return "transient: " + e.Err.Error() }

func (e *TransientError) Unwrap() error { return e.Err }

// ErrorClass says how a failed run is retried.
type ErrorClass string

// The error classes.
const (
	// ClassTransient: the state is kept and the run retried after backoff.
	ClassTransient ErrorClass = "transient"
	// ClassTerminal: the one recovery the error allows was tried and failed.
	ClassTerminal ErrorClass = "terminal"
	// ClassCancelled: the context ended the run; the next launch reconciles.
	ClassCancelled ErrorClass = "cancelled"
)

// RunError is a failed run: the action that failed, the class, and when the
// next attempt is due.
type RunError struct {
	Action  Action
	Class   ErrorClass
	RetryAt time.Time
	Err     error
}

func (e *RunError) Error() string {
	s := fmt.Sprintf("%s failed (%s)", e.Action, e.Class)
	if !e.RetryAt.IsZero() {
		s += ", next attempt at " + e.RetryAt.UTC().Format(time.RFC3339)
	}
	return s + ": " + e.Err.Error()
}

func (e *RunError) Unwrap() error { return e.Err }

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
	// Logger gets one line per action; nil discards.
	Logger *slog.Logger
}

// Outcome is what one run saw, planned and did.
type Outcome struct {
	Observation Observation
	Plan        Plan
	// Applied are the actions that completed, in order, including the
	// recovery steps (a sign-out after alreadySignedIn, a second plan after
	// a Resolve).
	Applied []Action
	// State is the state observed after the run.
	State fsm.State
	// RetryAt is when the next attempt is due, after a deferral or failure.
	RetryAt time.Time
	// Interrupted names the action a previous run was applying when its
	// process died; this run reconciled from what that left.
	Interrupted string
	// Diverged is set when the SDK did not end where the profile's state
	// machine says the applied actions lead: "expected token, observed
	// configured". The next launch plans from what the SDK reports.
	Diverged string
}

// Result summarises an outcome: "nothing-to-do", "deferred", "applied".
func (o Outcome) Result() string {
	switch {
	case len(o.Applied) > 0:
		return "applied"
	case !o.RetryAt.IsZero():
		return "deferred"
	}
	return "nothing-to-do"
}

// Runner is the launch task of one installation: Run observes, plans,
// applies and records, once. It is safe for concurrent use: a Run while
// another is in progress joins it.
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

// Run observes, plans, applies and records once. A call while another is in
// progress waits for it and returns its result.
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

// Report records an SDK error the app met outside a launch (a data sync's
// getAccessToken, say), so that the next launch plans from it: on iOS 1.4+
// a needsReauthentication is visible nowhere else (reference §1.2). Errors
// that are not one of the SDK errors of reference §9 are ignored. It waits
// for a run in flight, and costs at most one journal write.
func (r *Runner) Report(ctx context.Context, sdkErr error) error {
	// Wait out a run in flight, so that its settle cannot overwrite the
	// report, and hold the flight lock while writing.
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
	return Report(ctx, r.cfg.Journal, sdkErr)
}

// Report is Runner.Report for a process that has no runner at hand (a
// command-line tool, a background sync): it records sdkErr in j.
func Report(ctx context.Context, j Journal, sdkErr error) error {
	_, e, _ := classify(context.Background(), sdkErr)
	if e == ErrorNone || e == ErrorNetwork {
		return nil
	}
	entry, err := j.Load(ctx)
	if err != nil {
		return fmt.Errorf("reconcile: load journal: %w", err)
	}
	if entry.LastError == e {
		return nil
	}
	entry.LastError = e
	return j.Save(ctx, entry, "reported "+string(e))
}

// observe builds the observation from the SDK, the app and the journal.
func (r *Runner) observe(j *JournalEntry) Observation {
	app := r.cfg.App()
	if app.SignedIn && app.VitalUserID == "" && j.AppUserID == app.AppUserID {
		app.VitalUserID = j.VitalUserID
	}
	if !app.SignedIn {
		app.AppUserID, app.VitalUserID = "", ""
	}
	o := Observation{
		Profile:       r.cfg.Profile,
		App:           app,
		LastObserved:  j.LastObserved,
		LastError:     j.LastError,
		NextAttemptAt: j.NextAttemptAt,
		Now:           r.cfg.Now(),
		AllowAPIKey:   r.cfg.AllowAPIKey,
	}
	o.SDK.Status = r.cfg.SDK.Status()
	if o.SDK.Status.Has(fsm.FlagSignedIn) {
		o.SDK.CurrentUserID = r.cfg.SDK.CurrentUserID()
	}
	if env, region, ok := r.cfg.SDK.Environment(); ok && o.SDK.Status.Has(fsm.FlagSignedIn) {
		o.SDK.Environment, o.SDK.Region = env, region
	}
	return o
}

// maxPasses bounds re-planning: a Resolve or a token for another user than
// expected asks for one more pass.
const maxPasses = 3

func (r *Runner) run(ctx context.Context) (Outcome, error) {
	if err := ctx.Err(); err != nil {
		return Outcome{}, err
	}
	j, err := r.cfg.Journal.Load(ctx)
	if err != nil {
		return Outcome{}, fmt.Errorf("reconcile: load journal: %w", err)
	}
	var out Outcome
	if j.InFlight != "" {
		// The last run died mid-action. The observation is level-based, so
		// planning from what the SDK reports now is the recovery.
		out.Interrupted = j.InFlight
		r.log.Warn("previous run was interrupted", "action", j.InFlight)
	}
	for pass := 0; pass < maxPasses; pass++ {
		o := r.observe(&j)
		if err := o.Validate(); err != nil {
			return out, err
		}
		p := o.Plan()
		if pass == 0 {
			out.Observation, out.Plan = o, p
		}
		if p.Empty() {
			out.State, out.RetryAt = p.Observed, p.RetryAt
			if !p.RetryAt.IsZero() {
				return out, nil // deferred: nothing written
			}
			return out, r.settle(ctx, &j, &o, p.Observed, len(out.Applied) > 0)
		}
		first := len(out.Applied)
		replan, err := r.apply(ctx, &j, &o, p, &out)
		if err != nil {
			return out, err
		}
		if !replan {
			o2 := r.observe(&j)
			st, _ := o2.State()
			out.State = st
			if want := r.expect(ctx, p.Observed, out.Applied[first:]); want != st {
				out.Diverged = fmt.Sprintf("expected %s, observed %s", orUnknown(want), st)
				r.log.Warn("sdk diverged from the state machine", "expected", string(want), "observed", string(st),
					"profile", r.cfg.Profile.Name)
			}
			return out, r.settle(ctx, &j, &o2, st, true)
		}
	}
	return out, fmt.Errorf("reconcile: no agreement after %d passes", maxPasses)
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
		e, ok := eventOf(a)
		if !ok {
			continue
		}
		if err := m.Fire(context.WithoutCancel(ctx), e); err != nil {
			return ""
		}
	}
	return m.State()
}

// eventOf maps an SDK action to its state machine event; Resolve touches
// no SDK state.
func eventOf(a Action) (fsm.Event, bool) {
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

// settle records a successful run. A consistent launch whose journal
// already says so writes nothing.
func (r *Runner) settle(ctx context.Context, j *JournalEntry, o *Observation, st fsm.State, acted bool) error {
	next := *j
	next.LastObserved = st
	next.InFlight, next.Attempts, next.NextAttemptAt, next.LastError = "", 0, time.Time{}, ErrorNone
	if o.App.SignedIn {
		next.AppUserID, next.VitalUserID = o.App.AppUserID, o.App.VitalUserID
	}
	if st.SignedIn() {
		next.Environment, next.Region = o.SDK.Environment, o.SDK.Region
	} else {
		next.Environment, next.Region = "", ""
	}
	if next == *j && !acted {
		return nil
	}
	event := "observed " + string(st)
	if acted {
		event = "settled in " + string(st)
	}
	if err := r.cfg.Journal.Save(context.WithoutCancel(ctx), next, event); err != nil {
		return fmt.Errorf("reconcile: save journal: %w", err)
	}
	*j = next
	return nil
}

// apply runs a plan's actions in order, journaling each before and after.
// It reports whether the caller should plan again.
func (r *Runner) apply(ctx context.Context, j *JournalEntry, o *Observation, p Plan, out *Outcome) (bool, error) {
	for _, a := range p.Actions {
		if err := ctx.Err(); err != nil {
			return false, r.fail(ctx, j, a, err)
		}
		j.InFlight = a.String()
		if err := r.cfg.Journal.Save(ctx, *j, "start "+a.String()); err != nil {
			return false, fmt.Errorf("reconcile: journal before %s: %w", a, err)
		}
		r.log.Info("reconcile action", "action", a.String(), "from_state", string(p.Observed), "profile", r.cfg.Profile.Name)
		replan, steps, err := r.do(ctx, a, o)
		out.Applied = append(out.Applied, steps...)
		if err != nil {
			return false, r.fail(ctx, j, a, err)
		}
		j.InFlight = ""
		if o.App.SignedIn {
			j.AppUserID, j.VitalUserID = o.App.AppUserID, o.App.VitalUserID
		}
		if err := r.cfg.Journal.Save(context.WithoutCancel(ctx), *j, "done "+a.String()); err != nil {
			return false, fmt.Errorf("reconcile: journal after %s: %w", a, err)
		}
		if replan {
			return true, nil
		}
	}
	return false, nil
}

// do performs one action with the recoveries of reference §9, and returns
// the SDK steps it completed.
func (r *Runner) do(ctx context.Context, a Action, o *Observation) (replan bool, steps []Action, err error) {
	sdk := r.cfg.SDK
	switch a := a.(type) {
	case SignOut:
		if err := sdk.SignOut(ctx); err != nil {
			return false, nil, err
		}
		return false, []Action{a}, nil
	case Resolve:
		v, err := r.cfg.Tokens.ResolveVitalUser(ctx, a.AppUser)
		if err != nil {
			return false, nil, err
		}
		o.App.VitalUserID = v
		return true, []Action{Resolve{AppUser: a.AppUser}}, nil
	case SignIn, Reauthenticate:
		return r.signIn(ctx, a, o)
	case Migrate:
		v, tok, err := r.cfg.Tokens.SignInToken(ctx, o.App.AppUserID)
		if err != nil {
			return false, nil, err
		}
		if !strings.EqualFold(v, a.VitalUser) {
			// The backend maps the app user elsewhere: not compatible.
			o.App.VitalUserID = v
			return true, nil, nil
		}
		if err := r.signInSDK(ctx, o.App.AppUserID, tok, !r.cfg.Profile.APIKeyMigrationPersists || r.cfg.Profile.SignInNeedsRelaunch); err != nil {
			return false, nil, err
		}
		if !sdk.Status().Has(fsm.FlagUseAPIKey) {
			return false, []Action{a}, nil
		}
		// Still in API-key mode: identify returned at once because the API-key
		// build had identified the same external user (reference §2.7). Sign
		// out, which clears the external ID, and sign in with the same token,
		// which was never exchanged.
		r.log.Warn("migration did not take; signing out and in", "vital_user", v)
		if err := sdk.SignOut(ctx); err != nil {
			return false, nil, err
		}
		if err := r.signInSDK(ctx, o.App.AppUserID, tok, r.cfg.Profile.SignInNeedsRelaunch); err != nil {
			return false, []Action{SignOut{}}, err
		}
		return false, []Action{SignOut{}, SignIn{VitalUser: v}}, nil
	}
	return false, nil, fmt.Errorf("reconcile: unknown action %T", a)
}

// signIn fetches a token and signs in, recovering once from
// alreadySignedIn (sign out, sign in) and once from invalidSignInToken
// (a fresh token).
func (r *Runner) signIn(ctx context.Context, a Action, o *Observation) (bool, []Action, error) {
	var steps []Action
	freshTried, signOutTried := false, false
	v, tok, err := r.cfg.Tokens.SignInToken(ctx, o.App.AppUserID)
	if err != nil {
		return false, nil, err
	}
	if want := VitalUserOf(a); want != "" && !strings.EqualFold(v, want) {
		r.log.Info("token source names another Vital user", "expected", want, "got", v)
		if _, reauth := a.(Reauthenticate); reauth {
			o.App.VitalUserID = v
			return true, nil, nil // not the session's user: plan again
		}
	}
	// A new session on iOS 1.4+ goes through identify, the only call that
	// persists there; a re-exchange keeps the session's startup params, and
	// identify would return at once on the session's own external ID.
	_, reauth := a.(Reauthenticate)
	viaIdentify := r.cfg.Profile.SignInNeedsRelaunch && !reauth
	for {
		err = r.signInSDK(ctx, o.App.AppUserID, tok, viaIdentify)
		switch {
		case err == nil:
			o.App.VitalUserID = v
			steps = append(steps, withVitalUser(a, v))
			return false, steps, nil
		case errors.Is(err, ErrAlreadySignedIn) && !signOutTried:
			signOutTried = true
			if err := r.cfg.SDK.SignOut(ctx); err != nil {
				return false, steps, err
			}
			steps = append(steps, SignOut{})
		case errors.Is(err, ErrInvalidSignInToken) && !freshTried:
			freshTried = true
			if v, tok, err = r.cfg.Tokens.SignInToken(ctx, o.App.AppUserID); err != nil {
				return false, steps, err
			}
		default:
			return false, steps, err
		}
	}
}

// signInSDK signs the SDK in with a token: through identifyExternalUser
// (keyed on the app user) when viaIdentify and the SDK has it, else with
// signIn. Callers ask for identify where the profile's plain signIn does not
// persist (iOS 1.4+, reference §1.2 and §2.7). Android keeps plain signIn:
// its identify short-circuits on a stored external ID even after the user
// was deleted (§4).
func (r *Runner) signInSDK(ctx context.Context, appUser, tok string, viaIdentify bool) error {
	if id, ok := r.cfg.SDK.(Identifier); ok && viaIdentify {
		return id.IdentifyWithSignInToken(ctx, appUser, tok)
	}
	return r.cfg.SDK.SignIn(ctx, tok)
}

func withVitalUser(a Action, v string) Action {
	if _, ok := a.(Reauthenticate); ok {
		return Reauthenticate{VitalUser: v}
	}
	return SignIn{VitalUser: v}
}

// classify maps an action's error to its class, SDK error name and the
// server's Retry-After.
func classify(ctx context.Context, err error) (ErrorClass, SDKError, time.Duration) {
	var te *TransientError
	var tr interface{ Transient() bool }
	switch {
	case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return ClassCancelled, ErrorNone, 0
	case errors.As(err, &te):
		return ClassTransient, ErrorNetwork, te.RetryAfter
	case errors.As(err, &tr) && tr.Transient():
		var hint interface{ RetryAfterHint() time.Duration }
		var after time.Duration
		if errors.As(err, &hint) {
			after = hint.RetryAfterHint()
		}
		return ClassTransient, ErrorNetwork, after
	case errors.Is(err, ErrAlreadySignedIn):
		return ClassTerminal, ErrorAlreadySignedIn, 0
	case errors.Is(err, ErrInvalidSignInToken):
		return ClassTerminal, ErrorInvalidSignInToken, 0
	case errors.Is(err, ErrUserDeleted):
		return ClassTerminal, ErrorInvalidUser, 0
	case errors.Is(err, ErrNeedsReauthentication):
		return ClassTerminal, ErrorNeedsReauthentication, 0
	}
	return ClassTerminal, ErrorNone, 0
}

// fail records a failed action: the state is kept, the in-flight marker
// cleared, and, unless the context was cancelled, the next attempt
// scheduled with backoff. It returns the *RunError.
func (r *Runner) fail(ctx context.Context, j *JournalEntry, a Action, err error) error {
	class, sdkErr, retryAfter := classify(ctx, err)
	re := &RunError{Action: a, Class: class, Err: err}
	next := *j
	next.InFlight = ""
	event := fmt.Sprintf("failed %s (%s)", a, class)
	if class != ClassCancelled {
		next.Attempts++
		next.LastError = sdkErr
		next.NextAttemptAt = r.cfg.Now().Add(r.cfg.Backoff.Delay(next.Attempts, r.cfg.Rand(), retryAfter))
		re.RetryAt = next.NextAttemptAt
	}
	r.log.Warn("reconcile action failed", "action", a.String(), "class", string(class), "attempt", next.Attempts)
	if serr := r.cfg.Journal.Save(context.WithoutCancel(ctx), next, event); serr != nil {
		return errors.Join(re, fmt.Errorf("reconcile: journal failure: %w", serr))
	}
	*j = next
	return re
}
