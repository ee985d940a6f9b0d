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
