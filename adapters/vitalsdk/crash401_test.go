package vitalsdk_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/reconcile"
)

// TestUnauthorizedRetry is what a data call's 401 does on each profile
// (docs/reference/profiles.md): iOS returns it and refreshes only at local
// expiry; Android refreshes and retries once, and on 4.1.0–4.2.1 the retry
// crashes the process after the refresh is stored. The next launch finds
// the refreshed session and works.
func TestUnauthorizedRetry(t *testing.T) {
	eachProfile(t, func(t *testing.T, w *world) {
		c, uid := signedIn(t, w)
		before, _ := w.stored()
		refreshes := w.tokenRequests()
		w.em.FailNext(emulator.RouteGetUser, 1, 401)
		u, err := c.GetOwnUser(w.ctx)
		prof := c.Profile()
		switch {
		case !prof.RefreshesOnUnauthorized:
			require.ErrorIs(t, err, junction.ErrUnauthorized)
			require.Equal(t, refreshes, w.tokenRequests(), "iOS does not refresh on a 401")
			return
		case !prof.UnauthorizedRetryCrashes:
			require.NoError(t, err)
			require.Equal(t, uid, u.UserID)
			require.Equal(t, refreshes+1, w.tokenRequests())
			return
		}
		w.requireErr(err, vitalsdk.ErrProcessCrashed)
		require.False(t, reconcile.IsTransient(err))
		require.Equal(t, refreshes+1, w.tokenRequests(), "the refresh ran before the retry")
		after, _ := w.stored()
		require.NotEqual(t, before.Record.AccessToken, after.Record.AccessToken, "the refresh is stored")
		require.Equal(t, 1, w.em.Requests(emulator.RouteGetUser), "the retry never left the process")
		// The process is gone.
		_, err = c.AccessToken(w.ctx)
		w.requireErr(err, vitalsdk.ErrProcessCrashed)
		w.requireErr(c.SignOut(w.ctx), vitalsdk.ErrProcessCrashed)

		// The next launch: the refreshed session, quiet and working.
		c = w.launch()
		require.Equal(t, signedInToken, c.Status())
		require.Equal(t, uid, c.CurrentUserID())
		u, err = c.GetOwnUser(w.ctx)
		require.NoError(t, err)
		require.Equal(t, uid, u.UserID)
		require.Equal(t, refreshes+1, w.tokenRequests(), "no refresh: the stored token is good")
	})
}

// TestUnauthorizedRetryNoCrashWhenTheRefreshFails: a refresh that fails
// throws before the retry (Android wraps it in VitalRequestError, an
// IOException), so a deleted user is detected without a crash where the
// profile reads the token errors.
func TestUnauthorizedRetryNoCrashWhenTheRefreshFails(t *testing.T) {
	for _, p := range []string{"android-4.2.0", "android-4.2.1", "rn-android-4.2.0", "flutter-android-4.2.1"} {
		t.Run(p, func(t *testing.T) {
			w := newWorld(t, p)
			c, uid := signedIn(t, w)
			require.NoError(t, w.em.DeleteUser(uid))
			w.em.FailNext(emulator.RouteGetUser, 1, 401)
			_, err := c.GetOwnUser(w.ctx)
			require.NotErrorIs(t, err, vitalsdk.ErrProcessCrashed)
			if c.Profile().DetectsDeletion {
				w.requireErr(err, vitalsdk.ErrInvalidUser)
			} else {
				w.requireErr(err, vitalsdk.ErrUndecodableTokenError)
			}
			_, err = c.AccessToken(w.ctx)
			require.NotErrorIs(t, err, vitalsdk.ErrProcessCrashed, "the process lives on")
		})
	}
}
