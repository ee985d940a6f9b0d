package issuer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/emulator"
	"github.com/vitalsync/vitalsync/adapters/issuer"
	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/sqlite"
)

var (
	_ issuer.TeamAPI   = (*junction.Client)(nil)
	_ issuer.UserStore = (*sqlite.DB)(nil)
)

const testAPIKey = "sk_us_issuer_test_3f9c2b7a1d"

// signingKey is shared by every emulator in the tests: generating one per
// test would dominate their run time.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// stack is an issuer over real loopback HTTP, with the emulator as its team
// API and a SQLite user map on a temp file.
type stack struct {
	emu     *emulator.Emulator
	emuURL  string
	team    *junction.Client
	db      *sqlite.DB
	h       *issuer.Handler
	url     string
	logs    *lockedBuffer
	rec     *recorder
	hc      *http.Client
	clock   func() time.Time
	secrets *secretSet
}

type stackOptions struct {
	logLevel slog.Level
	wrapTeam func(issuer.TeamAPI) issuer.TeamAPI
	wrapDB   func(issuer.UserStore) issuer.UserStore // wraps or replaces the SQLite map
	auth     issuer.Authenticator
	db       *sqlite.DB         // share a user map
	emu      *emulator.Emulator // share an upstream
	emuURL   string
	// issuerKey is the API key the issuer's team client uses (default: the
	// emulator's).
	issuerKey string
	// teamURL points the issuer's team client elsewhere (default: the
	// emulator).
	teamURL string
}

// transport returns a loopback transport with enough idle connections for
// the concurrent tests.
func transport() *http.Transport {
	return &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}
}

func newStack(t testing.TB, o stackOptions) *stack {
	t.Helper()
	ctx := context.Background()
	s := &stack{logs: &lockedBuffer{}, clock: fixedClock(testEpoch), secrets: &secretSet{}}
	s.secrets.add(testAPIKey)

	s.emu, s.emuURL = o.emu, o.emuURL
	if s.emu == nil {
		s.emu = emulator.New(emulator.WithAPIKey(testAPIKey), emulator.WithSigningKey(signingKey()))
		emuSrv := httptest.NewServer(s.emu)
		t.Cleanup(emuSrv.Close)
		s.emuURL = emuSrv.URL
	}
	upstream := &http.Client{Transport: transport()}
	t.Cleanup(upstream.CloseIdleConnections)
	s.team = junction.NewClient(s.emuURL, testAPIKey, junction.WithHTTPClient(upstream))

	s.db = o.db
	if s.db == nil {
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "issuer.db"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		s.db = db
	}
	var team issuer.TeamAPI = s.team
	if o.issuerKey != "" || o.teamURL != "" {
		key, u := testAPIKey, s.emuURL
		if o.issuerKey != "" {
			key = o.issuerKey
		}
		if o.teamURL != "" {
			u = o.teamURL
		}
		team = junction.NewClient(u, key, junction.WithHTTPClient(upstream))
	}
	if o.wrapTeam != nil {
		team = o.wrapTeam(team)
	}
	var store issuer.UserStore = s.db
	if o.wrapDB != nil {
		store = o.wrapDB(store)
	}
	auth := o.auth
	if auth == nil {
		a, err := issuer.NewHMACAuthenticator(testSecret, s.clock)
		require.NoError(t, err)
		auth = a
	}
	logger := slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: o.logLevel}))
	h, err := issuer.New(issuer.Config{Team: team, Store: store, Auth: auth, Logger: logger})
	require.NoError(t, err)
	s.h = h
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s.url = srv.URL

	s.rec = &recorder{base: transport()}
	s.hc = &http.Client{Transport: s.rec}
	t.Cleanup(s.hc.CloseIdleConnections)
	t.Cleanup(func() { s.checkNoLeaks(t) })
	return s
}

// session mints a session for app and remembers it as a secret.
func (s *stack) session(t testing.TB, app string) string {
	t.Helper()
	sess, err := issuer.NewSession(testSecret, app, time.Hour, testEpoch)
	require.NoError(t, err)
	s.secrets.add(sess)
	return sess
}

// client returns an issuer client authenticated as app.
func (s *stack) client(t testing.TB, app string) *issuer.Client {
	t.Helper()
	return issuer.NewClient(s.url, s.session(t, app), issuer.WithHTTPClient(s.hc))
}

// signIn gets a token for app through the client and remembers the token as
// a secret.
func (s *stack) signIn(t testing.TB, app string) (string, string) {
	t.Helper()
	v, tok, err := s.client(t, app).SignInToken(context.Background(), app)
	require.NoError(t, err)
	s.secrets.add(tok)
	return v, tok
}

// raw sends a request with an optional bearer session and returns the
// status and body.
func (s *stack) raw(t testing.TB, method, path, session string, body string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	require.NoError(t, err)
	if session != "" {
		req.Header.Set("Authorization", "Bearer "+session)
	}
	resp, err := s.hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, data
}

// checkNoLeaks fails the test if the API key, a session or an issued
// Sign-In Token appears in a log line, or the API key in any response, or
// any secret in a failed response.
func (s *stack) checkNoLeaks(t testing.TB) {
	logs := s.logs.String()
	for _, secret := range s.secrets.list() {
		require.NotContains(t, logs, secret, "a secret reached the logs")
	}
	for _, r := range s.rec.list() {
		all := r.headers + "\n" + string(r.body)
		require.NotContains(t, all, testAPIKey, "the API key reached a response")
		if r.status != http.StatusOK {
			for _, secret := range s.secrets.list() {
				require.NotContains(t, all, secret, "a secret reached a failed response")
			}
		}
	}
}

// usersFor counts the emulator's active users with client_user_id app,
// through its API.
func (s *stack) usersFor(t testing.TB, app string) []string {
	t.Helper()
	var ids []string
	for off := 0; ; off += 100 {
		page, err := s.team.ListUsers(context.Background(), off, 100)
		require.NoError(t, err)
		for _, u := range page.Users {
			if u.ClientUserID == app {
				ids = append(ids, u.UserID)
			}
		}
		if len(page.Users) < 100 {
			return ids
		}
	}
}

// totalUsers counts the emulator's active users through its API.
func (s *stack) totalUsers(t testing.TB) int {
	t.Helper()
	n := 0
	for off := 0; ; off += 100 {
		page, err := s.team.ListUsers(context.Background(), off, 100)
		require.NoError(t, err)
		n += len(page.Users)
		if len(page.Users) < 100 {
			return n
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// secretSet collects the secrets a test handed out.
type secretSet struct {
	mu sync.Mutex
	m  map[string]struct{}
}

func (s *secretSet) add(v string) {
	if v == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]struct{}{}
	}
	s.m[v] = struct{}{}
}

func (s *secretSet) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.m))
	for v := range s.m {
		out = append(out, v)
	}
	return out
}

// recorder is a RoundTripper that keeps every response the issuer sent.
type recorder struct {
	base      http.RoundTripper
	mu        sync.Mutex
	responses []recorded
}

type recorded struct {
	status  int
	headers string
	body    []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var hb strings.Builder
	_ = resp.Header.Write(&hb)
	r.mu.Lock()
	r.responses = append(r.responses, recorded{status: resp.StatusCode, headers: hb.String(), body: body})
	r.mu.Unlock()
	return resp, nil
}

func (r *recorder) list() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.responses...)
}

func (r *recorder) CloseIdleConnections() {
	if c, ok := r.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
