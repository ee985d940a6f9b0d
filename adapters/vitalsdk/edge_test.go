package vitalsdk_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
)

// Reference §10.2: pending reauthentication does not block an unexpired
// access token; only a refresh fails (at once, with no network call).
func TestPendingReauthStillServesTheAccessToken(t *testing.T) {
	for _, p := range []string{"ios-1.8", "android-5.0", "ios-1.8.1"} {
		t.Run(p, func(t *testing.T) {
			w := newWorld(t, p)
			c, uid := signedIn(t, w)
			st, _ := w.stored()
			w.em.RevokeRefreshTokens(uid)
			w.requireErr(c.Refresh(w.ctx), vitalsdk.ErrNeedsReauthentication)
			requests := w.tokenRequests()
			tok, err := c.AccessToken(w.ctx)
			require.NoError(t, err, "the stored token is served until it expires")
			require.Equal(t, st.Record.AccessToken, tok)
			_, err = c.GetOwnUser(w.ctx)
			require.NoError(t, err)
			w.expire()
			_, err = c.AccessToken(w.ctx)
			w.requireErr(err, vitalsdk.ErrNeedsReauthentication)
			require.Equal(t, requests, w.tokenRequests(), "no network call")
		})
	}
}

// Reference §10.2: the SDKs compare user IDs exactly. A token whose uid
// differs from the pending record's only in case is another user: on
// Android that is invalidSignInToken for a pending session.
func TestUserIDComparisonIsExact(t *testing.T) {
	w := newWorld(t, "android-5.0")
	c, uid := signedIn(t, w)
	w.em.RevokeRefreshTokens(uid)
	w.requireErr(c.Refresh(w.ctx), vitalsdk.ErrNeedsReauthentication)
	// The same user re-exchanges...
	st, _ := w.stored()
	require.True(t, st.Record.PendingReauth)
	rec := *st.Record
	rec.UserID = strings.ToUpper(rec.UserID)
	st.Record = &rec
	require.NoError(t, w.db.SaveDevice(w.ctx, st))
	c = w.launch()
	// ...but a record holding the upper-case form is not the same user.
	w.requireErr(c.SignIn(w.ctx, w.token(uid)), vitalsdk.ErrInvalidSignInToken)
}

// Reference §10.2: iOS identify with an API key, when already configured,
// keeps the old in-memory configuration until the next launch; the startup
// params change at once.
func TestIOSIdentifyKeepsTheInMemoryConfiguration(t *testing.T) {
	w := newWorld(t, "ios-1.8")
	c := w.launch()
	uid := w.newUser()
	require.NoError(t, c.Configure(w.ctx, w.em.APIKey(), fsm.Dev, fsm.EU))
	require.NoError(t, c.IdentifyExternalUser(w.ctx, "app-a", vitalsdk.APIKeyAuth{
		Key: w.em.APIKey(), UserID: uid, Environment: fsm.Sandbox, Region: fsm.US}))
	env, region, ok := c.Environment()
	require.True(t, ok)
	require.Equal(t, fsm.Dev, env, "the old in-memory configuration")
	require.Equal(t, fsm.EU, region)
	require.Equal(t, signedInAPIKey, c.Status())
	c = w.launch()
	env, region, _ = c.Environment()
	require.Equal(t, fsm.Sandbox, env, "the startup params after a relaunch")
	require.Equal(t, fsm.US, region)
}
