package issuer_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
	"github.com/vitalsync/vitalsync/issuer"
)

var (
	_ issuer.TeamAPI   = (*junction.Client)(nil)
	_ issuer.UserStore = (*sqlite.DB)(nil)
)

const testAPIKey = "sk_us_issuer_test_3f9c2b7a1d"

// stack is an issuer served in process by the test kit's transport, with
// the emulator as its team API and a SQLite user map on a temp file. One
// virtual clock, set to testEpoch, is the emulator's and the
// authenticator's.
type stack struct {
	kit     *emulatortest.Stack
	emu     *emulator.Emulator
	team    *junction.Client
	db      *sqlite.DB
	h       *issuer.Handler
	url     string
	logs    *emulatortest.LockedBuffer
	rec     *recorder
	hc      *http.Client
	clock   func() time.Time
	secrets *emulatortest.Secrets
}

type stackOptions struct {
	logLevel slog.Level
	wrapTeam func(issuer.TeamAPI) issuer.TeamAPI
	wrapDB   func(issuer.UserStore) issuer.UserStore
	auth     issuer.Authenticator
	db       *sqlite.DB          // share a user map
	kit      *emulatortest.Stack // share an upstream (and its clock)
	// issuerKey is the API key the issuer's team client uses (default: the
	// emulator's).
	issuerKey string
	// teamURL points the issuer's team client at a real server over
	// loopback HTTP (default: the emulator, in process).
	teamURL string
}

// issuerHost is where the issuer is served on the kit's transport.
const issuerHost = "issuer.test"

func newStack(t testing.TB, o stackOptions) *stack {
	t.Helper()
	ctx := context.Background()
	s := &stack{kit: o.kit, logs: &emulatortest.LockedBuffer{}}
	if s.kit == nil {
		s.kit = emulatortest.NewStack(emulator.WithAPIKey(testAPIKey))
		s.kit.Clock.Set(testEpoch)
	}
	s.emu, s.team, s.clock = s.kit.Emulator, s.kit.Team, s.kit.Clock.Now
	// The API key, and every session and token the test adds.
	s.secrets = &emulatortest.Secrets{}
	s.secrets.Add(testAPIKey)

	s.db = o.db
	if s.db == nil {
		db, err := sqlite.OpenIssuer(ctx, filepath.Join(t.TempDir(), "issuer.db"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		s.db = db
	}
	var team issuer.TeamAPI = s.team
	switch {
	case o.teamURL != "":
		upstream := &http.Client{Transport: &http.Transport{}}
		t.Cleanup(upstream.CloseIdleConnections)
		key := testAPIKey
		if o.issuerKey != "" {
			key = o.issuerKey
		}
		team = junction.NewClient(o.teamURL, key, junction.WithHTTPClient(upstream))
	case o.issuerKey != "":
		team = junction.NewClient(s.kit.APIURL, o.issuerKey, s.kit.JunctionOptions()...)
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
	h, err := issuer.New(issuer.Config{Team: team, Store: store, Auth: auth, Logger: s.logs.Logger(o.logLevel)})
	require.NoError(t, err)
	s.h = h
	// Stacks sharing a kit each have their own issuer, so the issuer is on
	// a transport of the stack's own rather than on the kit's.
	tr := emulatortest.NewTransport(map[string]http.Handler{issuerHost: h})
	s.url = "http://" + issuerHost

	s.rec = &recorder{base: tr}
	s.hc = &http.Client{Transport: s.rec}
	t.Cleanup(func() { s.checkNoLeaks(t) })
	return s
}

// session mints a session for app and remembers it as a secret.
func (s *stack) session(t testing.TB, app string) string {
	t.Helper()
	sess, err := issuer.NewSession(testSecret, app, time.Hour, testEpoch)
	require.NoError(t, err)
	s.secrets.Add(sess)
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
	s.secrets.Add(tok)
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
	t.Helper()
	s.secrets.Check(t, "the logs", s.logs.String())
	apiKey := &emulatortest.Secrets{}
	apiKey.Add(testAPIKey)
	for _, r := range s.rec.list() {
		all := r.headers + "\n" + string(r.body)
		apiKey.Check(t, "a response", all)
		if r.status != http.StatusOK {
			s.secrets.Check(t, "a failed response", all)
		}
	}
}

// usersFor lists the emulator's active users with client_user_id app,
// through its API.
func (s *stack) usersFor(t testing.TB, app string) []string {
	t.Helper()
	return emulatortest.UserIDsOf(t, s.team, app)
}

// totalUsers counts the emulator's active users through its API.
func (s *stack) totalUsers(t testing.TB) int {
	t.Helper()
	return len(emulatortest.UserIDsOf(t, s.team, ""))
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
