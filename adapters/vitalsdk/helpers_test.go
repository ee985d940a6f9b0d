package vitalsdk_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
	"github.com/vitalsync/vitalsync/fsm"
)

// world is one device database, an emulator, and a profile. The emulator is
// served in process by the test kit's transport, or over loopback HTTP for
// the tests that need the real wire (a child process, one scenario). One
// virtual clock drives the emulator, the database and the client. Every
// secret it sees is checked against the logs at the end.
type world struct {
	t       *testing.T
	ctx     context.Context
	profile fsm.Profile
	stack   *emulatortest.Stack
	clk     *emulatortest.Clock
	em      *emulator.Emulator
	team    *junction.Client
	apiURL  string
	authURL string
	hc      *http.Client // nil over loopback: the junction default
	path    string
	db      *sqlite.DB
	logs    *emulatortest.LockedBuffer
	secrets *emulatortest.Secrets
	seq     int
}

// accessTTL is the emulator's access token lifetime in these tests.
const accessTTL = time.Hour

// newWorld returns a world whose emulator is served in process.
func newWorld(t *testing.T, profile string) *world {
	t.Helper()
	return buildWorld(t, profile, false)
}

// eachProfile runs f as a subtest per profile, on a new in-process world.
func eachProfile(t *testing.T, f func(t *testing.T, w *world)) {
	t.Helper()
	for _, p := range fsm.ProfileNames() {
		t.Run(p, func(t *testing.T) { f(t, newWorld(t, p)) })
	}
}

// buildWorldWith returns an in-process world whose emulator also has opts.
func buildWorldWith(t *testing.T, profile string, opts ...emulator.Option) *world {
	t.Helper()
	return buildWorld(t, profile, false, opts...)
}

// newLoopbackWorld returns a world whose emulator is served over loopback
// HTTP, for a child process or a test of the real wire.
func newLoopbackWorld(t *testing.T, profile string) *world {
	t.Helper()
	return buildWorld(t, profile, true)
}

func buildWorld(t *testing.T, profile string, loopback bool, opts ...emulator.Option) *world {
	t.Helper()
	p, ok := fsm.ParseProfile(profile)
	require.True(t, ok, profile)
	s := emulatortest.NewStack(append([]emulator.Option{emulator.WithAccessTTL(accessTTL)}, opts...)...)
	w := &world{
		t: t, ctx: context.Background(), profile: p, stack: s, clk: s.Clock, em: s.Emulator,
		team: s.Team, apiURL: s.APIURL, authURL: s.AuthURL, hc: s.HTTP,
		path:    filepath.Join(t.TempDir(), "device.db"),
		logs:    &emulatortest.LockedBuffer{},
		secrets: s.Secrets,
	}
	if loopback {
		srv := httptest.NewServer(s.Emulator)
		t.Cleanup(srv.Close)
		w.apiURL, w.authURL, w.hc = srv.URL, srv.URL+"/auth", nil
		w.team = junction.NewClient(srv.URL, s.Emulator.APIKey())
	}
	w.open()
	t.Cleanup(func() {
		w.collectTokens()
		w.db.Close()
		w.secrets.Check(t, "logs", w.logs.String())
	})
	return w
}

func (w *world) open() {
	w.t.Helper()
	db, err := sqlite.OpenDevice(w.ctx, w.path, sqlite.WithClock(w.clk.Now))
	require.NoError(w.t, err)
	w.db = db
}

// options are the client options of a launch.
func (w *world) options() vitalsdk.Options {
	return vitalsdk.Options{
		Profile:      w.profile,
		Installation: "phone",
		Store:        w.db,
		APIBaseURL:   w.apiURL,
		AuthBaseURL:  w.authURL,
		// The emulator serves the legacy Firebase routes under its root.
		LegacyAuthBaseURL: w.apiURL,
		HTTPClient:        w.hc,
		Now:               w.clk.Now,
		Logger:            w.logs.Logger(slog.LevelDebug),
	}
}

// launch starts the app process: a new Client on the same database.
func (w *world) launch() *vitalsdk.Client {
	w.t.Helper()
	return w.launchWith(func(*vitalsdk.Options) {})
}

// launchWith launches on the world's options as set changes them.
func (w *world) launchWith(set func(*vitalsdk.Options)) *vitalsdk.Client {
	w.t.Helper()
	w.collectTokens()
	o := w.options()
	set(&o)
	c, err := vitalsdk.New(w.ctx, o)
	require.NoError(w.t, err)
	return c
}

// reopen closes and reopens the database file, then launches.
func (w *world) reopen() *vitalsdk.Client {
	w.t.Helper()
	w.collectTokens()
	require.NoError(w.t, w.db.Close())
	w.open()
	return w.launch()
}

// newUser creates a Vital user and returns its ID.
func (w *world) newUser() string {
	w.t.Helper()
	w.seq++
	k, err := w.team.CreateUser(w.ctx, "app-user-"+string(rune('a'+w.seq)))
	require.NoError(w.t, err)
	return k.UserID
}

// token mints a Sign-In Token for userID.
func (w *world) token(userID string) string {
	w.t.Helper()
	r, err := w.team.CreateSignInToken(w.ctx, userID)
	require.NoError(w.t, err)
	w.secrets.Add(r.SignInToken)
	tok, err := junction.DecodeSignInToken(r.SignInToken, junction.DecodeOptions{Lenient: true})
	require.NoError(w.t, err)
	w.secrets.Add(tok.UserToken)
	return r.SignInToken
}

// stored returns the persisted state of the device.
func (w *world) stored() (vitalsdk.DeviceState, bool) {
	w.t.Helper()
	st, ok, err := w.db.LoadDevice(w.ctx, "phone")
	require.NoError(w.t, err)
	return st, ok
}

// collectTokens remembers the stored tokens as secrets.
func (w *world) collectTokens() {
	st, ok, err := w.db.LoadDevice(w.ctx, "phone")
	if err != nil || !ok {
		return
	}
	w.secrets.Add(st.APIKey)
	if st.Record != nil {
		w.secrets.Add(st.Record.AccessToken, st.Record.RefreshToken)
	}
}

// requireNoSecrets fails when s contains any secret seen so far.
func (w *world) requireNoSecrets(s string) {
	w.t.Helper()
	w.collectTokens()
	w.secrets.Check(w.t, "output", s)
}

// requireErr asserts errors.Is(err, kind) and that its string has no secret.
func (w *world) requireErr(err, kind error) {
	w.t.Helper()
	require.ErrorIs(w.t, err, kind)
	w.requireNoSecrets(err.Error())
}

// expire moves the clock past the access token's expiry.
func (w *world) expire() { w.clk.Advance(accessTTL + time.Minute) }

// signedInToken is the status of a token session.
const signedInToken = fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseSignInToken

// signedInAPIKey is the status of an API-key session.
const signedInAPIKey = fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseAPIKey

// requireState asserts the status, current user ID and classified state.
func requireState(t *testing.T, c *vitalsdk.Client, last fsm.State, want fsm.Status, user string, state fsm.State) {
	t.Helper()
	require.Equal(t, want.String(), c.Status().String(), "status")
	require.Equal(t, user, c.CurrentUserID(), "current user ID")
	got, err := fsm.Classify(c.Status(), last, c.Profile())
	require.NoError(t, err)
	require.Equal(t, state, got, "state")
}

// appSees is the user ID as the app reads it on profile p: a wrapper that
// lower-cases (Flutter, reference §10.10) hides the SDK's own case.
func appSees(p fsm.Profile, id string) string {
	if p.LowerCaseUserID {
		return strings.ToLower(id)
	}
	return id
}

// signInRoute and refreshRoute are the emulator routes of the profile's
// exchange and refresh: the legacy Firebase ones on legacy profiles
// (reference §10.3), the token endpoint elsewhere.
func (w *world) signInRoute() emulator.Route {
	if w.profile.LegacyTokenEndpoint {
		return emulator.RouteLegacySignIn
	}
	return emulator.RouteToken
}

func (w *world) refreshRoute() emulator.Route {
	if w.profile.LegacyTokenEndpoint {
		return emulator.RouteLegacyRefresh
	}
	return emulator.RouteToken
}

// tokenRequests counts the requests of every exchange and refresh route.
func (w *world) tokenRequests() int { return w.em.Requests(emulator.RouteToken) + w.legacyRequests() }

// legacyRequests counts the requests of the legacy Firebase routes.
func (w *world) legacyRequests() int {
	return w.em.Requests(emulator.RouteLegacySignIn) + w.em.Requests(emulator.RouteLegacyRefresh)
}
