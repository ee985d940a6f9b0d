package vitalsdk_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/memory"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
)

// Every state change whose write fails returns the storage error and leaves
// both the client and the file as they were, on the error paths of a
// refresh (invalid_token, reauthentication_required) as on the happy ones.
func TestStorageFailureChangesNothing(t *testing.T) {
	type setup func(w *world) (*vitalsdk.Client, string)
	signedOut := func(w *world) (*vitalsdk.Client, string) { return w.launch(), w.newUser() }
	session := func(w *world) (*vitalsdk.Client, string) { return signedIn(w.t, w) }
	configured := func(w *world) (*vitalsdk.Client, string) {
		c := w.launch()
		require.NoError(w.t, c.Configure(w.ctx, w.em.APIKey(), fsm.Sandbox, fsm.US))
		return c, w.newUser()
	}
	tests := []struct {
		name  string
		setup setup
		// change runs with the database closed.
		change func(w *world, c *vitalsdk.Client, uid string) error
		// server prepares the emulator before the database is closed.
		server func(w *world, uid string)
		// Only on profiles with identify, or whose configure persists.
		hasIdentify, configurePersists bool
		// readsTokenErrors: the change writes only on profiles that read token
		// errors (DetectsDeletion).
		readsTokenErrors bool
	}{
		{name: "configure", setup: signedOut, configurePersists: true, change: func(w *world, c *vitalsdk.Client, _ string) error {
			return c.Configure(w.ctx, w.em.APIKey(), fsm.Sandbox, fsm.US)
		}},
		{name: "set user", setup: configured, change: func(w *world, c *vitalsdk.Client, uid string) error {
			return c.SetUserID(w.ctx, uid)
		}},
		{name: "sign in", setup: signedOut, change: func(w *world, c *vitalsdk.Client, uid string) error {
			return c.SignIn(w.ctx, w.token(uid))
		}},
		{name: "identify with token", setup: signedOut, hasIdentify: true, change: func(w *world, c *vitalsdk.Client, uid string) error {
			return c.IdentifyExternalUser(w.ctx, "app-a", vitalsdk.SignInTokenAuth{Token: w.token(uid)})
		}},
		{name: "identify with API key", setup: signedOut, hasIdentify: true, change: func(w *world, c *vitalsdk.Client, uid string) error {
			return c.IdentifyExternalUser(w.ctx, "app-a", vitalsdk.APIKeyAuth{Key: w.em.APIKey(), UserID: uid, Environment: fsm.Sandbox, Region: fsm.US})
		}},
		{name: "refresh", setup: session, change: func(w *world, c *vitalsdk.Client, _ string) error {
			w.expire()
			_, err := c.AccessToken(w.ctx)
			return err
		}},
		{name: "refresh: user deleted", setup: session, readsTokenErrors: true,
			server: func(w *world, uid string) { require.NoError(w.t, w.em.DeleteUser(uid)) },
			change: func(w *world, c *vitalsdk.Client, _ string) error { return c.Refresh(w.ctx) }},
		{name: "refresh: reauthentication required", setup: session, readsTokenErrors: true,
			server: func(w *world, uid string) { w.em.RevokeRefreshTokens(uid) },
			change: func(w *world, c *vitalsdk.Client, _ string) error { return c.Refresh(w.ctx) }},
		{name: "sign out", setup: session, change: func(w *world, c *vitalsdk.Client, _ string) error {
			return c.SignOut(w.ctx)
		}},
	}
	for _, p := range fsm.ProfileNames() {
		for _, tt := range tests {
			t.Run(p+"/"+tt.name, func(t *testing.T) {
				w := newWorld(t, p)
				if tt.hasIdentify && !w.profile.HasIdentify {
					t.Skip("no identify on this profile")
				}
				if tt.readsTokenErrors && !w.profile.DetectsDeletion {
					t.Skip("no write: the profile cannot read token errors (TestTokenErrorsNeverDetected)")
				}
				if tt.configurePersists && !w.profile.ConfigurePersists {
					t.Skip("configure does not write on this profile")
				}
				c, uid := tt.setup(w)
				if tt.server != nil {
					tt.server(w, uid)
				}
				before, found := w.stored()
				status, user := c.Status(), c.CurrentUserID()
				require.NoError(t, w.db.Close())

				w.requireErr(tt.change(w, c, uid), sqlite.ErrClosed)
				require.Equal(t, status, c.Status())
				require.Equal(t, user, c.CurrentUserID())

				w.open()
				after, stillFound := w.stored()
				require.Equal(t, found, stillFound)
				require.Equal(t, before, after)
			})
		}
	}
}

// The in-process twin of the crash test, as simulations inject crashes:
// the store dies at each write of a scenario (memory.CrashAfter), and a
// relaunch on what the store holds finds a valid state and can go on.
func TestCrashAtEveryStoreWriteLeavesAValidState(t *testing.T) {
	eachProfile(t, func(t *testing.T, w *world) {
		counter := memory.CrashAfter(-1)
		require.NoError(t, storeScenario(w, counter.Store(memory.NewDeviceStore())))
		writes := counter.Writes()
		require.Greater(t, writes, 4)
		for n := range writes {
			inner := memory.NewDeviceStore()
			dying := memory.CrashAfter(n)
			err := storeScenario(w, dying.Store(inner))
			require.True(t, dying.Crashed(), "write %d", n)
			require.ErrorIs(t, err, memory.ErrCrashed, "write %d", n)
			var se *vitalsdk.Error
			require.ErrorAs(t, err, &se, "a Client wraps the store's error in its own")
			requireValidRelaunch(t, w, inner, n)
		}
	})
}

// storeScenario signs in, refreshes, switches user and signs out on store,
// stopping at the first error.
func storeScenario(w *world, store vitalsdk.Store) error {
	o := w.options()
	o.Store = store
	c, err := vitalsdk.New(w.ctx, o)
	if err != nil {
		return err
	}
	first, second := w.token(w.newUser()), w.token(w.newUser())
	// On iOS 1.4+ the deprecated signIn's session shows, and the public
	// refreshToken works, only after a relaunch (§1.2, §10.2).
	relaunch := func() error {
		if !w.profile.SignInNeedsRelaunch {
			return nil
		}
		c, err = vitalsdk.New(w.ctx, o)
		return err
	}
	steps := []func() error{
		func() error { return c.SignIn(w.ctx, first) },
		relaunch,
		func() error { return c.Refresh(w.ctx) },
		func() error { return c.SignOut(w.ctx) },
		func() error { return c.SignIn(w.ctx, second) },
		relaunch,
		func() error { return c.Refresh(w.ctx) },
	}
	if w.profile.HasIdentify {
		steps = append(steps,
			func() error {
				return c.IdentifyExternalUser(w.ctx, "app-b", vitalsdk.SignInTokenAuth{Token: w.token(w.newUser())})
			})
	}
	steps = append(steps,
		func() error { // a relaunch: iOS 1.4+ writes startup params
			c, err = vitalsdk.New(w.ctx, o)
			return err
		},
		func() error { return c.SignOut(w.ctx) })
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// requireValidRelaunch launches on store and checks that it holds a valid
// state of the machine, never token mode without tokens, and that the
// device can go on.
func requireValidRelaunch(t *testing.T, w *world, store vitalsdk.Store, n int) {
	t.Helper()
	ctx := context.Background()
	o := w.options()
	o.Store = store
	c, err := vitalsdk.New(ctx, o)
	require.NoError(t, err, "crash at write %d", n)
	status := c.Status()
	state, err := fsm.Classify(status, "", w.profile)
	require.NoError(t, err, "crash at write %d: status %s", n, status)
	if status.Has(fsm.FlagUseSignInToken) {
		st, found, err := store.LoadDevice(ctx, "phone")
		require.NoError(t, err)
		require.True(t, found)
		require.NotNil(t, st.Record, "token mode without tokens after a crash at write %d", n)
		_, err = c.AccessToken(ctx)
		require.NoError(t, err, "crash at write %d", n)
	}
	if state.SignedIn() {
		require.NotEmpty(t, c.CurrentUserID())
	}
	require.NoError(t, c.SignOut(ctx))
	require.Equal(t, fsm.Status(0), c.Status())
}
