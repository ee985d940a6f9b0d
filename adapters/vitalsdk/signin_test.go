package vitalsdk_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

func TestSignInFromSignedOut(t *testing.T) {
	eachProfile(t, func(t *testing.T, w *world) {
		c := w.launch()
		requireState(t, c, "", 0, "", fsm.SignedOut)
		uid := w.newUser()
		require.NoError(t, c.SignIn(w.ctx, w.token(uid)))
		st, ok := w.stored()
		require.True(t, ok)
		require.NotNil(t, st.Record)
		require.Equal(t, uid, st.Record.UserID)
		require.Equal(t, w.clk.Now().Add(accessTTL), st.Record.Expiry)

		if c.Profile().SignInNeedsRelaunch {
			// The deprecated signIn writes no startup params: {configured},
			// no user, until the next launch migrates the record.
			requireState(t, c, fsm.SignedOut, fsm.FlagConfigured, "", fsm.Configured)
			// The public getAccessToken needs useSignInToken (§10.2);
			// internal calls use the session.
			_, err := c.AccessToken(w.ctx)
			w.requireErr(err, vitalsdk.ErrNotSignedIn)
			u, err := c.GetOwnUser(w.ctx)
			require.NoError(t, err)
			require.Equal(t, uid, u.UserID)
			c = w.reopen()
			requireState(t, c, fsm.Configured, signedInToken, appSees(c.Profile(), strings.ToUpper(uid)), fsm.Token)
		} else {
			requireState(t, c, fsm.SignedOut, signedInToken, uid, fsm.Token)
			c = w.reopen()
			requireState(t, c, fsm.Token, signedInToken, uid, fsm.Token)
		}
		env, region, ok := c.Environment()
		require.True(t, ok)
		require.Equal(t, fsm.Sandbox, env)
		require.Equal(t, fsm.US, region)
	})
}

// signedIn returns a client in token mode (a launch after the sign-in, so
// iOS 1.4+ has its startup params) and the user ID.
func signedIn(t *testing.T, w *world) (*vitalsdk.Client, string) {
	t.Helper()
	uid := w.newUser()
	require.NoError(t, w.launch().SignIn(w.ctx, w.token(uid)))
	c := w.launch()
	require.Equal(t, signedInToken, c.Status())
	return c, uid
}

// identified returns a client signed in as a new user the way an app on its
// profile signs in, identifyExternalUser as external where the profile has
// it and the deprecated signIn otherwise, relaunched; and the user ID.
func identified(t *testing.T, w *world, external string) (*vitalsdk.Client, string) {
	t.Helper()
	c := w.launch()
	uid := w.newUser()
	if c.Profile().HasIdentify {
		require.NoError(t, c.IdentifyExternalUser(w.ctx, external, vitalsdk.SignInTokenAuth{Token: w.token(uid)}))
	} else {
		require.NoError(t, c.SignIn(w.ctx, w.token(uid)))
	}
	return w.launch(), uid
}

func TestSignInSameUser(t *testing.T) {
	eachProfile(t, func(t *testing.T, w *world) {
		c, uid := signedIn(t, w)
		before, _ := w.stored()
		exchanges := w.tokenRequests()
		err := c.SignIn(w.ctx, w.token(uid))
		if c.Profile().SameUserSignInThrows {
			w.requireErr(err, vitalsdk.ErrAlreadySignedIn)
		} else {
			require.NoError(t, err, "iOS 1.4+: the same user is a no-op")
		}
		require.Equal(t, exchanges, w.tokenRequests(), "no exchange")
		after, _ := w.stored()
		require.Equal(t, before, after)
		require.Equal(t, signedInToken, c.Status())
	})
}

func TestSignInDifferentUser(t *testing.T) {
	eachProfile(t, func(t *testing.T, w *world) {
		c, uid := signedIn(t, w)
		writes := w.db.WriteCount()
		w.requireErr(c.SignIn(w.ctx, w.token(w.newUser())), vitalsdk.ErrAlreadySignedIn)
		require.Equal(t, writes, w.db.WriteCount())
		require.True(t, strings.EqualFold(uid, c.CurrentUserID()))

		// Sign out, then the other user signs in.
		require.NoError(t, c.SignOut(w.ctx))
		requireState(t, c, fsm.Token, 0, "", fsm.SignedOut)
		_, ok := w.stored()
		require.False(t, ok, "sign-out erases every row")
		other := w.newUser()
		require.NoError(t, c.SignIn(w.ctx, w.token(other)))
		c = w.reopen()
		require.True(t, strings.EqualFold(other, c.CurrentUserID()))
	})
}

func TestSignInBadTokens(t *testing.T) {
	eachProfile(t, func(t *testing.T, w *world) {
		c := w.launch()
		uid := w.newUser()
		raw := w.token(uid)

		// Not decodable: rejected before any network call.
		garbage := "not-a-token-" + raw[:10]
		w.secrets.Add(garbage)
		total := w.em.TotalRequests()
		err := c.SignIn(w.ctx, garbage)
		w.requireErr(err, vitalsdk.ErrMalformedSignInToken)
		require.NotErrorIs(t, err, vitalsdk.ErrInvalidSignInToken, "§10.2: a decoding error, not invalidSignInToken")
		require.ErrorIs(t, err, junction.ErrMalformedToken)
		require.Equal(t, total, w.em.TotalRequests())

		// Expired at the server: invalid_token.
		w.clk.Advance(2 * accessTTL)
		err = c.SignIn(w.ctx, raw)
		switch {
		case c.Profile().LegacyTokenEndpoint:
			// Identity Toolkit answers INVALID_CUSTOM_TOKEN with 400, and
			// the legacy SDKs map only a 401 to invalidSignInToken: a
			// plain error (§10.3).
			require.Error(t, err)
			require.NotErrorIs(t, err, vitalsdk.ErrInvalidSignInToken)
			require.ErrorIs(t, err, junction.ErrValidation)
			require.False(t, reconcile.IsTransient(err))
		case c.Profile().DetectsDeletion:
			w.requireErr(err, vitalsdk.ErrInvalidSignInToken)
			require.ErrorIs(t, err, junction.ErrInvalidToken)
		default:
			// Android 4.2.1–4.2.2: a decoding exception, not
			// invalidSignInToken (reference §10.1).
			w.requireErr(err, vitalsdk.ErrUndecodableTokenError)
			require.NotErrorIs(t, err, vitalsdk.ErrInvalidSignInToken)
			require.False(t, reconcile.IsTransient(err))
		}

		// Transient failures.
		w.em.FailNext(w.signInRoute(), 1, 503)
		err = c.SignIn(w.ctx, w.token(uid))
		require.True(t, reconcile.IsTransient(err), "%v", err)
		w.requireNoSecrets(err.Error())
		w.em.DropNext(w.signInRoute(), 1)
		err = c.SignIn(w.ctx, w.token(uid))
		require.ErrorIs(t, err, junction.ErrTransport)

		// A failed sign-in leaves the SDK unconfigured.
		requireState(t, c, "", 0, "", fsm.SignedOut)
		_, ok := w.stored()
		require.False(t, ok)
	})
}

// urlSafe re-encodes a Sign-In Token with URL-safe base64 without padding,
// growing its JSON with whitespace so the two encodings differ.
func urlSafe(t *testing.T, raw string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(raw)
	require.NoError(t, err)
	for len(b)%3 == 0 {
		b = append(b, ' ')
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestSignInURLSafeToken(t *testing.T) {
	eachProfile(t, func(t *testing.T, w *world) {
		c := w.launch()
		raw := urlSafe(t, w.token(w.newUser()))
		w.secrets.Add(raw)
		err := c.SignIn(w.ctx, raw)
		if c.Profile().LenientTokenBase64 {
			require.NoError(t, err)
			require.Equal(t, signedInToken, c.Status())
		} else {
			w.requireErr(err, vitalsdk.ErrMalformedSignInToken)
		}
	})
}

func TestReauthentication(t *testing.T) {
	eachProfile(t, func(t *testing.T, w *world) {
		c, uid := signedIn(t, w)
		shown := uid
		if c.Profile().UpperCaseUserID {
			shown = appSees(c.Profile(), strings.ToUpper(uid))
		}
		w.em.RevokeRefreshTokens(uid)
		w.expire()
		_, err := c.AccessToken(w.ctx)
		if !c.Profile().DetectsDeletion {
			requireNeverDetected(w, c, err, shown)
			return
		}
		w.requireErr(err, vitalsdk.ErrNeedsReauthentication)

		pending := signedInToken
		want := fsm.Token
		if c.Profile().ReportsPendingReauth {
			pending |= fsm.FlagPendingReauthentication
			want = fsm.ReauthRequired
		}
		requireState(t, c, fsm.Token, pending, shown, want)

		// Later refreshes fail at once, with no network call, also after
		// a relaunch.
		requests := w.em.TotalRequests()
		w.requireErr(c.Refresh(w.ctx), vitalsdk.ErrNeedsReauthentication)
		c = w.reopen()
		requireState(t, c, want, pending, shown, want)
		_, err = c.AccessToken(w.ctx)
		w.requireErr(err, vitalsdk.ErrNeedsReauthentication)
		require.Equal(t, requests, w.em.TotalRequests())

		// Another user's token does not replace the pending session.
		err = c.SignIn(w.ctx, w.token(w.newUser()))
		if c.Profile().SameUserSignInThrows {
			w.requireErr(err, vitalsdk.ErrInvalidSignInToken)
		} else {
			w.requireErr(err, vitalsdk.ErrAlreadySignedIn)
		}

		// A token for the same user re-exchanges.
		exchanges := w.tokenRequests()
		require.NoError(t, c.SignIn(w.ctx, w.token(uid)))
		require.Equal(t, exchanges+1, w.tokenRequests())
		requireState(t, c, want, signedInToken, shown, fsm.Token)
		w.expire()
		_, err = c.AccessToken(w.ctx)
		require.NoError(t, err)
		st, _ := w.stored()
		require.False(t, st.Record.PendingReauth)
	})
}

func TestUserDeletion(t *testing.T) {
	eachProfile(t, func(t *testing.T, w *world) {
		c, uid := identified(t, w, "app-user-1")
		require.Equal(t, signedInToken, c.Status())

		require.NoError(t, w.em.DeleteUser(uid))
		w.expire()
		_, err := c.AccessToken(w.ctx)
		if !c.Profile().DetectsDeletion {
			requireNeverDetected(w, c, err, c.CurrentUserID())
			return
		}
		w.requireErr(err, vitalsdk.ErrInvalidUser)
		require.ErrorIs(t, err, junction.ErrInvalidToken)

		if c.Profile().AutoSignOutOnDeletion {
			requireState(t, c, fsm.Token, 0, "", fsm.SignedOut)
			_, ok := w.stored()
			require.False(t, ok, "a full sign-out")
			return
		}
		// Android 4.2.1+: {configured}, no user; strategy and external
		// user ID stay.
		requireState(t, c, fsm.Token, fsm.FlagConfigured, "", fsm.UserDeleted)
		st, ok := w.stored()
		require.True(t, ok)
		require.Nil(t, st.Record)
		require.Equal(t, vitalsdk.StrategyJWT, st.Strategy)
		require.Equal(t, "app-user-1", st.ExternalUserID)
		w.requireErr(c.Refresh(w.ctx), vitalsdk.ErrNotSignedIn)

		// identify(sameId) short-circuits: it never signs in again.
		requests, writes := w.em.TotalRequests(), w.db.WriteCount()
		require.NoError(t, c.IdentifyExternalUser(w.ctx, "app-user-1", vitalsdk.SignInTokenAuth{Token: "unused"}))
		require.Equal(t, requests, w.em.TotalRequests())
		require.Equal(t, writes, w.db.WriteCount())
		c = w.reopen()
		requireState(t, c, fsm.UserDeleted, fsm.FlagConfigured, "", fsm.UserDeleted)

		// A sign-in with a new user's token recovers.
		other := w.newUser()
		require.NoError(t, c.SignIn(w.ctx, w.token(other)))
		requireState(t, c, fsm.UserDeleted, signedInToken, other, fsm.Token)
	})
}

// A launch reads; it writes only for iOS 1.4+'s one-time migration of a
// token record into startup params.
func TestLaunchIsQuiet(t *testing.T) {
	eachProfile(t, func(t *testing.T, w *world) {
		writes := w.db.WriteCount()
		c := w.launch()
		require.Equal(t, writes, w.db.WriteCount(), "signed out")
		require.NoError(t, c.SignIn(w.ctx, w.token(w.newUser())))
		writes = w.db.WriteCount()
		w.launch()
		if c.Profile().ConfigurePersists {
			require.Equal(t, writes, w.db.WriteCount())
		} else {
			require.Equal(t, writes+1, w.db.WriteCount(), "the record becomes startup params once")
		}
		writes = w.db.WriteCount()
		w.launch()
		w.launch()
		require.Equal(t, writes, w.db.WriteCount())
	})
}

// requireNeverDetected asserts what a refresh that met a deleted user or a
// revoked refresh token does on a profile that cannot read token errors
// (Android 4.2.1–4.2.2, reference §10.1): the SDK throws a decoding error
// before touching its record, the status stays signed in as the old user,
// and every later refresh fails the same way.
func requireNeverDetected(w *world, c *vitalsdk.Client, err error, user string) {
	w.t.Helper()
	w.requireErr(err, vitalsdk.ErrUndecodableTokenError)
	require.NotErrorIs(w.t, err, vitalsdk.ErrInvalidUser)
	require.NotErrorIs(w.t, err, vitalsdk.ErrNeedsReauthentication)
	require.False(w.t, reconcile.IsTransient(err))
	before, _ := w.stored()
	requireState(w.t, c, fsm.Token, signedInToken, user, fsm.Token)
	requests := w.tokenRequests()
	w.requireErr(c.Refresh(w.ctx), vitalsdk.ErrUndecodableTokenError)
	require.Equal(w.t, requests+1, w.tokenRequests(), "every refresh goes to the server and fails")
	after, _ := w.stored()
	require.Equal(w.t, before, after, "the record is untouched")
	c = w.reopen()
	requireState(w.t, c, fsm.Token, signedInToken, user, fsm.Token)
}
