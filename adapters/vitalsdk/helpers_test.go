package vitalsdk_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/emulator"
	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/sqlite"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/fsm"
)

// clock is a manual clock shared by the emulator and the clients.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// world is one device database, an emulator served over loopback HTTP, and
// a profile. Every secret it sees is checked against the logs at the end.
type world struct {
	t       *testing.T
	ctx     context.Context
	profile fsm.Profile
	clk     *clock
	em      *emulator.Emulator
	srv     *httptest.Server
	team    *junction.Client
	path    string
	db      *sqlite.DB
	logs    *syncBuffer
	secrets []string
	seq     int
}

// signingKey is the emulators' token-signing key, generated once per test
// binary: an RSA key per world would dominate the package's run time.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, emulator.KeyBits)
	if err != nil {
		panic(err)
	}
	return k
})

// accessTTL is the emulator's access token lifetime in these tests.
const accessTTL = time.Hour

func newWorld(t *testing.T, profile string) *world {
	t.Helper()
	p, ok := fsm.ParseProfile(profile)
	require.True(t, ok, profile)
	clk := newClock()
	em := emulator.New(emulator.WithClock(clk.Now), emulator.WithAccessTTL(accessTTL), emulator.WithSigningKey(signingKey()))
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	w := &world{
		t: t, ctx: context.Background(), profile: p, clk: clk, em: em, srv: srv,
		team: junction.NewClient(srv.URL, em.APIKey()),
		path: filepath.Join(t.TempDir(), "device.db"),
		logs: &syncBuffer{},
	}
	w.secrets = append(w.secrets, em.APIKey())
	w.open()
	t.Cleanup(func() {
		w.collectTokens()
		w.db.Close()
		w.requireNoSecrets(w.logs.String())
	})
	return w
}

func (w *world) open() {
	w.t.Helper()
	db, err := sqlite.Open(w.ctx, w.path, sqlite.WithClock(w.clk.Now))
	require.NoError(w.t, err)
	w.db = db
}

// options are the client options of a launch.
func (w *world) options() vitalsdk.Options {
	return vitalsdk.Options{
		Profile:      w.profile,
		Installation: "phone",
		Store:        w.db,
		APIBaseURL:   w.srv.URL,
		AuthBaseURL:  w.srv.URL + "/auth",
		Now:          w.clk.Now,
		Logger:       slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// launch starts the app process: a new Client on the same database.
func (w *world) launch() *vitalsdk.Client {
	w.t.Helper()
	w.collectTokens()
	c, err := vitalsdk.New(w.ctx, w.options())
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
	w.secrets = append(w.secrets, r.SignInToken)
	tok, err := junction.DecodeSignInToken(r.SignInToken, junction.DecodeOptions{Lenient: true})
	require.NoError(w.t, err)
	w.secrets = append(w.secrets, tok.UserToken)
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
	if st.APIKey != "" {
		w.secrets = append(w.secrets, st.APIKey)
	}
	if st.Record != nil {
		w.secrets = append(w.secrets, st.Record.AccessToken, st.Record.RefreshToken)
	}
}

// requireNoSecrets fails when s contains any secret seen so far.
func (w *world) requireNoSecrets(s string) {
	w.t.Helper()
	for _, sec := range w.secrets {
		if sec != "" && strings.Contains(s, sec) {
			w.t.Errorf("a secret leaked into %q", s)
		}
	}
}

// requireErr asserts errors.Is(err, kind) and that its string has no secret.
func (w *world) requireErr(err, kind error) {
	w.t.Helper()
	require.ErrorIs(w.t, err, kind)
	w.collectTokens()
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
