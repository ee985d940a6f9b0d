package vitalsdk_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/memory"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// TestStatusBeforeTheClientExists is reference §10.11: on Android the
// status is {} until the client is created in the process. A launch task
// that read it first would see "signed out", plan a sign-in, meet
// alreadySignedIn, and tear a good session down; after Initialize the
// status is right. iOS is unaffected, and so are the wrappers' Android
// bridges, which create the client before they read the status
// (Profile.StatusCreatesClient).
func TestStatusBeforeTheClientExists(t *testing.T) {
	eachProfile(t, func(t *testing.T, w *world) {
		c, uid := signedIn(t, w)
		status, user := c.Status(), c.CurrentUserID()
		o := w.options()
		o.DeferCreate = true
		c, err := vitalsdk.New(w.ctx, o)
		require.NoError(t, err)
		if c.Profile().Platform == fsm.IOS || c.Profile().StatusCreatesClient {
			require.Equal(t, status, c.Status())
			require.Equal(t, user, c.CurrentUserID())
			return
		}
		requireState(t, c, "", 0, "", fsm.SignedOut)
		require.NoError(t, c.Initialize(w.ctx))
		require.Equal(t, status, c.Status())
		require.Equal(t, user, c.CurrentUserID())

		// What reading first would have led to: a sign-in that throws.
		c, err = vitalsdk.New(w.ctx, o)
		require.NoError(t, err)
		require.Equal(t, fsm.Status(0), c.Status(), "reads signed out")
		w.requireErr(c.SignIn(w.ctx, w.token(uid)), vitalsdk.ErrAlreadySignedIn)
		require.Equal(t, status, c.Status(), "the call created the client: the session was there all along")
	})
}

// TestRunnerInitializesBeforeItReads: the launch runner takes the SDK's
// initialise step before its first read, so an Android process whose client
// does not exist yet (§10.11) launches quietly instead of tearing the
// session down.
func TestRunnerInitializesBeforeItReads(t *testing.T) {
	for _, p := range []string{"android-4.2.0", "android-5.0"} {
		t.Run(p, func(t *testing.T) {
			w := newWorld(t, p)
			c, _ := signedIn(t, w)
			vital := c.CurrentUserID()
			c = w.launchWith(func(o *vitalsdk.Options) { o.DeferCreate = true })
			require.Equal(t, fsm.Status(0), c.Status(), "not created yet")
			journal := &memory.Journal{}
			require.NoError(t, journal.Save(w.ctx, reconcile.JournalEntry{LastObserved: fsm.Token, AppUserID: "alice",
				VitalUserID: vital, LastResolvedAt: w.clk.Now()}, "seed"))
			app := reconcile.AppSession{SignedIn: true, AppUserID: "alice", VitalUserID: vital}
			r, err := reconcile.NewRunner(reconcile.Config{Profile: c.Profile(), SDK: c, Tokens: noTokens{t},
				Journal: journal, App: func() reconcile.AppSession { return app },
				Now: w.clk.Now, Rand: func() float64 { return 0 }})
			require.NoError(t, err)
			out, err := r.Run(w.ctx)
			require.NoError(t, err)
			require.Equal(t, reconcile.ResultNothingToDo, out.Result, "%+v", out.First().Plan)
			require.Equal(t, fsm.Token, out.State)
		})
	}
}

// noTokens is a token source a quiet launch must never call.
type noTokens struct{ t *testing.T }

func (n noTokens) SignInToken(context.Context, string) (string, string, error) {
	n.t.Error("the launch minted a token")
	return "", "", errors.New("no tokens")
}

func (n noTokens) ResolveVitalUser(context.Context, string) (string, error) {
	n.t.Error("the launch resolved")
	return "", errors.New("no tokens")
}
