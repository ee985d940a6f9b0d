package vitalsdk_test

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/fsm"
)

// TestQuirksAreProfileSpecific probes each profile quirk of reference §10
// on every profile: the quirk shows exactly on the profiles it concerns
// (named here, not derived from the flags) and the others are unaffected.
// The transcripts in testdata/scenarios show each quirk in full.
func TestQuirksAreProfileSpecific(t *testing.T) {
	quirks := []struct {
		name     string
		profiles []string
		probe    func(w *world) bool
	}{
		{"deletion never detected (§10.1)", []string{"android-4.2.1", "android-4.2.2", "flutter-android", "flutter-android-4.2.1", "rn-android-4.2.1", "rn-android-4.2.2"}, func(w *world) bool {
			c := w.launch()
			uid := w.newUser()
			require.NoError(w.t, c.SignIn(w.ctx, w.token(uid)))
			c = w.launch()
			require.NoError(w.t, w.em.DeleteUser(uid))
			w.expire()
			_, err := c.AccessToken(w.ctx)
			return errors.Is(err, vitalsdk.ErrUndecodableTokenError) && c.Status().Has(fsm.FlagSignedIn)
		}},
		{"legacy Firebase exchange (§10.3)", []string{"ios-1.3", "ios-1.8.1", "android-4.2.0",
			"flutter-ios-1.8.1", "flutter-android-4.2.0", "rn-ios-1.3", "rn-5.2-ios-1.8.1", "rn-ios-1.8.1", "rn-android-4.2.0"}, func(w *world) bool {
			c := w.launch()
			require.NoError(w.t, c.SignIn(w.ctx, w.token(w.newUser())))
			w.expire()
			require.NoError(w.t, w.launch().Refresh(w.ctx))
			return w.em.Requests(emulator.RouteToken) == 0 && w.legacyRequests() == 2
		}},
		{"record without region (§10.3)", []string{"android-4.2.0", "flutter-android-4.2.0", "rn-android-4.2.0"}, func(w *world) bool {
			c := w.launch()
			require.NoError(w.t, c.SignIn(w.ctx, w.token(w.newUser())))
			st, _ := w.stored()
			return st.Record.Region == ""
		}},
		{"no identifyExternalUser (§2.6, §10.10)", []string{"ios-1.3", "flutter-ios", "flutter-android",
			"flutter-ios-1.8.1", "flutter-android-4.2.0", "flutter-android-4.2.1", "rn-ios-1.3", "rn-5.2-ios-1.8.1"}, func(w *world) bool {
			c := w.launch()
			err := c.IdentifyExternalUser(w.ctx, "app-a", vitalsdk.SignInTokenAuth{Token: w.token(w.newUser())})
			return errors.Is(err, vitalsdk.ErrUnsupported)
		}},
		{"signIn hidden until relaunch (§1.2, §10.10)", []string{"ios-1.8.1", "ios-1.8", "flutter-ios",
			"flutter-ios-1.8.1", "rn-5.2-ios-1.8.1", "rn-ios-1.8.1", "rn-ios-1.8"}, func(w *world) bool {
			c := w.launch()
			require.NoError(w.t, c.SignIn(w.ctx, w.token(w.newUser())))
			return c.Status() == fsm.FlagConfigured
		}},
		{"user ID lower-cased by the wrapper (§10.10)", []string{"flutter-ios", "flutter-android", "flutter-ios-1.8.1", "flutter-android-4.2.0", "flutter-android-4.2.1"}, func(w *world) bool {
			c := w.launch()
			require.NoError(w.t, c.Configure(w.ctx, w.em.APIKey(), fsm.Sandbox, fsm.US))
			upper := strings.ToUpper(w.newUser())
			require.NoError(w.t, c.SetUserID(w.ctx, upper))
			return c.CurrentUserID() == strings.ToLower(upper)
		}},
		{"locked keychain reads signed out (§10.6)", []string{"ios-1.3", "rn-ios-1.3"}, func(w *world) bool {
			signedIn(w.t, w)
			c := w.launchWith(func(o *vitalsdk.Options) { o.KeychainLocked = true })
			return c.Status() == 0
		}},
		{"locked keychain fails token calls (§10.6)", []string{"ios-1.3", "ios-1.8.1", "ios-1.8", "flutter-ios",
			"flutter-ios-1.8.1", "rn-ios-1.3", "rn-5.2-ios-1.8.1", "rn-ios-1.8.1", "rn-ios-1.8"}, func(w *world) bool {
			signedIn(w.t, w)
			c := w.launchWith(func(o *vitalsdk.Options) { o.KeychainLocked = true })
			_, err := c.AccessToken(w.ctx)
			return errors.Is(err, vitalsdk.ErrKeychainLocked)
		}},
		{"session survives a reinstall (§10.5)", []string{"ios-1.3", "android-4.2.0", "android-4.2.2", "android-5.0", "flutter-android",
			"flutter-android-4.2.0", "rn-ios-1.3", "rn-android-4.2.0", "rn-android-4.2.2", "rn-android-5.0",
			"android-4.2.1", "flutter-android-4.2.1", "rn-android-4.2.1"}, func(w *world) bool {
			signedIn(w.t, w)
			require.NoError(w.t, vitalsdk.Reinstall(w.ctx, w.db, "phone", w.profile, true))
			return w.launch().Status().Has(fsm.FlagSignedIn)
		}},
		{"a 401 refreshes (§10.2)", []string{"android-4.2.0", "android-4.2.2", "android-5.0", "flutter-android",
			"flutter-android-4.2.0", "rn-android-4.2.0", "rn-android-4.2.2", "rn-android-5.0",
			"android-4.2.1", "flutter-android-4.2.1", "rn-android-4.2.1"}, func(w *world) bool {
			c, _ := signedIn(w.t, w)
			requests := w.tokenRequests()
			w.em.FailNext(emulator.RouteGetUser, 1, 401)
			_, _ = c.GetOwnUser(w.ctx)
			return w.tokenRequests() > requests
		}},
		{"a 401's retry crashes the app", []string{"android-4.2.0", "android-4.2.1", "flutter-android-4.2.0",
			"flutter-android-4.2.1", "rn-android-4.2.0", "rn-android-4.2.1"}, func(w *world) bool {
			c, _ := signedIn(w.t, w)
			w.em.FailNext(emulator.RouteGetUser, 1, 401)
			_, err := c.GetOwnUser(w.ctx)
			return errors.Is(err, vitalsdk.ErrProcessCrashed)
		}},
		// The wrappers' Android bridges create the client before they read
		// the status (Profile.StatusCreatesClient).
		{"status empty before the client exists (§10.11)", []string{"android-4.2.0", "android-4.2.1", "android-4.2.2", "android-5.0"}, func(w *world) bool {
			signedIn(w.t, w)
			c := w.launchWith(func(o *vitalsdk.Options) { o.DeferCreate = true })
			return c.Status() == 0
		}},
	}
	for _, q := range quirks {
		t.Run(q.name, func(t *testing.T) {
			var shows []string
			for _, p := range fsm.ProfileNames() {
				if q.probe(newWorld(t, p)) {
					shows = append(shows, p)
				}
			}
			want := append([]string(nil), q.profiles...)
			sort.Strings(want)
			sort.Strings(shows)
			require.Equal(t, want, shows)
		})
	}
}
