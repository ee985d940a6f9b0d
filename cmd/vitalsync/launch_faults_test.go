package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/installation"
	"github.com/vitalsync/vitalsync/reconcile"
)

// faultRig is a device database and a loopback emulator and issuer whose
// clock the test moves.
type faultRig struct {
	s    *stack
	db   *sqlite.DB
	path string // of the device database
	cfg  installation.Config
}

func newFaultRig(t *testing.T, profile string) *faultRig {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := startStack(ctx, dir, nil)
	require.NoError(t, err)
	t.Cleanup(s.close)
	path := filepath.Join(dir, "device.db")
	db, err := sqlite.OpenDevice(ctx, path, sqlite.WithClock(s.clock.Now))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	p, ok := fsm.ParseProfile(profile)
	require.True(t, ok)
	sess, err := s.session("alice")
	require.NoError(t, err)
	app := reconcile.AppSession{SignedIn: true, AppUserID: "alice", Environment: fsm.Sandbox, Region: fsm.US}
	cfg := s.config(p, "phone", s.apiURL)
	cfg.Session, cfg.App = sess, func() reconcile.AppSession { return app }
	cfg.Store, cfg.Journal, cfg.Writes = installation.SQLite(db, cfg.Installation, p)
	return &faultRig{s: s, db: db, path: path, cfg: cfg}
}

func (r *faultRig) launch(t *testing.T) (launchReport, error) {
	t.Helper()
	rep, err := launchOnce(context.Background(), r.cfg)
	requirePlanned(t, rep)
	return rep, err
}

// Faults on the way: each transient failure keeps the SDK signed out,
// schedules a retry that survives the relaunch, and the launch after it is
// due converges.
func TestLaunchThroughEmulatorFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(e *emulator.Emulator)
	}{
		{"token endpoint 503", func(e *emulator.Emulator) { e.FailNext(emulator.RouteToken, 1, 503) }},
		{"token endpoint drops the connection", func(e *emulator.Emulator) { e.DropNext(emulator.RouteToken, 1) }},
		{"team API 500 behind the issuer", func(e *emulator.Emulator) { e.FailNext(emulator.RouteCreateUser, 1, 500) }},
		{"sign-in token rate-limited", func(e *emulator.Emulator) { e.RateLimitNext(emulator.RouteCreateUser, 1, 2*time.Hour) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newFaultRig(t, "android-5.0")
			tc.fault(r.s.emu)
			rep, err := r.launch(t)
			var re *reconcile.RunError
			require.ErrorAs(t, err, &re)
			require.Equal(t, reconcile.ClassTransient, re.Class, "%v", err)
			require.Equal(t, reconcile.ResultFailed, rep.Outcome.Result)
			require.Equal(t, "signed-out", rep.Outcome.State, "a transient failure changes no state")
			require.NotNil(t, rep.Outcome.RetryAt)

			// Relaunch before it is due: nothing at all.
			rep, err = r.launch(t)
			require.NoError(t, err)
			require.Equal(t, reconcile.ResultDeferred, rep.Outcome.Result)
			require.Zero(t, rep.NetworkCalls)
			require.Zero(t, rep.DBWrites)

			r.s.clock.Advance(rep.Outcome.RetryAt.Sub(r.s.clock.Now()) + time.Second)
			rep, err = r.launch(t)
			require.NoError(t, err)
			require.Equal(t, "token", rep.Outcome.State)
		})
	}
}

// A 429's Retry-After from the team API reaches the schedule through the
// issuer.
func TestLaunchHonoursRetryAfter(t *testing.T) {
	r := newFaultRig(t, "ios-1.8")
	r.s.emu.RateLimitNext(emulator.RouteCreateUser, 1, 2*time.Hour)
	start := r.s.clock.Now()
	rep, err := r.launch(t)
	require.Error(t, err)
	require.NotNil(t, rep.Outcome.RetryAt)
	require.WithinDuration(t, start.Add(2*time.Hour), *rep.Outcome.RetryAt, time.Minute)
}

// The backend deletes the user; the SDK's refresh detects it; the next
// launch signs in as the issuer's new Vital user, on every profile.
func TestLaunchAfterUserDeletion(t *testing.T) {
	for _, p := range fsm.ProfileNames() {
		t.Run(p, func(t *testing.T) {
			r := newFaultRig(t, p)
			_, err := r.launch(t)
			require.NoError(t, err)
			j, err := r.db.Journal("phone", r.cfg.Profile.Name).Load(context.Background())
			require.NoError(t, err)
			old := j.VitalUserID
			require.NoError(t, r.s.team.DeleteUser(context.Background(), old))
			r.s.clock.Advance(emulator.DefaultAccessTTL + time.Minute)
			d := &demo{ctx: context.Background(), profile: r.cfg.Profile, s: r.s, device: r.db}
			sdk, err := d.sdk("phone")
			require.NoError(t, err)
			_, err = sdk.AccessToken(context.Background())
			require.Error(t, err)
			if !r.cfg.Profile.DetectsDeletion {
				// Android 4.2.1–4.2.2 never detect the deletion (reference
				// §10.1): the SDK still shows the old user, and the launch,
				// which plans from what the SDK shows, has nothing to do.
				require.ErrorIs(t, err, vitalsdk.ErrUndecodableTokenError)
				rep, err := r.launch(t)
				require.NoError(t, err)
				require.EqualValues(t, "nothing-to-do", rep.Outcome.Result)
				require.Equal(t, "token", rep.Outcome.State)
				return
			}

			rep, err := r.launch(t)
			require.NoError(t, err)
			if r.cfg.Profile.SignInNeedsRelaunch && !r.cfg.Profile.HasIdentify {
				// Flutter on iOS: the new session shows at the next launch
				// (reference §1.2, §10.10).
				require.Equal(t, "configured", rep.Outcome.State)
				rep, err = r.launch(t)
				require.NoError(t, err)
			}
			require.Equal(t, "token", rep.Outcome.State)
			j, err = r.db.Journal("phone", r.cfg.Profile.Name).Load(context.Background())
			require.NoError(t, err)
			require.NotEqual(t, old, j.VitalUserID)
			hist, err := r.s.issuerDB.UserHistory(context.Background(), "alice")
			require.NoError(t, err)
			require.Len(t, hist, 2, "the deleted mapping is kept as history")
		})
	}
}

// An API-key build that used identifyExternalUser with the app's own user
// ID: on iOS 1.4+ identify short-circuits on that ID and would never
// migrate (reference §2.7), so the launch signs out and in instead; on
// Android a plain signIn migrates in place.
func TestLaunchMigratesAfterLegacyIdentify(t *testing.T) {
	for _, tc := range []struct {
		profile string
		applied []string
	}{
		// The app does not know alice's Vital user and no journal saw the
		// API-key session start: nothing says it is hers, so it is signed
		// out before anything needs the network, and alice signed in.
		{"ios-1.8", []string{"sign-out", "sign-in("}},
		{"android-5.0", []string{"sign-out", "sign-in("}},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			r := newFaultRig(t, tc.profile)
			ctx := context.Background()
			k, err := r.s.team.CreateUser(ctx, "alice")
			require.NoError(t, err)
			d := &demo{ctx: ctx, profile: r.cfg.Profile, s: r.s, device: r.db}
			old, err := d.sdk("phone")
			require.NoError(t, err)
			require.NoError(t, old.IdentifyExternalUser(ctx, "alice", vitalsdk.APIKeyAuth{
				Key: r.s.emu.APIKey(), UserID: k.UserID, Environment: fsm.Sandbox, Region: fsm.US}))
			require.True(t, old.Status().Has(fsm.FlagUseAPIKey))

			rep, err := r.launch(t)
			require.NoError(t, err)
			require.Len(t, rep.Outcome.Applied, len(tc.applied))
			for i, prefix := range tc.applied {
				require.True(t, strings.HasPrefix(rep.Outcome.Applied[i], prefix), "%v", rep.Outcome.Applied)
			}
			require.Equal(t, "token", rep.Outcome.State)
			require.Nil(t, rep.Outcome.Divergence)
			rep, err = r.launch(t)
			require.NoError(t, err)
			require.Equal(t, reconcile.ResultNothingToDo, rep.Outcome.Result, "and it stays migrated")
		})
	}
}

// A person drives the iOS 1.8 path by hand: the backend revokes the refresh
// tokens, 'device refresh' meets needsReauthentication (the status still
// reads as signed in) and records it, and the next launch reauthenticates.
func TestDeviceRefreshReportsReauthenticationToTheLaunch(t *testing.T) {
	r := newFaultRig(t, "ios-1.8")
	_, err := r.launch(t)
	require.NoError(t, err)
	j, err := r.db.Journal("phone", r.cfg.Profile.Name).Load(context.Background())
	require.NoError(t, err)
	r.s.emu.RevokeRefreshTokens(j.VitalUserID)

	// The device command reaches the same emulator over loopback HTTP.
	srv := httptest.NewServer(routes(r.s.issuer, nil, r.s.emu))
	t.Cleanup(srv.Close)
	dev := []string{"device", "--db", r.path, "--profile", "ios-1.8", "--installation", "phone",
		"--api-url", srv.URL, "--auth-url", srv.URL + "/auth"}
	var out, errOut bytes.Buffer
	err = run(context.Background(), append(dev, "refresh"), strings.NewReader(""), &out, &errOut)
	require.ErrorIs(t, err, vitalsdk.ErrNeedsReauthentication)
	j, err = r.db.Journal("phone", r.cfg.Profile.Name).Load(context.Background())
	require.NoError(t, err)
	require.Equal(t, reconcile.ErrNeedsReauthentication, j.LastError)

	rep, err := r.launch(t)
	require.NoError(t, err)
	require.Len(t, rep.Outcome.Applied, 1)
	require.True(t, strings.HasPrefix(rep.Outcome.Applied[0], "reauthenticate("), "%v", rep.Outcome.Applied)
	out.Reset()
	require.NoError(t, run(context.Background(), append(dev, "refresh"), strings.NewReader(""), &out, &errOut),
		"the session refreshes again: %s", &errOut)
}

// requirePlanned asserts that what the runner applied is what the planner
// said: in every pass, the applied actions are a prefix of the pass's plan,
// and only the last of them may have failed.
func requirePlanned(t require.TestingT, rep launchReport) {
	out := reconcile.Outcome{Passes: rep.Passes}
	require.NoError(t, out.CheckApplied())
}
