package simulations

import (
	"context"
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

// stackRig is alice's installation "phone" on a device database, on a
// DemoStack whose clock the test moves.
type stackRig struct {
	s   *DemoStack
	db  *sqlite.DB
	cfg installation.Config
}

func newStackRig(t *testing.T, profile string) *stackRig {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := NewDemoStack(ctx, dir, nil)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	db, err := sqlite.OpenDevice(ctx, filepath.Join(dir, "device.db"), sqlite.WithClock(s.Clock.Now))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	p, ok := fsm.ParseProfile(profile)
	require.True(t, ok)
	cfg, err := s.AppConfig(db, p, "phone", "alice", "", s.APIURL)
	require.NoError(t, err)
	return &stackRig{s: s, db: db, cfg: cfg}
}

// launch runs one launch and asserts that what the runner applied is what
// the planner said: in every pass, the applied actions are a prefix of the
// pass's plan, and only the last of them may have failed.
func (r *stackRig) launch(t *testing.T) (installation.LaunchRecord, error) {
	t.Helper()
	rep, err := installation.RecordLaunch(context.Background(), r.cfg)
	require.NoError(t, reconcile.Outcome{Passes: rep.Passes}.CheckApplied())
	return rep, err
}

// sdk opens the installation's SDK core outside a launch.
func (r *stackRig) sdk(t *testing.T) *vitalsdk.Client {
	t.Helper()
	sdk, err := r.s.SDK(context.Background(), r.db, r.cfg.Profile, "phone", r.s.LegacyURL(r.cfg.Profile, ""), nil)
	require.NoError(t, err)
	return sdk
}

func (r *stackRig) vitalUser(t *testing.T) string {
	t.Helper()
	j, err := r.db.Journal("phone", r.cfg.Profile.Name).Load(context.Background())
	require.NoError(t, err)
	return j.VitalUserID
}

// Faults on the way: each transient failure keeps the SDK signed out,
// schedules a retry that survives the relaunch, and the launch after it is
// due converges.
func TestDemoStackLaunchThroughEmulatorFaults(t *testing.T) {
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
			r := newStackRig(t, "android-5.0")
			tc.fault(r.s.Emulator)
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

			r.s.Clock.Advance(rep.Outcome.RetryAt.Sub(r.s.Clock.Now()) + time.Second)
			rep, err = r.launch(t)
			require.NoError(t, err)
			require.Equal(t, "token", rep.Outcome.State)
		})
	}
}

// A 429's Retry-After from the team API reaches the schedule through the
// issuer.
func TestDemoStackLaunchHonoursRetryAfter(t *testing.T) {
	r := newStackRig(t, "ios-1.8")
	r.s.Emulator.RateLimitNext(emulator.RouteCreateUser, 1, 2*time.Hour)
	start := r.s.Clock.Now()
	rep, err := r.launch(t)
	require.Error(t, err)
	require.NotNil(t, rep.Outcome.RetryAt)
	require.WithinDuration(t, start.Add(2*time.Hour), *rep.Outcome.RetryAt, time.Minute)
}

// The backend deletes the user; the SDK's refresh detects it; the next
// launch signs in as the issuer's new Vital user, on every profile.
func TestDemoStackLaunchAfterUserDeletion(t *testing.T) {
	for _, p := range fsm.ProfileNames() {
		t.Run(p, func(t *testing.T) {
			r := newStackRig(t, p)
			_, err := r.launch(t)
			require.NoError(t, err)
			old := r.vitalUser(t)
			require.NoError(t, r.s.Team.DeleteUser(context.Background(), old))
			r.s.Clock.Advance(emulator.DefaultAccessTTL + time.Minute)
			_, err = r.sdk(t).AccessToken(context.Background())
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
			require.NotEqual(t, old, r.vitalUser(t))
			hist, err := r.s.IssuerDB.UserHistory(context.Background(), "alice")
			require.NoError(t, err)
			require.Len(t, hist, 2, "the deleted mapping is kept as history")
		})
	}
}

// An API-key build that used identifyExternalUser with the app's own user
// ID: on iOS 1.4+ identify short-circuits on that ID and would never
// migrate (reference §2.7), so the launch signs out and in instead; on
// Android a plain signIn migrates in place.
func TestDemoStackLaunchMigratesAfterLegacyIdentify(t *testing.T) {
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
			r := newStackRig(t, tc.profile)
			ctx := context.Background()
			k, err := r.s.Team.CreateUser(ctx, "alice")
			require.NoError(t, err)
			old := r.sdk(t)
			require.NoError(t, old.IdentifyExternalUser(ctx, "alice", vitalsdk.APIKeyAuth{
				Key: r.s.Emulator.APIKey(), UserID: k.UserID, Environment: fsm.Sandbox, Region: fsm.US}))
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
