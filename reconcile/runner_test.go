package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/fsm"
)

// fakeSDK is an SDK on a profile, modelled as the planner's tests model it,
// with scripted errors and counters.
type fakeSDK struct {
	mu        sync.Mutex
	p         fsm.Profile
	st        fsm.State
	user      string
	env       fsm.Environment
	region    fsm.Region
	hidden    bool    // a session the status does not show (iOS 1.4+ quirk)
	ext       string  // the stored external user ID (identify)
	errs      []error // returned by the next SignIn calls, in order
	mutations int
	identify  int
	tokens    map[string]string // token → user
	log       *[]string         // the calls, in order, when set
	// needsInit: the status reads empty until Initialize (Android before
	// its client exists, §10.11); locked: protected data unreadable.
	needsInit, initialised, locked bool
}

// initializingSDK has the explicit initialise step.
type initializingSDK struct{ *fakeSDK }

func (s initializingSDK) Initialize(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record("sdk.initialize()")
	s.initialised = true
	return nil
}

// protectedSDK reports whether protected data is readable.
type protectedSDK struct{ *fakeSDK }

func (s protectedSDK) ProtectedDataAvailable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.locked
}

func (s *fakeSDK) record(format string, args ...any) {
	if s.log != nil {
		*s.log = append(*s.log, fmt.Sprintf(format, args...))
	}
}

func (s *fakeSDK) Status() fsm.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.needsInit && !s.initialised {
		return 0
	}
	return fsm.StatusOf(s.st, s.p)
}

func (s *fakeSDK) CurrentUserID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.st.SignedIn() || (s.needsInit && !s.initialised) {
		return ""
	}
	if s.p.UpperCaseUserID {
		return strings.ToUpper(s.user)
	}
	return s.user
}

func (s *fakeSDK) Environment() (fsm.Environment, fsm.Region, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.env, s.region, s.env != ""
}

// popErr takes the first of a fake's scripted errors, and false when none
// is left.
func popErr(errs *[]error) (bool, error) {
	if len(*errs) == 0 {
		return false, nil
	}
	err := (*errs)[0]
	*errs = (*errs)[1:]
	return true, err
}

func (s *fakeSDK) SignIn(ctx context.Context, tok string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mutations++
	if ok, err := popErr(&s.errs); ok {
		s.record("sdk.signIn(%s) → %v", tok, err)
		return err
	}
	s.record("sdk.signIn(%s)", tok)
	if s.hidden || (s.st == fsm.Token && s.p.SameUserSignInThrows) {
		return ErrAlreadySignedIn
	}
	s.st, s.user, s.env, s.region = fsm.Token, s.tokens[tok], fsm.Sandbox, fsm.US
	return nil
}

func (s *fakeSDK) SignOut(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mutations++
	s.record("sdk.signOut()")
	s.st, s.user, s.env, s.region, s.hidden, s.ext = fsm.SignedOut, "", "", "", false, ""
	return nil
}

// identifyingSDK adds identifyExternalUser.
type identifyingSDK struct{ *fakeSDK }

func (s identifyingSDK) IdentifyWithSignInToken(ctx context.Context, ext, tok string) error {
	s.mu.Lock()
	s.identify++
	same := s.ext != "" && s.ext == ext
	s.record("sdk.identifyExternalUser(%s, %s)", ext, tok)
	s.mu.Unlock()
	if same {
		return nil // identify short-circuits on the stored external ID (§2.6)
	}
	if err := s.SignIn(ctx, tok); err != nil {
		return err
	}
	s.mu.Lock()
	s.ext = ext
	s.mu.Unlock()
	return nil
}

// fakeTokens maps app users to Vital users and mints tokens.
type fakeTokens struct {
	mu       sync.Mutex
	users    map[string]string
	sdk      *fakeSDK
	calls    int
	errs     []error
	block    chan struct{} // when set, calls wait for it or ctx
	minted   int
	resolves int
}

func (f *fakeTokens) SignInToken(ctx context.Context, appUser string) (string, string, error) {
	if err := f.wait(ctx); err != nil {
		return "", "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if ok, err := popErr(&f.errs); ok {
		f.sdk.record("tokens.signInToken(%s) → %v", appUser, err)
		return "", "", err
	}
	f.minted++
	tok := "tok-" + appUser + "-" + string(rune('a'+f.minted))
	f.sdk.mu.Lock()
	f.sdk.tokens[tok] = f.users[appUser]
	f.sdk.record("tokens.signInToken(%s) → %s, %s", appUser, f.users[appUser], tok)
	f.sdk.mu.Unlock()
	return f.users[appUser], tok, nil
}

func (f *fakeTokens) ResolveVitalUser(ctx context.Context, appUser string) (string, error) {
	if err := f.wait(ctx); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.resolves++
	f.sdk.record("tokens.resolveVitalUser(%s) → %s", appUser, f.users[appUser])
	return f.users[appUser], nil
}

func (f *fakeTokens) wait(ctx context.Context) error {
	if f.block == nil {
		return nil
	}
	select {
	case <-f.block:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type memJournal struct {
	mu     sync.Mutex
	e      JournalEntry
	events []string
	saves  int
}

func (j *memJournal) Load(context.Context) (JournalEntry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.e, nil
}

func (j *memJournal) Save(_ context.Context, e JournalEntry, event string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.e = e
	j.events = append(j.events, event)
	j.saves++
	return nil
}

type harness struct {
	sdk     *fakeSDK
	tokens  *fakeTokens
	journal *memJournal
	app     AppSession
	now     time.Time
	runner  *Runner
}

const (
	vA = "3f0c1a52-8d2e-4b7a-9c1d-5e6f7a8b9c01"
	vB = "9a8b7c6d-0000-4111-8222-933344445555"
	vC = "c0ffee00-1111-4222-8333-944455556666"
)

func newHarness(t *testing.T, profile string, identify bool) *harness {
	t.Helper()
	p, ok := fsm.ParseProfile(profile)
	require.True(t, ok)
	h := &harness{now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC), journal: &memJournal{}}
	h.sdk = &fakeSDK{p: p, st: fsm.SignedOut, tokens: map[string]string{}}
	h.tokens = &fakeTokens{users: map[string]string{"alice": vA, "bob": vB}, sdk: h.sdk}
	var sdk SDK = h.sdk
	if identify {
		sdk = identifyingSDK{h.sdk}
	}
	h.newRunner(t, h.runnerProfile(identify), sdk)
	return h
}

// newRunner makes h's runner one on profile p and sdk, with h's token
// source, journal, app session and clock, and a fixed jitter draw.
func (h *harness) newRunner(t *testing.T, p fsm.Profile, sdk SDK) {
	t.Helper()
	r, err := NewRunner(Config{Profile: p, SDK: sdk, Tokens: h.tokens, Journal: h.journal,
		App:  func() AppSession { return h.app },
		Now:  func() time.Time { return h.now },
		Rand: func() float64 { return 0.5 }})
	require.NoError(t, err)
	h.runner = r
}

// runnerProfile is the SDK's profile as the runner sees it: without
// identify, an app that cannot call identifyExternalUser (as under Flutter),
// so the planner applies every token action through signIn.
func (h *harness) runnerProfile(identify bool) fsm.Profile {
	p := h.sdk.p
	if !identify {
		p.HasIdentify = false
	}
	return p
}

func (h *harness) signInApp(user string) {
	h.app = AppSession{SignedIn: true, AppUserID: user, Environment: fsm.Sandbox, Region: fsm.US}
}

type counts struct{ tokenCalls, sdkMutations, journalSaves int }

// blockedLaunch starts a launch in the background, with ctx, on a new
// harness whose app is signed in as alice and whose token source blocks
// until h.tokens.block is closed, and waits (in the synctest bubble) until
// the launch is blocked.
func blockedLaunch(ctx context.Context, t *testing.T, profile string, identify bool) (*harness, *BackgroundRun) {
	t.Helper()
	h := newHarness(t, profile, identify)
	h.signInApp("alice")
	h.tokens.block = make(chan struct{})
	l := h.runner.RunAtLaunch(ctx)
	synctest.Wait()
	return h, l
}

// launch runs one launch, requires it to end without an error, and
// returns its outcome.
func (h *harness) launch(t *testing.T) Outcome {
	t.Helper()
	out, err := h.runner.Run(context.Background())
	require.NoError(t, err)
	return out
}

// requireQuietLaunch runs one more launch and requires it to cost no token
// call, no SDK mutation and no journal write.
func (h *harness) requireQuietLaunch(t *testing.T) {
	t.Helper()
	before := h.counts()
	h.launch(t)
	require.Equal(t, before, h.counts(), "a consistent launch made a call, a mutation or a write")
}

func (h *harness) counts() counts {
	return counts{h.tokens.calls, h.sdk.mutations, h.journal.saves}
}

func TestRunnerConsistentLaunchIsQuiet(t *testing.T) {
	for _, p := range fsm.ProfileNames() {
		t.Run(p, func(t *testing.T) {
			h := newHarness(t, p, false)
			h.signInApp("alice")
			out := h.launch(t)
			require.Equal(t, ResultApplied, out.Result)
			require.Equal(t, fsm.Token, out.State)
			require.Equal(t, vA, h.journal.e.VitalUserID)

			for launch := 0; launch < 3; launch++ {
				before := h.counts()
				h.now = h.now.Add(time.Hour)
				out := h.launch(t)
				require.Equal(t, ResultNothingToDo, out.Result)
				require.Equal(t, before, h.counts(), "a consistent launch made a call, a mutation or a write")
			}

			// Signed out app, signed out SDK: quiet as well.
			h.app = AppSession{}
			h.launch(t)
			h.requireQuietLaunch(t)
		})
	}
}

func TestRunnerSwitchUser(t *testing.T) {
	h := newHarness(t, "android-5.0", false)
	h.signInApp("alice")
	h.launch(t)
	h.signInApp("bob")
	out := h.launch(t)
	// The journal knows the session is alice's: a switch, signed out and
	// in without asking the token source first.
	require.Equal(t, []Action{SignOut{}, SignIn{}}, out.Applied())
	require.Equal(t, WrongUser, out.First().Plan.Discrepancy)
	require.Equal(t, "alice", out.First().Observation.SessionAppUserID)
	require.Equal(t, vB, h.sdk.user)
	require.Equal(t, "bob", h.journal.e.AppUserID)
	require.Equal(t, vB, h.journal.e.VitalUserID)
	// Journaled before and after each action, but before the sign-out:
	// nothing stands between the launch and the end of alice's session.
	require.Equal(t, []string{"done sign-out", "start sign-in(from token source)",
		"done sign-in(from token source)", "settled in token"}, h.journal.events[len(h.journal.events)-4:])
}

// TestRunnerCrashBeforeSignOutIsDurable: the sign-out of a switch is the
// first write of its launch (no journal entry comes before it), so a
// process that dies in it dies with nothing written; the journal still
// says whose the session is, and the relaunch signs it out again and the
// new user in.
func TestRunnerCrashBeforeSignOutIsDurable(t *testing.T) {
	h := newHarness(t, "android-5.0", false)
	h.signInApp("alice")
	h.launch(t)
	h.signInApp("bob")
	cj := &crashJournal{memJournal: h.journal, left: 100}
	saves := len(h.journal.events)
	dying := &dyingAtSignOut{fakeSDK: h.sdk, j: cj, writes: -1}
	crashing, err := NewRunner(Config{Profile: h.runnerProfile(false), SDK: dying, Tokens: h.tokens, Journal: cj,
		App: func() AppSession { return h.app }, Now: func() time.Time { return h.now }, Rand: func() float64 { return 0 }})
	require.NoError(t, err)
	_, err = crashing.Run(context.Background())
	require.ErrorIs(t, err, errCrash)
	require.Equal(t, saves, dying.writes, "no journal write before the sign-out")
	require.Len(t, h.journal.events, saves, "nor after: the process died in it")
	require.Equal(t, vA, h.sdk.user, "alice's session is still there")

	out, err := h.runner.Run(context.Background()) // the relaunch
	require.NoError(t, err)
	require.Equal(t, []Action{SignOut{}, SignIn{}}, out.Applied())
	require.Equal(t, vB, h.sdk.user)
}

// dyingAtSignOut is an SDK whose process dies when it signs out, before
// its write: it notes the journal writes made until then, and nothing is
// written after.
type dyingAtSignOut struct {
	*fakeSDK
	j      *crashJournal
	writes int
}

func (s *dyingAtSignOut) SignOut(context.Context) error {
	s.writes, s.j.left = len(s.j.events), 0
	return errCrash
}

func TestRunnerTransientBackoffPersists(t *testing.T) {
	h := newHarness(t, "ios-1.8", false)
	h.signInApp("alice")
	h.tokens.errs = []error{transientErr{msg: "503"}}
	_, err := h.runner.Run(context.Background())
	var re *RunError
	require.ErrorAs(t, err, &re)
	require.Equal(t, ClassTransient, re.Class)
	require.Equal(t, fsm.SignedOut, h.sdk.st, "a transient error changes no state")
	// Attempt 1: 30 s less 20%·0.5 jitter = 27 s.
	require.Equal(t, h.now.Add(27*time.Second), h.journal.e.NextAttemptAt)
	require.Equal(t, 1, h.journal.e.Attempts)
	require.Equal(t, ErrNetwork, h.journal.e.LastError)

	// Before it is due: deferred, no call, no write.
	before := h.counts()
	h.now = h.now.Add(10 * time.Second)
	out := h.launch(t)
	require.Equal(t, ResultDeferred, out.Result)
	require.Equal(t, h.journal.e.NextAttemptAt, out.RetryAt)
	require.Equal(t, before, h.counts())

	// A second failure doubles the delay and honours Retry-After when longer.
	h.now = h.now.Add(20 * time.Second)
	h.tokens.errs = []error{transientErr{msg: "429", after: 5 * time.Minute}}
	_, err = h.runner.Run(context.Background())
	require.ErrorAs(t, err, &re)
	require.Equal(t, h.now.Add(5*time.Minute), h.journal.e.NextAttemptAt)
	require.Equal(t, 2, h.journal.e.Attempts)

	// Once due, it converges and clears the backoff.
	h.now = h.now.Add(5 * time.Minute)
	out = h.launch(t)
	require.Equal(t, fsm.Token, out.State)
	require.Zero(t, h.journal.e.Attempts)
	require.True(t, h.journal.e.NextAttemptAt.IsZero())
}

// transientErr is an adapter error that says it is transient, with an
// optional Retry-After.
type transientErr struct {
	msg   string
	after time.Duration
}

func (e transientErr) Error() string                 { return e.msg }
func (e transientErr) Transient() bool               { return true }
func (e transientErr) RetryAfterHint() time.Duration { return e.after }

// transientish is an adapter error that says it is transient by method.
type transientish struct{}

func (transientish) Error() string   { return "connection reset" }
func (transientish) Transient() bool { return true }

func TestRunnerTransientByMethod(t *testing.T) {
	h := newHarness(t, "android-5.0", false)
	h.signInApp("alice")
	h.sdk.errs = []error{transientish{}}
	_, err := h.runner.Run(context.Background())
	var re *RunError
	require.ErrorAs(t, err, &re)
	require.Equal(t, ClassTransient, re.Class)
	require.Equal(t, fsm.SignedOut, h.sdk.st)
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Base: time.Second, Cap: 10 * time.Second, Jitter: 0.5}
	tests := []struct {
		n    int
		r    float64
		ra   time.Duration
		want time.Duration
	}{
		{1, 0, 0, time.Second},
		{2, 0, 0, 2 * time.Second},
		{4, 0, 0, 8 * time.Second},
		{5, 0, 0, 10 * time.Second},
		{60, 0, 0, 10 * time.Second},
		{1, 0.5, 0, 750 * time.Millisecond},
		{5, 0.999, 0, 5*time.Second + 5*time.Millisecond},
		{1, 0, time.Minute, time.Minute},
	}
	for _, tt := range tests {
		if got := b.Delay(tt.n, tt.r, tt.ra); got != tt.want {
			t.Errorf("Delay(%d, %v, %v) = %v, want %v", tt.n, tt.r, tt.ra, got, tt.want)
		}
	}
}

func TestRunnerAlreadySignedInSignsOutThenIn(t *testing.T) {
	h := newHarness(t, "ios-1.8", false)
	h.signInApp("alice")
	h.sdk.hidden = true // a session the status does not show
	out := h.launch(t)
	require.Equal(t, []Action{SignOut{}, SignIn{VitalUser: vA}}, out.Applied())
	require.Equal(t, fsm.Token, h.sdk.st)
}

func TestRunnerInvalidSignInTokenFetchesOneFreshToken(t *testing.T) {
	h := newHarness(t, "android-5.0", false)
	h.signInApp("alice")
	h.sdk.errs = []error{ErrInvalidSignInToken}
	out := h.launch(t)
	require.Equal(t, fsm.Token, out.State)
	require.Equal(t, 2, h.tokens.minted)

	// Twice in a row: terminal, not retried with backoff, state kept; the
	// next launch starts afresh.
	h2 := newHarness(t, "android-5.0", false)
	h2.signInApp("alice")
	h2.sdk.errs = []error{ErrInvalidSignInToken, ErrInvalidSignInToken}
	out, err := h2.runner.Run(context.Background())
	var re *RunError
	require.ErrorAs(t, err, &re)
	require.Equal(t, ClassTerminal, re.Class)
	require.Equal(t, ResultTerminal, out.Result)
	require.True(t, out.Passes[len(out.Passes)-1].Plan.Terminal)
	require.ErrorIs(t, err, ErrInvalidSignInToken)
	require.Equal(t, ErrInvalidSignInToken, h2.journal.e.LastError)
	require.True(t, h2.journal.e.NextAttemptAt.IsZero(), "a terminal error is not retried with backoff")
	require.True(t, out.RetryAt.IsZero())
	require.Zero(t, h2.journal.e.Attempts)
	require.Equal(t, 2, h2.tokens.minted, "one fresh token, not a loop")
	require.Equal(t, fsm.SignedOut, h2.sdk.st)

	out, err = h2.runner.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, ResultApplied, out.Result)
	require.Equal(t, 3, h2.tokens.minted)
}

func TestRunnerUserDeletedSignsInAsNewUser(t *testing.T) {
	h := newHarness(t, "android-5.0", false)
	h.signInApp("alice")
	h.launch(t)
	// The backend deleted vA; the SDK's refresh erased the record and kept
	// {configured} (Android 4.2.1+). The issuer maps alice to a new user.
	h.sdk.st, h.sdk.user = fsm.UserDeleted, ""
	h.tokens.users["alice"] = vC
	out := h.launch(t)
	require.Equal(t, fsm.UserDeleted, out.First().Plan.Observed)
	// The first pass's token carried vC and was not applied; the second
	// pass's sign-in takes it rather than minting another.
	require.Equal(t, []Action{SignIn{VitalUser: vC, Reuse: true}}, out.Applied())
	require.Equal(t, 2, h.tokens.minted, "one token for each launch")
	require.Equal(t, vC, h.sdk.user)
	require.Equal(t, vC, h.journal.e.VitalUserID)
	h.requireQuietLaunch(t)
}

func TestRunnerMigratesAPIKeySession(t *testing.T) {
	for _, tc := range []struct {
		profile      string
		viaIdentify  bool
		identifyWant int
	}{
		{"ios-1.8", true, 1},
		{"android-5.0", true, 0},
		{"ios-1.3", false, 0},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			h := newHarness(t, tc.profile, tc.viaIdentify)
			h.signInApp("alice")
			h.sdk.st, h.sdk.user, h.sdk.env, h.sdk.region = fsm.APIKey, vA, fsm.Sandbox, fsm.US
			h.journal.e = JournalEntry{AppUserID: "alice", VitalUserID: vA, LastObserved: fsm.APIKey}
			out := h.launch(t)
			require.Equal(t, []Action{Migrate{VitalUser: vA, Identify: tc.identifyWant == 1}}, out.Applied())
			require.Equal(t, 1, h.sdk.mutations, "migration signs in without signing out")
			require.Equal(t, tc.identifyWant, h.sdk.identify)
			require.Equal(t, fsm.Token, out.State)
		})
	}
}

func TestRunnerResolvesBeforeTouchingASession(t *testing.T) {
	h := newHarness(t, "ios-1.8", false)
	h.signInApp("alice")
	h.sdk.st, h.sdk.user, h.sdk.env, h.sdk.region = fsm.Token, vA, fsm.Sandbox, fsm.US
	out := h.launch(t)
	require.Equal(t, []Action{Resolve{AppUser: "alice"}}, out.Applied())
	require.Zero(t, h.sdk.mutations, "the session already agreed")
	require.Equal(t, vA, h.journal.e.VitalUserID)

	// Resolving to another user leads to a switch in the same run.
	h2 := newHarness(t, "ios-1.8", false)
	h2.signInApp("bob")
	h2.sdk.st, h2.sdk.user = fsm.Token, vA
	out, err := h2.runner.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, []Action{Resolve{AppUser: "bob"}, SignOut{}, SignIn{VitalUser: vB}}, out.Applied())
}

func TestRunnerSingleFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, first := blockedLaunch(context.Background(), t, "android-5.0", false)
		// The first run is blocked inside the token source.
		select {
		case <-first.Done():
			t.Fatal("RunAtLaunch waited for the run")
		default:
		}
		var joined atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Go(func() {
				out, err := h.runner.Run(context.Background())
				if err == nil && out.State == fsm.Token {
					joined.Add(1)
				}
			})
		}
		synctest.Wait() // every caller is waiting on the one flight
		close(h.tokens.block)
		wg.Wait()
		out, err := first.Wait(context.Background())
		require.NoError(t, err)
		require.Equal(t, fsm.Token, out.State)
		require.Equal(t, int32(8), joined.Load())
		require.Equal(t, 1, h.tokens.minted, "joined calls share one run")
	})
}

func TestRunnerCancelledLeavesReconcilableState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		h, l := blockedLaunch(ctx, t, "android-5.0", false)
		// Blocked inside the sign-in, with the action journaled.
		require.Equal(t, Action(SignIn{}), h.journal.e.InFlight)
		cancel()
		_, err := l.Wait(context.Background())
		var re *RunError
		require.ErrorAs(t, err, &re)
		require.Equal(t, ClassCancelled, re.Class)
		require.ErrorIs(t, err, context.Canceled)
		require.Nil(t, h.journal.e.InFlight)
		require.Zero(t, h.journal.e.Attempts, "a cancellation is not a failure")
		require.True(t, h.journal.e.NextAttemptAt.IsZero())

		h.tokens.block = nil
		out := h.launch(t)
		require.Equal(t, fsm.Token, out.State)

		_, err = h.runner.Run(ctx)
		require.ErrorIs(t, err, context.Canceled)
	})
}

func TestNewRunnerValidates(t *testing.T) {
	_, err := NewRunner(Config{})
	require.Error(t, err)

	// A profile whose plans sign in through identifyExternalUser needs an
	// SDK that has it: refused at construction, not mid-launch.
	h := newHarness(t, "ios-1.8", true)
	cfg := Config{Profile: h.sdk.p, SDK: h.sdk, Tokens: h.tokens, Journal: h.journal,
		App: func() AppSession { return h.app }, Now: func() time.Time { return h.now }, Rand: func() float64 { return 0 }}
	_, err = NewRunner(cfg)
	require.Error(t, err)
	cfg.Profile = h.runnerProfile(false) // an app that cannot call identify
	_, err = NewRunner(cfg)
	require.NoError(t, err)
	cfg.Profile, _ = fsm.ParseProfile("android-5.0") // identify, never needed
	_, err = NewRunner(cfg)
	require.NoError(t, err)
}

// On iOS 1.4+ a plain signIn reads {configured} until relaunch, so the
// runner signs in through identifyExternalUser there, and only there.
func TestRunnerSignsInThroughIdentifyWhereSignInNeedsRelaunch(t *testing.T) {
	for _, tc := range []struct {
		profile  string
		identify int
	}{{"ios-1.8", 1}, {"android-5.0", 0}, {"android-4.2.0", 0}} {
		h := newHarness(t, tc.profile, true)
		h.signInApp("alice")
		h.launch(t)
		require.Equal(t, tc.identify, h.sdk.identify, tc.profile)
	}
}

// crashJournal is a journal whose process dies after a number of saves:
// the save that would exceed it fails and nothing after it happens.
type crashJournal struct {
	*memJournal
	left int
}

var errCrash = errors.New("process killed")

func (c *crashJournal) Save(ctx context.Context, e JournalEntry, event string) error {
	if c.left == 0 {
		return errCrash
	}
	c.left--
	return c.memJournal.Save(ctx, e, event)
}

// TestRunnerCrashAtEveryJournaledPoint kills the launch at each journal
// write of a user switch; a relaunch on what was persisted always
// converges, and the launch after it is quiet.
func TestRunnerCrashAtEveryJournaledPoint(t *testing.T) {
	for _, profile := range fsm.ProfileNames() {
		for k := 0; ; k++ {
			h := newHarness(t, profile, true)
			h.signInApp("alice")
			h.launch(t)
			h.signInApp("bob")
			cj := &crashJournal{memJournal: h.journal, left: k}
			p, _ := fsm.ParseProfile(profile)
			crashing, err := NewRunner(Config{Profile: p, SDK: identifyingSDK{h.sdk}, Tokens: h.tokens, Journal: cj,
				App: func() AppSession { return h.app }, Now: func() time.Time { return h.now }, Rand: func() float64 { return 0 }})
			require.NoError(t, err)
			dead, err := crashing.Run(context.Background())
			require.NoError(t, dead.CheckApplied(), "the dying launch applied only what its plans said")
			if err == nil {
				require.Greater(t, k, 3, "a switch journals several points")
				break // k passed the last journal write: nothing left to kill
			}
			require.ErrorIs(t, err, errCrash)

			out, err := h.runner.Run(context.Background()) // the relaunch
			require.NoError(t, err, "%s, crash after %d writes", profile, k)
			require.NoError(t, out.CheckApplied())
			require.Equal(t, fsm.Token, out.State)
			require.Equal(t, vB, strings.ToLower(h.sdk.CurrentUserID()))
			require.Nil(t, h.journal.e.InFlight)
			before := h.counts()
			out = h.launch(t)
			require.Equal(t, ResultNothingToDo, out.Result)
			require.Equal(t, before, h.counts())
		}
	}
}

func TestRunnerReportsInterruptedAction(t *testing.T) {
	h := newHarness(t, "android-5.0", false)
	h.signInApp("alice")
	h.journal.e = JournalEntry{InFlight: SignIn{}, AppUserID: "alice"}
	out := h.launch(t)
	require.Equal(t, Action(SignIn{}), out.Interrupted)
	require.Nil(t, h.journal.e.InFlight)
	require.Equal(t, fsm.Token, out.State)
}

// hinted is an adapter error with its own transient flag and Retry-After.
type hinted struct{}

func (hinted) Error() string                 { return "429" }
func (hinted) Transient() bool               { return true }
func (hinted) RetryAfterHint() time.Duration { return 90 * time.Minute }

func TestRunnerHonoursRetryAfterHint(t *testing.T) {
	h := newHarness(t, "android-5.0", false)
	h.signInApp("alice")
	h.tokens.errs = []error{fmt.Errorf("issuer: %w", hinted{})}
	_, err := h.runner.Run(context.Background())
	var re *RunError
	require.ErrorAs(t, err, &re)
	require.Equal(t, h.now.Add(90*time.Minute), re.RetryAt)
	require.Equal(t, re.RetryAt, h.journal.e.NextAttemptAt)
}

// stubbornSDK accepts sign-ins but never shows them (a plain signIn on
// iOS 1.4+ without identify reads {configured} until relaunch).
type stubbornSDK struct{ *fakeSDK }

func (s stubbornSDK) SignIn(ctx context.Context, tok string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mutations++
	s.st = fsm.Configured
	return nil
}

func TestRunnerReportsDivergenceFromTheStateMachine(t *testing.T) {
	h := newHarness(t, "ios-1.8", false)
	h.signInApp("alice")
	r, err := NewRunner(Config{Profile: h.runnerProfile(false), SDK: stubbornSDK{h.sdk}, Tokens: h.tokens, Journal: h.journal,
		App: func() AppSession { return h.app }, Now: func() time.Time { return h.now }, Rand: func() float64 { return 0 }})
	require.NoError(t, err)
	out, err := r.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, &Divergence{Expected: fsm.Token, Observed: fsm.Configured}, out.Divergence)
	require.Equal(t, "expected token, observed configured", out.Divergence.String())

	// A well-behaved SDK follows the table: no divergence on any path.
	for _, p := range fsm.ProfileNames() {
		h := newHarness(t, p, true)
		h.signInApp("alice")
		out := h.launch(t)
		require.Nil(t, out.Divergence)
		h.signInApp("bob")
		out = h.launch(t)
		require.Nil(t, out.Divergence, p)
		h.app = AppSession{}
		out = h.launch(t)
		require.Nil(t, out.Divergence, p)
	}
}

// An API-key build that had identified the same external user makes iOS
// 1.4+'s identify short-circuit (reference §2.7): the runner notices the
// migration did not take and signs out and in instead.
func TestRunnerMigrationFallsBackWhenIdentifyShortCircuits(t *testing.T) {
	h := newHarness(t, "ios-1.8", true)
	h.signInApp("alice")
	h.sdk.st, h.sdk.user, h.sdk.env, h.sdk.region, h.sdk.ext = fsm.APIKey, vA, fsm.Sandbox, fsm.US, "alice"
	h.journal.e = JournalEntry{AppUserID: "alice", VitalUserID: vA, LastObserved: fsm.APIKey}
	out := h.launch(t)
	// The migrate succeeded but did not take; the planner's rule for that
	// signs out and in.
	require.Equal(t, []Action{Migrate{VitalUser: vA, Identify: true}, SignOut{}, SignIn{VitalUser: vA, Identify: true}},
		out.Applied())
	require.Len(t, out.Passes, 3)
	require.Equal(t, MigrationNotTaken, out.Passes[1].Plan.Discrepancy)
	require.Equal(t, fsm.Token, out.State)
	require.Nil(t, out.Divergence)
	require.Equal(t, 2, h.tokens.minted, "each sign-in mints its own token")
	h.requireQuietLaunch(t)
}

// iOS 1.4+ hides pendingReauthentication: the app reports the SDK error it
// met, and the next launch reauthenticates through a plain signIn (identify
// would return at once on the session's own external ID).
func TestRunnerReportedReauthentication(t *testing.T) {
	h := newHarness(t, "ios-1.8", true)
	h.signInApp("alice")
	h.launch(t)
	identified := h.sdk.identify

	saves := h.journal.saves
	require.NoError(t, h.runner.RecordSDKError(context.Background(), errors.New("offline")), "not an SDK error: ignored")
	require.NoError(t, h.runner.RecordSDKError(context.Background(), transientErr{msg: "503"}))
	require.Equal(t, saves, h.journal.saves)

	require.NoError(t, h.runner.RecordSDKError(context.Background(), fmt.Errorf("getAccessToken: %w", ErrNeedsReauthentication)))
	require.Equal(t, ErrNeedsReauthentication, h.journal.e.LastError)
	require.NoError(t, h.runner.RecordSDKError(context.Background(), ErrNeedsReauthentication))
	require.Equal(t, saves+1, h.journal.saves, "a repeated report writes nothing")

	out := h.launch(t)
	require.Equal(t, ReauthNeeded, out.First().Plan.Discrepancy)
	require.Equal(t, []Action{Reauthenticate{VitalUser: vA}}, out.Applied())
	require.Equal(t, identified, h.sdk.identify, "reauthentication uses signIn, not identify")
	require.Equal(t, NoSDKError, h.journal.e.LastError)
	h.requireQuietLaunch(t)
}

// A report while a run is in flight waits for it, so the run's settle
// cannot overwrite the report.
func TestRunnerReportWaitsForTheRunInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, l := blockedLaunch(context.Background(), t, "ios-1.8", true)
		var reported atomic.Bool
		go func() {
			if err := h.runner.RecordSDKError(context.Background(), ErrNeedsReauthentication); err == nil {
				reported.Store(true)
			}
		}()
		synctest.Wait()
		require.False(t, reported.Load(), "the report waits for the run")
		close(h.tokens.block)
		_, err := l.Wait(context.Background())
		require.NoError(t, err)
		synctest.Wait()
		require.True(t, reported.Load())
		require.Equal(t, ErrNeedsReauthentication, h.journal.e.LastError)
	})
}

// A user switch whose token source is down must not leave the previous
// user's session syncing the new user's data: the sign-out is local and
// runs, and under the backoff that follows it still runs at once.
func TestRunnerSwitchNeverKeepsThePreviousUserWhenTheNetworkFails(t *testing.T) {
	for _, p := range fsm.ProfileNames() {
		h := newHarness(t, p, true)
		h.signInApp("alice")
		_, err := h.runner.Run(context.Background())
		require.NoError(t, err, p)
		h.signInApp("bob")
		h.tokens.errs = []error{transientErr{msg: "503"}}
		out, err := h.runner.Run(context.Background())
		var re *RunError
		require.ErrorAs(t, err, &re, p)
		require.Equal(t, ClassTransient, re.Class, p)
		require.Equal(t, fsm.SignedOut, h.sdk.st, "%s: alice's session ended before the network was needed", p)
		require.NoError(t, out.CheckApplied())

		// A relaunch inside the backoff with alice's session back (a
		// restored backup, say): it is ended at once, the sign-in waits.
		h.sdk.st, h.sdk.user, h.sdk.env, h.sdk.region = fsm.Token, vA, fsm.Sandbox, fsm.US
		h.journal.e.AppUserID, h.journal.e.VitalUserID = "alice", vA
		out, err = h.runner.Run(context.Background())
		require.NoError(t, err, p)
		require.Equal(t, ResultDeferred, out.Result, p)
		require.Equal(t, []Action{SignOut{}}, out.Applied(), p)
		require.Equal(t, fsm.SignedOut, h.sdk.st, p)
	}
}
