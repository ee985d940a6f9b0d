package vitalsdk_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
)

// The real SDKs persist in several writes (reference §10.7, §10.8); a kill
// between them leaves states the SDK core's single transaction never
// writes, but a device carried over from a real SDK can hold. These tests
// seed each such state and check the SDK core reads it as the SDK does.

// seed stores st for the world's installation as a kill left it.
func seed(t *testing.T, w *world, st vitalsdk.DeviceState) {
	t.Helper()
	st.Installation = "phone"
	require.NoError(t, w.db.SaveDevice(w.ctx, st))
}

// recordOf signs uid in on a scratch installation and returns its record.
func recordOf(t *testing.T, w *world, uid string) vitalsdk.TokenRecord {
	t.Helper()
	o := w.options()
	o.Installation = "scratch"
	c, err := vitalsdk.New(w.ctx, o)
	require.NoError(t, err)
	require.NoError(t, c.SignIn(w.ctx, w.token(uid)))
	st, ok, err := w.db.LoadDevice(w.ctx, "scratch")
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, w.db.DeleteDevice(w.ctx, "scratch"))
	return *st.Record
}

// Android writes the record, then auth_strategy, each with apply() (§10.8):
// a kill between them leaves a record with no strategy. The status is {},
// yet signIn throws alreadySignedIn; identify signs out and in again.
func TestAndroidRecordWithoutStrategy(t *testing.T) {
	for _, p := range []string{"android-4.2.2", "android-5.0"} {
		t.Run(p, func(t *testing.T) {
			w := newWorld(t, p)
			uid := w.newUser()
			seed(t, w, vitalsdk.DeviceState{Record: ptr(recordOf(t, w, uid))})
			c := w.launch()
			requireState(t, c, "", 0, "", fsm.SignedOut)
			w.requireErr(c.SignIn(w.ctx, w.token(uid)), vitalsdk.ErrAlreadySignedIn)
			require.NoError(t, c.IdentifyExternalUser(w.ctx, "app-a", vitalsdk.SignInTokenAuth{Token: w.token(uid)}))
			requireState(t, c, fsm.SignedOut, signedInToken, uid, fsm.Token)
		})
	}
}

// A record left by Android 4.2.0 has no region; with no auth strategy to
// backfill it from, Android 4.2.1+ wipes it at launch (§10.9).
func TestAndroidRegionlessRecordWithoutStrategyIsWiped(t *testing.T) {
	w := newWorld(t, "android-5.0")
	rec := recordOf(t, w, w.newUser())
	rec.Region = ""
	seed(t, w, vitalsdk.DeviceState{Record: &rec, ExternalUserID: "app-a"})
	c := w.launch()
	requireState(t, c, "", 0, "", fsm.SignedOut)
	st, ok := w.stored()
	require.True(t, ok)
	require.Nil(t, st.Record)
	require.Equal(t, "app-a", st.ExternalUserID, "only the record goes")

	// With a strategy the region is backfilled and the session works.
	w2 := newWorld(t, "android-5.0")
	rec = recordOf(t, w2, w2.newUser())
	rec.Region = ""
	seed(t, w2, vitalsdk.DeviceState{Strategy: vitalsdk.StrategyJWT, Environment: fsm.Sandbox, Region: fsm.US, Record: &rec})
	c = w2.launch()
	require.Equal(t, signedInToken, c.Status())
	w2.clk.Advance(2 * time.Hour)
	_, err := c.AccessToken(w2.ctx)
	require.NoError(t, err)
	st, _ = w2.stored()
	require.Equal(t, fsm.US, st.Record.Region, "backfilled")
}

// iOS erases the record at once and signs out in a later Task (§10.7): a
// kill in that window relaunches iOS 1.4+ with startup params but no
// record. The status still shows the old user, identify with the same
// external ID short-circuits, and token calls fail with notSignedIn.
func TestIOSAutoSignOutWindow(t *testing.T) {
	for _, p := range []string{"ios-1.8.1", "ios-1.8"} {
		t.Run(p, func(t *testing.T) {
			w := newWorld(t, p)
			uid := w.newUser()
			seed(t, w, vitalsdk.DeviceState{Strategy: vitalsdk.StrategyJWT, Environment: fsm.Sandbox, Region: fsm.US,
				ExternalUserID: "app-a", StartupStrategy: vitalsdk.StrategyJWT, StartupUserID: uid})
			c := w.launch()
			requireState(t, c, "", signedInToken, appSees(c.Profile(), upper(uid)), fsm.Token)
			requests := w.tokenRequests()
			require.NoError(t, c.IdentifyExternalUser(w.ctx, "app-a", vitalsdk.SignInTokenAuth{Token: w.token(uid)}))
			require.Equal(t, requests, w.tokenRequests(), "identify short-circuits")
			_, err := c.AccessToken(w.ctx)
			w.requireErr(err, vitalsdk.ErrNotSignedIn)
			_, err = c.GetOwnUser(w.ctx)
			w.requireErr(err, vitalsdk.ErrNotSignedIn)
			// A sign-out and a new identify recover.
			require.NoError(t, c.SignOut(w.ctx))
			require.NoError(t, c.IdentifyExternalUser(w.ctx, "app-a", vitalsdk.SignInTokenAuth{Token: w.token(uid)}))
			_, err = c.AccessToken(w.ctx)
			require.NoError(t, err)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func upper(s string) string { return strings.ToUpper(s) }
