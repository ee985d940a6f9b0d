package vitalsdk_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/memory"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
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

// TestReinstall is reference §10.5 per platform: iOS ≤1.3 comes back signed
// in as the previous user, iOS 1.4+ signed out; an Android backup restore
// brings back the session without the external user ID, so identify does
// not short-circuit and signs out and in again; with its refresh token
// rotated since the backup, the session reads as a deleted user.
func TestReinstall(t *testing.T) {
	eachProfile(t, func(t *testing.T, w *world) {
		c, uid := identified(t, w, "app-a")
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

// TestStatusBeforeTheClientExists is reference §10.11: on Android the
// status is {} until the client is created in the process. A launch task
// that read it first would see "signed out", plan a sign-in, meet
// alreadySignedIn, and tear a good session down; after Initialize the
// status is right. iOS is unaffected, and so are the wrappers' Android
// bridges, which create the client before they read the status
// (Profile.StatusCreatesClient).
func TestStatusBeforeTheClientExists(t *testing.T) {
	eachProfile(t, func(t *testing.T, w *world) {
		c, uid := signedIn(t, w)
		status, user := c.Status(), c.CurrentUserID()
		o := w.options()
		o.DeferCreate = true
		c, err := vitalsdk.New(w.ctx, o)
		require.NoError(t, err)
		if c.Profile().Platform == fsm.IOS || c.Profile().StatusCreatesClient {
			require.Equal(t, status, c.Status())
			require.Equal(t, user, c.CurrentUserID())
			return
		}
		requireState(t, c, "", 0, "", fsm.SignedOut)
		require.NoError(t, c.Initialize(w.ctx))
		require.Equal(t, status, c.Status())
		require.Equal(t, user, c.CurrentUserID())

		// What reading first would have led to: a sign-in that throws.
		c, err = vitalsdk.New(w.ctx, o)
		require.NoError(t, err)
		require.Equal(t, fsm.Status(0), c.Status(), "reads signed out")
		w.requireErr(c.SignIn(w.ctx, w.token(uid)), vitalsdk.ErrAlreadySignedIn)
		require.Equal(t, status, c.Status(), "the call created the client: the session was there all along")
	})
}

// TestRunnerInitializesBeforeItReads: the launch runner takes the SDK's
// initialise step before its first read, so an Android process whose client
// does not exist yet (§10.11) launches quietly instead of tearing the
// session down.
func TestRunnerInitializesBeforeItReads(t *testing.T) {
	for _, p := range []string{"android-4.2.0", "android-5.0"} {
		t.Run(p, func(t *testing.T) {
			w := newWorld(t, p)
			c, _ := signedIn(t, w)
			vital := c.CurrentUserID()
			c = w.launchWith(func(o *vitalsdk.Options) { o.DeferCreate = true })
			require.Equal(t, fsm.Status(0), c.Status(), "not created yet")
			journal := &memory.Journal{}
			require.NoError(t, journal.Save(w.ctx, reconcile.JournalEntry{LastObserved: fsm.Token, AppUserID: "alice",
				VitalUserID: vital, LastResolvedAt: w.clk.Now()}, "seed"))
			app := reconcile.AppSession{SignedIn: true, AppUserID: "alice", VitalUserID: vital}
			r, err := reconcile.NewRunner(reconcile.Config{Profile: c.Profile(), SDK: c, Tokens: noTokens{t},
				Journal: journal, App: func() reconcile.AppSession { return app },
				Now: w.clk.Now, Rand: func() float64 { return 0 }})
			require.NoError(t, err)
			out, err := r.Run(w.ctx)
			require.NoError(t, err)
			require.Equal(t, reconcile.ResultNothingToDo, out.Result, "%+v", out.First().Plan)
			require.Equal(t, fsm.Token, out.State)
		})
	}
}

// noTokens is a token source a quiet launch must never call.
type noTokens struct{ t *testing.T }

func (n noTokens) SignInToken(context.Context, string) (string, string, error) {
	n.t.Error("the launch minted a token")
	return "", "", errors.New("no tokens")
}

func (n noTokens) ResolveVitalUser(context.Context, string) (string, error) {
	n.t.Error("the launch resolved")
	return "", errors.New("no tokens")
}

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
