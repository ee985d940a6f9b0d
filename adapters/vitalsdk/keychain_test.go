package vitalsdk_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// TestLockedKeychain is reference §10.6 on every profile: a launch before
// the first unlock reads a false "signed out" on iOS ≤1.3; on iOS 1.4+ the
// status is right but sign-in, refresh and access token fail with a
// transient interactionNotAllowed; Android has no keychain. Nothing is
// erased, and after Unlock everything works.
func TestLockedKeychain(t *testing.T) {
	eachProfile(t, func(t *testing.T, w *world) {
		c, uid := signedIn(t, w)
		status, user := c.Status(), c.CurrentUserID()
		before, _ := w.stored()
		c = w.launchWith(func(o *vitalsdk.Options) { o.KeychainLocked = true })
		w.expire()

		switch c.Profile().LockedKeychain {
		case fsm.KeychainNotApplicable:
			require.True(t, c.ProtectedDataAvailable())
			require.Equal(t, status, c.Status())
			_, err := c.AccessToken(w.ctx)
			require.NoError(t, err)
			return
		case fsm.KeychainReadsSignedOut:
			require.False(t, c.ProtectedDataAvailable())
			requireState(t, c, fsm.Token, 0, "", fsm.SignedOut)
		case fsm.KeychainCallsFail:
			require.False(t, c.ProtectedDataAvailable())
			require.Equal(t, status, c.Status(), "the status comes from the unprotected params")
			require.Equal(t, user, c.CurrentUserID())
		}
		writes := w.db.WriteCount()
		_, err := c.AccessToken(w.ctx)
		w.requireErr(err, vitalsdk.ErrKeychainLocked)
		require.True(t, reconcile.IsTransient(err))
		w.requireErr(c.Refresh(w.ctx), vitalsdk.ErrKeychainLocked)
		w.requireErr(c.SignIn(w.ctx, w.token(uid)), vitalsdk.ErrKeychainLocked)
		require.Equal(t, writes, w.db.WriteCount())
		after, _ := w.stored()
		require.Equal(t, before, after, "nothing is erased")

		require.NoError(t, c.Unlock(w.ctx))
		require.True(t, c.ProtectedDataAvailable())
		require.Equal(t, status, c.Status())
		require.Equal(t, user, c.CurrentUserID())
		_, err = c.AccessToken(w.ctx)
		require.NoError(t, err)
	})
}

// TestLockedKeychainDefersMigration: an iOS 1.4+ launch before the first
// unlock cannot read a 1.3-era keychain record to migrate it into startup
// params; the migration runs at Unlock (§5.3, §10.6).
func TestLockedKeychainDefersMigration(t *testing.T) {
	w := newWorld(t, "ios-1.8")
	c := w.launch()
	uid := w.newUser()
	require.NoError(t, c.SignIn(w.ctx, w.token(uid))) // a record, no params
	writes := w.db.WriteCount()
	c = w.launchWith(func(o *vitalsdk.Options) { o.KeychainLocked = true })
	require.Equal(t, writes, w.db.WriteCount(), "no migration while locked")
	require.Equal(t, fsm.Status(0), c.Status())
	require.NoError(t, c.Unlock(w.ctx))
	require.Equal(t, writes+1, w.db.WriteCount())
	require.Equal(t, signedInToken, c.Status())
}
