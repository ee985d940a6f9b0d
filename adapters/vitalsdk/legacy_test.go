package vitalsdk_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/fsm"
)

// TestLegacyProfilesUseTheFirebaseEndpoints: a device on a legacy profile
// signs in, refreshes and detects its user's deletion through Identity
// Toolkit and Secure Token only, keeping the public key and tenant in its
// record; the other profiles never touch those routes (reference §10.3).
func TestLegacyProfilesUseTheFirebaseEndpoints(t *testing.T) {
	eachProfile(t, func(t *testing.T, w *world) {
		c := w.launch()
		uid := w.newUser()
		require.NoError(t, c.SignIn(w.ctx, w.token(uid)))
		st, _ := w.stored()
		legacy := c.Profile().LegacyTokenEndpoint
		require.Equal(t, "emulator-tenant", st.Record.TenantID)
		if legacy {
			require.Equal(t, w.em.PublicAPIKey(), st.Record.PublicAPIKey)
		} else {
			require.Empty(t, st.Record.PublicAPIKey)
		}
		if c.Profile().RecordWithoutRegion {
			require.Empty(t, st.Record.Region, "Android 4.2.0's record has no region")
			require.Equal(t, fsm.US, st.Region, "its strategy has")
		} else {
			require.Equal(t, fsm.US, st.Record.Region)
		}

		c = w.launch() // iOS 1.4+: the deprecated signIn's session shows after a relaunch
		w.expire()
		tok, err := c.AccessToken(w.ctx)
		require.NoError(t, err)
		u, err := c.GetOwnUser(w.ctx)
		require.NoError(t, err, "the ID token is an access token of the API")
		require.Equal(t, uid, u.UserID)
		after, _ := w.stored()
		require.Equal(t, tok, after.Record.AccessToken)
		if legacy {
			require.Equal(t, st.Record.RefreshToken, after.Record.RefreshToken, "Secure Token keeps the session's refresh token")
		} else {
			require.NotEqual(t, st.Record.RefreshToken, after.Record.RefreshToken, "/v1/token rotates")
		}

		require.NoError(t, w.em.DeleteUser(uid))
		w.expire()
		_, err = c.AccessToken(w.ctx)
		if c.Profile().DetectsDeletion {
			w.requireErr(err, vitalsdk.ErrInvalidUser)
		} else {
			w.requireErr(err, vitalsdk.ErrUndecodableTokenError)
		}

		legacyCalls := w.em.Requests(emulator.RouteLegacySignIn) + w.em.Requests(emulator.RouteLegacyRefresh)
		if legacy {
			require.Zero(t, w.em.Requests(emulator.RouteToken))
			require.Equal(t, 1, w.em.Requests(emulator.RouteLegacySignIn))
			require.Equal(t, 2, w.em.Requests(emulator.RouteLegacyRefresh))
		} else {
			require.Zero(t, legacyCalls)
			require.Equal(t, 3, w.em.Requests(emulator.RouteToken))
		}
	})
}

// TestUpgradeAcrossTheCutover: a session signed in on a legacy profile is
// carried to the profile after the cutover, which posts the legacy refresh
// token to /v1/token (reference §10.4). Whether the server honours it is
// the emulator's knob: if not, the SDK reads invalid_token as a deleted
// user and erases the session; if so, the session lives on.
func TestUpgradeAcrossTheCutover(t *testing.T) {
	for _, tc := range []struct{ from, to string }{
		{"ios-1.8.1", "ios-1.8"},
		{"android-4.2.0", "android-5.0"},
	} {
		for _, honour := range []bool{false, true} {
			name := tc.from + "->" + tc.to
			if honour {
				name += "/honoured"
			}
			t.Run(name, func(t *testing.T) {
				w := buildWorldWith(t, tc.from, emulator.WithLegacyRefreshHonoured(honour))
				c := w.launch()
				uid := w.newUser()
				if c.Profile().HasIdentify {
					require.NoError(t, c.IdentifyExternalUser(w.ctx, "app-a", vitalsdk.SignInTokenAuth{Token: w.token(uid)}))
				}
				to, _ := fsm.ParseProfile(tc.to)
				w.profile = to
				c = w.launch()
				require.True(t, c.Status().Has(fsm.FlagSignedIn), "the upgraded SDK reads the old session")
				w.expire()
				_, err := c.AccessToken(w.ctx)
				require.Equal(t, 1, w.em.Requests(emulator.RouteToken), "the legacy refresh token goes to /v1/token")
				if honour {
					require.NoError(t, err)
					u, err := c.GetOwnUser(w.ctx)
					require.NoError(t, err)
					require.Equal(t, uid, u.UserID)
					st, _ := w.stored()
					require.Equal(t, fsm.US, st.Record.Region, "the upgraded SDK keeps the region")
					return
				}
				w.requireErr(err, vitalsdk.ErrInvalidUser)
				if to.AutoSignOutOnDeletion {
					require.Equal(t, fsm.Status(0), c.Status())
				} else {
					require.Equal(t, fsm.FlagConfigured, c.Status())
				}
			})
		}
	}
}
