package vitalsdk_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
)

// TestReinstall is reference §10.5 per platform: iOS ≤1.3 comes back signed
// in as the previous user, iOS 1.4+ signed out; an Android backup restore
// brings back the session without the external user ID, so identify does
// not short-circuit and signs out and in again; with its refresh token
// rotated since the backup, the session reads as a deleted user.
func TestReinstall(t *testing.T) {
	eachProfile(t, func(t *testing.T, w *world) {
		c := w.launch()
		uid := w.newUser()
		if c.Profile().HasIdentify {
			require.NoError(t, c.IdentifyExternalUser(w.ctx, "app-a", vitalsdk.SignInTokenAuth{Token: w.token(uid)}))
		} else {
			require.NoError(t, c.SignIn(w.ctx, w.token(uid)))
		}
		c = w.launch()
		status, user := c.Status(), c.CurrentUserID()
		backup, _ := w.stored()

		require.NoError(t, vitalsdk.Reinstall(w.ctx, w.db, "phone", c.Profile(), true))
		c = w.launch()
		prof := c.Profile()
		switch {
		case prof.Platform == fsm.IOS && prof.ConfigurePersists:
			require.Equal(t, status, c.Status(), "signed in as the previous user")
			require.Equal(t, user, c.CurrentUserID())
			after, _ := w.stored()
			require.Equal(t, backup, after)
		case prof.Platform == fsm.IOS:
			requireState(t, c, "", 0, "", fsm.SignedOut)
			_, ok := w.stored()
			require.False(t, ok)
		default:
			require.Equal(t, status, c.Status(), "the backup restores the session")
			after, _ := w.stored()
			require.Empty(t, after.ExternalUserID, "but not the external user ID")
			require.Equal(t, backup.Record, after.Record)
			if prof.HasIdentify {
				// identify no longer short-circuits: Android signs out and in.
				requests := w.tokenRequests()
				require.NoError(t, c.IdentifyExternalUser(w.ctx, "app-a", vitalsdk.SignInTokenAuth{Token: w.token(uid)}))
				require.Equal(t, requests+1, w.tokenRequests())
			}
			// Without a restore Android starts empty.
			require.NoError(t, vitalsdk.Reinstall(w.ctx, w.db, "phone", prof, false))
			requireState(t, w.launch(), "", 0, "", fsm.SignedOut)
		}
	})
}

// TestReinstallStaleRefreshToken: an Android backup taken before a refresh
// rotated the token restores a refresh token the server retired; the next
// refresh reads it as a deleted user (§10.5, §10.9).
func TestReinstallStaleRefreshToken(t *testing.T) {
	w := newWorld(t, "android-5.0")
	c, _ := signedIn(t, w)
	backup, _ := w.stored() // the Auto Backup snapshot
	w.expire()
	_, err := c.AccessToken(w.ctx) // rotates the refresh token after the backup
	require.NoError(t, err)
	require.NoError(t, w.db.SaveDevice(w.ctx, backup)) // the restore
	require.NoError(t, vitalsdk.Reinstall(w.ctx, w.db, "phone", w.profile, true))
	c = w.launch()
	require.Equal(t, signedInToken, c.Status())
	w.expire()
	_, err = c.AccessToken(w.ctx)
	w.requireErr(err, vitalsdk.ErrInvalidUser)
	requireState(t, c, fsm.Token, fsm.FlagConfigured, "", fsm.UserDeleted)
}

// TestLostRefreshAnswerReadsAsDeletion: a refresh the server completed,
// rotating the refresh token, whose answer never arrives (a cancelled
// refresh) leaves the SDK with the retired token; the next refresh reads
// as a deleted user (reference §10.2, §10.9). Secure Token does not rotate,
// so on the legacy profiles the kept token is still good and the next
// refresh succeeds: a lost answer alone is no reauthentication.
func TestLostRefreshAnswerReadsAsDeletion(t *testing.T) {
	for _, p := range []string{"android-5.0", "ios-1.8", "ios-1.8.1", "ios-1.3", "android-4.2.0"} {
		t.Run(p, func(t *testing.T) {
			w := newWorld(t, p)
			c, _ := signedIn(t, w)
			before, _ := w.stored()
			w.em.LoseResponseNext(w.refreshRoute(), 1)
			w.expire()
			_, err := c.AccessToken(w.ctx)
			require.Error(t, err)
			after, _ := w.stored()
			require.Equal(t, before, after, "the SDK kept the old refresh token")
			_, err = c.AccessToken(w.ctx)
			if c.Profile().LegacyTokenEndpoint {
				require.NoError(t, err)
				require.Equal(t, signedInToken, c.Status()&^fsm.FlagPendingReauthentication)
				require.False(t, c.Status().Has(fsm.FlagPendingReauthentication))
				return
			}
			w.requireErr(err, vitalsdk.ErrInvalidUser)
		})
	}
}
