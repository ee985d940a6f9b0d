package vitalsdk_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/memory"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
)

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
