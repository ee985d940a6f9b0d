package vitalsdk_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
)

func TestIdentifyUnsupportedOnIOS13(t *testing.T) {
	w := newWorld(t, "ios-1.3")
	c := w.launch()
	err := c.IdentifyExternalUser(w.ctx, "app-user-1", vitalsdk.SignInTokenAuth{Token: w.token(w.newUser())})
	w.requireErr(err, vitalsdk.ErrUnsupported)
	require.Equal(t, fsm.Status(0), c.Status())
}

// identifyProfiles are the profiles with identifyExternalUser.
var identifyProfiles = []string{"ios-1.8", "android-4.2.0", "android-5.0"}

func TestIdentifyWithSignInToken(t *testing.T) {
	for _, p := range identifyProfiles {
		t.Run(p, func(t *testing.T) {
			w := newWorld(t, p)
			c := w.launch()
			shown := func(id string) string {
				if c.Profile().UpperCaseUserID {
					return strings.ToUpper(id)
				}
				return id
			}
			a := w.newUser()

			// None → A signs in, persisted at once (also on iOS 1.4+).
			require.NoError(t, c.IdentifyExternalUser(w.ctx, "app-a", vitalsdk.SignInTokenAuth{Token: w.token(a)}))
			requireState(t, c, fsm.SignedOut, signedInToken, shown(a), fsm.Token)
			c = w.reopen()
			requireState(t, c, fsm.Token, signedInToken, shown(a), fsm.Token)

			// Same external ID: returns at once, no network, no write.
			requests, writes := w.em.TotalRequests(), w.db.WriteCount()
			require.NoError(t, c.IdentifyExternalUser(w.ctx, "app-a", vitalsdk.SignInTokenAuth{Token: "never decoded"}))
			require.Equal(t, requests, w.em.TotalRequests())
			require.Equal(t, writes, w.db.WriteCount())

			// Same Vital user under a new external ID: Android throws
			// alreadySignedIn internally, so it signs out and in again;
			// iOS 1.4+ treats it as a no-op.
			exchanges := w.tokenRequests()
			require.NoError(t, c.IdentifyExternalUser(w.ctx, "app-a2", vitalsdk.SignInTokenAuth{Token: w.token(a)}))
			if c.Profile().SameUserSignInThrows {
				require.Equal(t, exchanges+1, w.tokenRequests(), "re-sign-in")
			} else {
				require.Equal(t, exchanges, w.tokenRequests(), "no-op")
			}
			st, _ := w.stored()
			require.Equal(t, "app-a2", st.ExternalUserID)

			// A → B signs out and signs in.
			b := w.newUser()
			require.NoError(t, c.IdentifyExternalUser(w.ctx, "app-b", vitalsdk.SignInTokenAuth{Token: w.token(b)}))
			requireState(t, c, fsm.Token, signedInToken, shown(b), fsm.Token)
			c = w.reopen()
			requireState(t, c, fsm.Token, signedInToken, shown(b), fsm.Token)

			// A failure after the sign-out leaves the SDK signed out.
			w.em.FailNext(w.signInRoute(), 1, 503)
			err := c.IdentifyExternalUser(w.ctx, "app-a", vitalsdk.SignInTokenAuth{Token: w.token(a)})
			require.Error(t, err)
			requireState(t, c, fsm.Token, 0, "", fsm.SignedOut)

			// A bad token: nothing changes.
			err = c.IdentifyExternalUser(w.ctx, "app-a", vitalsdk.SignInTokenAuth{Token: "%%%"})
			w.requireErr(err, vitalsdk.ErrMalformedSignInToken)
			w.requireErr(c.IdentifyExternalUser(w.ctx, "", vitalsdk.SignInTokenAuth{Token: "x"}), vitalsdk.ErrInvalidArgument)
			w.requireErr(c.IdentifyExternalUser(w.ctx, "app-a", nil), vitalsdk.ErrInvalidArgument)
		})
	}
}

func TestIdentifyWithAPIKey(t *testing.T) {
	for _, p := range identifyProfiles {
		t.Run(p, func(t *testing.T) {
			w := newWorld(t, p)
			c := w.launch()
			key := w.em.APIKey()
			a, b := w.newUser(), w.newUser()
			shown := func(id string) string {
				if c.Profile().Platform == fsm.IOS {
					return strings.ToUpper(id)
				}
				return id
			}
			auth := func(user string) vitalsdk.APIKeyAuth {
				return vitalsdk.APIKeyAuth{Key: key, UserID: user, Environment: fsm.Sandbox, Region: fsm.US}
			}

			// Not configured: it configures with the key, then sets the user.
			require.NoError(t, c.IdentifyExternalUser(w.ctx, "app-a", auth(a)))
			requireState(t, c, fsm.SignedOut, signedInAPIKey, shown(a), fsm.APIKey)
			c = w.reopen()
			requireState(t, c, fsm.APIKey, signedInAPIKey, shown(a), fsm.APIKey)
			u, err := c.GetOwnUser(w.ctx)
			require.NoError(t, err)
			require.Equal(t, a, u.UserID)

			// A different user: sign out first. Android's sign-out clears the
			// strategy, which setUserId does not restore: status {}.
			require.NoError(t, c.IdentifyExternalUser(w.ctx, "app-b", auth(strings.ToUpper(b))))
			if c.Profile().Platform == fsm.Android {
				requireState(t, c, fsm.APIKey, 0, "", fsm.SignedOut)
				st, _ := w.stored()
				require.Equal(t, strings.ToUpper(b), st.APIKeyUserID)
				require.Empty(t, st.Strategy)
				return
			}
			requireState(t, c, fsm.APIKey, signedInAPIKey, strings.ToUpper(b), fsm.APIKey)
			c = w.reopen()
			requireState(t, c, fsm.APIKey, signedInAPIKey, strings.ToUpper(b), fsm.APIKey)

			w.requireErr(c.IdentifyExternalUser(w.ctx, "app-c", auth("not-a-uuid")), vitalsdk.ErrInvalidArgument)
		})
	}
}

func TestIOS18DeprecatedSignInMigrationIsLostAtRelaunch(t *testing.T) {
	w := newWorld(t, "ios-1.8")
	c := w.launch()
	uid := w.newUser()
	upper := strings.ToUpper(uid)
	require.NoError(t, c.Configure(w.ctx, w.em.APIKey(), fsm.Sandbox, fsm.US))
	require.NoError(t, c.SetUserID(w.ctx, uid))
	requireState(t, c, fsm.Configured, signedInAPIKey, upper, fsm.APIKey)

	// The deprecated signIn exchanges and keeps the record, but the
	// startup params stay in API-key mode: the status keeps saying so.
	require.NoError(t, c.SignIn(w.ctx, w.token(uid)))
	requireState(t, c, fsm.APIKey, signedInAPIKey, upper, fsm.APIKey)
	// The public getAccessToken needs useSignInToken in the status, so it
	// throws; internal calls use the session in memory (§10.2).
	_, err := c.AccessToken(w.ctx)
	w.requireErr(err, vitalsdk.ErrNotSignedIn)
	u, err := c.GetOwnUser(w.ctx)
	require.NoError(t, err, "token mode in memory")
	require.Equal(t, uid, u.UserID)

	// After a relaunch the SDK is back in API-key mode.
	c = w.reopen()
	requireState(t, c, fsm.APIKey, signedInAPIKey, upper, fsm.APIKey)
	_, err = c.AccessToken(w.ctx)
	w.requireErr(err, vitalsdk.ErrNotSignedIn)

	// identify with a Sign-In Token persists the migration (the record is
	// the same user's, so no new exchange).
	exchanges := w.tokenRequests()
	require.NoError(t, c.IdentifyExternalUser(w.ctx, "app-user", vitalsdk.SignInTokenAuth{Token: w.token(uid)}))
	require.Equal(t, exchanges, w.tokenRequests())
	requireState(t, c, fsm.APIKey, signedInToken, upper, fsm.Token)
	c = w.reopen()
	requireState(t, c, fsm.Token, signedInToken, upper, fsm.Token)
	_, err = c.AccessToken(w.ctx)
	require.NoError(t, err)
}

func TestAPIKeyMigrationPersists(t *testing.T) {
	for _, p := range []string{"ios-1.3", "android-4.2.0", "android-5.0"} {
		t.Run(p, func(t *testing.T) {
			w := newWorld(t, p)
			c := w.launch()
			uid := w.newUser()
			require.NoError(t, c.Configure(w.ctx, w.em.APIKey(), fsm.Sandbox, fsm.US))
			require.NoError(t, c.SetUserID(w.ctx, uid))
			require.Equal(t, signedInAPIKey, c.Status())
			// No compatibility check: any token migrates.
			other := w.newUser()
			require.NoError(t, c.SignIn(w.ctx, w.token(other)))
			requireState(t, c, fsm.APIKey, signedInToken, other, fsm.Token)
			c = w.reopen()
			requireState(t, c, fsm.Token, signedInToken, other, fsm.Token)
			st, _ := w.stored()
			require.Empty(t, st.APIKey, "the JWT strategy has no API key")
		})
	}
}

func TestConfigure(t *testing.T) {
	eachProfile(t, func(t *testing.T, w *world) {
		c := w.launch()
		w.requireErr(c.Configure(w.ctx, "", fsm.Sandbox, fsm.US), vitalsdk.ErrInvalidArgument)
		w.requireErr(c.Configure(w.ctx, "k", "staging", fsm.US), vitalsdk.ErrInvalidArgument)
		w.requireErr(c.Configure(w.ctx, "k", fsm.Sandbox, "ap"), vitalsdk.ErrInvalidArgument)
		require.NoError(t, c.Configure(w.ctx, w.em.APIKey(), fsm.Production, fsm.EU))
		requireState(t, c, fsm.SignedOut, fsm.FlagConfigured, "", fsm.Configured)
		env, region, ok := c.Environment()
		require.True(t, ok)
		require.Equal(t, fsm.Production, env)
		require.Equal(t, fsm.EU, region)

		c = w.reopen()
		if c.Profile().ConfigurePersists {
			requireState(t, c, fsm.Configured, fsm.FlagConfigured, "", fsm.Configured)
		} else {
			requireState(t, c, fsm.Configured, 0, "", fsm.SignedOut)
			_, _, ok := c.Environment()
			require.False(t, ok)
		}
	})
}

func TestSetUserID(t *testing.T) {
	const uuid = "3f2c6a1e-9b1d-4c7e-8a2f-5d6e7f8a9b0c"
	eachProfile(t, func(t *testing.T, w *world) {
		c := w.launch()
		prof := c.Profile()
		w.requireErr(c.SetUserID(w.ctx, ""), vitalsdk.ErrInvalidArgument)

		// Not configured.
		err := c.SetUserID(w.ctx, uuid)
		if prof.Platform == fsm.IOS {
			w.requireErr(err, vitalsdk.ErrNotConfigured)
		} else {
			require.NoError(t, err, "Android stores the user ID anyway")
			requireState(t, c, "", 0, "", fsm.SignedOut)
			st, _ := w.stored()
			require.Equal(t, uuid, st.APIKeyUserID)
		}

		require.NoError(t, c.Configure(w.ctx, w.em.APIKey(), fsm.Sandbox, fsm.US))
		if prof.Platform == fsm.IOS {
			w.requireErr(c.SetUserID(w.ctx, "user-1"), vitalsdk.ErrInvalidArgument)
			require.NoError(t, c.SetUserID(w.ctx, uuid))
			requireState(t, c, fsm.Configured, signedInAPIKey, appSees(prof, strings.ToUpper(uuid)), fsm.APIKey)
		} else {
			require.NoError(t, c.SetUserID(w.ctx, "user-1"))
			requireState(t, c, fsm.Configured, signedInAPIKey, "user-1", fsm.APIKey)
		}
		c = w.reopen()
		require.Equal(t, signedInAPIKey, c.Status(), "an API-key sign-in persists")

		// In token mode.
		require.NoError(t, c.SignOut(w.ctx))
		c, uid := signedIn(t, w)
		writes := w.db.WriteCount()
		err = c.SetUserID(w.ctx, uuid)
		if prof.UpperCaseUserID {
			w.requireErr(err, vitalsdk.ErrAlreadySignedIn)
		} else {
			require.NoError(t, err, "ignored")
		}
		require.Equal(t, writes, w.db.WriteCount())
		require.True(t, strings.EqualFold(uid, c.CurrentUserID()))
	})
}

func TestIOS18LaunchMigratesLegacyAPIKeySignIn(t *testing.T) {
	// An app upgraded from an iOS 1.3 build that was signed in with an API
	// key: the first 1.4+ launch turns it into startup params.
	w := newWorld(t, "ios-1.3")
	c := w.launch()
	uid := w.newUser()
	require.NoError(t, c.Configure(w.ctx, w.em.APIKey(), fsm.Sandbox, fsm.US))
	require.NoError(t, c.SetUserID(w.ctx, uid))

	w.profile, _ = fsm.ParseProfile("ios-1.8")
	c = w.reopen()
	requireState(t, c, fsm.APIKey, signedInAPIKey, strings.ToUpper(uid), fsm.APIKey)
	st, _ := w.stored()
	require.Equal(t, vitalsdk.StrategyAPIKey, st.StartupStrategy)
	c = w.reopen()
	requireState(t, c, fsm.APIKey, signedInAPIKey, strings.ToUpper(uid), fsm.APIKey)
}

func TestNewValidatesOptions(t *testing.T) {
	w := newWorld(t, "android-5.0")
	o := w.options()
	o.Store = nil
	_, err := vitalsdk.New(w.ctx, o)
	require.ErrorIs(t, err, vitalsdk.ErrInvalidArgument)
	o = w.options()
	o.Installation = ""
	_, err = vitalsdk.New(w.ctx, o)
	require.ErrorIs(t, err, vitalsdk.ErrInvalidArgument)
	for _, bad := range []func(*fsm.Profile){
		func(p *fsm.Profile) { p.ConfigurePersists = false },
		func(p *fsm.Profile) { p.APIKeyMigrationPersists = false },
		func(p *fsm.Profile) { p.SignInNeedsRelaunch = true },
	} {
		o = w.options()
		bad(&o.Profile)
		_, err = vitalsdk.New(w.ctx, o)
		require.ErrorIs(t, err, vitalsdk.ErrUnsupported)
	}
}

func TestAuthenticateFormattingHidesSecrets(t *testing.T) {
	k := vitalsdk.APIKeyAuth{Key: "sk_us_secret", UserID: "u", Environment: fsm.Sandbox, Region: fsm.US}
	tok := vitalsdk.SignInTokenAuth{Token: "eyJzZWNyZXQ="}
	for _, s := range []string{
		fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k), fmt.Sprintf("%v %+v %#v", &k, &k, &k),
		fmt.Sprint(tok), fmt.Sprintf("%v %+v %#v %s", tok, tok, tok, tok),
	} {
		require.NotContains(t, s, "sk_us_secret")
		require.NotContains(t, s, "eyJzZWNyZXQ=")
	}
}
