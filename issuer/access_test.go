package issuer_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/issuer"
	"github.com/vitalsync/vitalsync/reconcile"
)

func decodeError(t testing.TB, body []byte) issuer.ErrorBody {
	t.Helper()
	var eb issuer.ErrorBody
	require.NoError(t, json.Unmarshal(body, &eb), "body %s", body)
	require.NotEmpty(t, eb.Error)
	return eb
}

func TestUnauthorized(t *testing.T) {
	s := newStack(t, stackOptions{})
	ctx := context.Background()
	expired, err := issuer.NewSession(testSecret, "alice", time.Minute, testEpoch.Add(-time.Hour))
	require.NoError(t, err)
	foreign, err := issuer.NewSession([]byte("some-other-secret-0123456789"), "alice", time.Hour, testEpoch)
	require.NoError(t, err)
	good := s.session(t, "alice")
	forged := strings.Replace(good, good[3:10], "AAAAAAA", 1)
	s.secrets.Add(expired)
	s.secrets.Add(foreign)

	for name, tc := range map[string]struct {
		session string
		code    string
		reason  error
	}{
		"none":         {"", issuer.CodeMissingCreds, issuer.ErrNoCredentials},
		"expired":      {expired, issuer.CodeSessionExpired, issuer.ErrSessionExpired},
		"other secret": {foreign, issuer.CodeBadSignature, issuer.ErrBadSignature},
		"forged":       {forged, issuer.CodeBadSignature, issuer.ErrBadSignature},
		"garbage":      {"x.y.z", issuer.CodeMalformedSession, issuer.ErrMalformedSession},
	} {
		session := tc.session
		for _, route := range []struct{ method, path string }{
			{http.MethodPost, issuer.PathSignInToken}, {http.MethodGet, issuer.PathVitalUser},
		} {
			resp, body := s.raw(t, route.method, route.path, session, "")
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s %s", name, route.path)
			eb := decodeError(t, body)
			require.Equal(t, tc.code, eb.Error, name)
			require.NotEmpty(t, eb.Message, name)
			require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			require.NotEmpty(t, resp.Header.Get("WWW-Authenticate"))
		}
		// Through the client, too: the code, its reason, the message and
		// the URL, and no session.
		_, _, err := issuer.NewClient(s.url, session, issuer.WithHTTPClient(s.hc)).SignInToken(ctx, "alice")
		require.ErrorIs(t, err, issuer.ErrUnauthorized, name)
		require.ErrorIs(t, err, tc.reason, name)
		require.False(t, reconcile.IsTransient(err))
		var ie *issuer.Error
		require.ErrorAs(t, err, &ie)
		require.Equal(t, http.StatusUnauthorized, ie.Status)
		require.Equal(t, tc.code, ie.Code, name)
		require.NotEmpty(t, ie.Message, name)
		require.Equal(t, s.url+issuer.PathSignInToken, ie.URL)
		require.Equal(t, http.MethodPost, ie.Method)
		if session != "" {
			require.NotContains(t, err.Error(), session)
			require.NotContains(t, ie.Message, session)
		}
	}
	require.Zero(t, s.emu.TotalRequests(), "unauthenticated calls must not reach the team API")
	require.Zero(t, s.db.WriteCount())
}

// Two Authorization headers are refused with their own code, whichever
// comes first, even when both hold valid sessions.
func TestTwoAuthorizationHeadersRefused(t *testing.T) {
	s := newStack(t, stackOptions{})
	alice, bob := s.session(t, "alice"), s.session(t, "bob")
	for _, order := range [][]string{{alice, bob}, {bob, alice}, {alice, alice}} {
		req, err := http.NewRequest(http.MethodPost, s.url+issuer.PathSignInToken, nil)
		require.NoError(t, err)
		req.Header.Add("Authorization", "Bearer "+order[0])
		req.Header.Add("Authorization", "Bearer "+order[1])
		resp, err := s.hc.Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Equal(t, issuer.CodeMultipleAuth, decodeError(t, body).Error)
	}
	require.Zero(t, s.emu.TotalRequests())
}

func TestNoCrossUserAccess(t *testing.T) {
	s := newStack(t, stackOptions{})
	ctx := context.Background()
	bobV, _ := s.signIn(t, "bob")
	aliceV, _ := s.signIn(t, "alice")
	require.NotEqual(t, aliceV, bobV)
	creates := s.emu.TotalRequests()

	alice := s.client(t, "alice")
	_, _, err := alice.SignInToken(ctx, "bob")
	require.ErrorIs(t, err, issuer.ErrForbidden)
	require.ErrorIs(t, err, issuer.ErrAnotherUser)
	var ie *issuer.Error
	require.ErrorAs(t, err, &ie)
	require.Equal(t, issuer.CodeAnotherUser, ie.Code)
	require.NotEmpty(t, ie.Message)
	_, err = alice.ResolveVitalUser(ctx, "bob")
	require.ErrorIs(t, err, issuer.ErrForbidden)
	_, err = alice.ResolveVitalUser(ctx, "mallory") // unknown: still no user created
	require.ErrorIs(t, err, issuer.ErrForbidden)

	aliceSession := s.session(t, "alice")
	for _, req := range []struct{ method, path, body string }{
		{http.MethodPost, issuer.PathSignInToken, `{"app_user_id":"bob"}`},
		{http.MethodPost, issuer.PathSignInToken + "?app_user_id=bob", ``},
		{http.MethodPost, issuer.PathSignInToken + "?app_user_id=alice", `{"app_user_id":"bob"}`},
		{http.MethodGet, issuer.PathVitalUser + "?app_user_id=bob", ``},
	} {
		resp, body := s.raw(t, req.method, req.path, aliceSession, req.body)
		require.Contains(t, []int{http.StatusForbidden, http.StatusBadRequest}, resp.StatusCode, "%+v", req)
		if resp.StatusCode == http.StatusForbidden {
			require.Equal(t, issuer.CodeAnotherUser, decodeError(t, body).Error)
		}
		require.NotContains(t, string(body), bobV)
		require.NotContains(t, string(body), aliceV)
	}
	require.Equal(t, creates, s.emu.TotalRequests(), "refused calls must not reach the team API")
	require.Empty(t, s.usersFor(t, "mallory"))

	// Without naming a user, a caller always gets their own.
	resp, body := s.raw(t, http.MethodGet, issuer.PathVitalUser, aliceSession, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"user_id":"`+aliceV+`"}`, string(body))
	resp, body = s.raw(t, http.MethodPost, issuer.PathSignInToken, aliceSession, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var tok issuer.SignInTokenBody
	require.NoError(t, json.Unmarshal(body, &tok))
	s.secrets.Add(tok.SignInToken)
	require.Equal(t, aliceV, tok.UserID)
	require.Equal(t, aliceV, decodeToken(t, tok.SignInToken).UserID)
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
}

func TestRoutes(t *testing.T) {
	s := newStack(t, stackOptions{})
	session := s.session(t, "alice")

	resp, body := s.raw(t, http.MethodGet, issuer.PathHealth, "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"status":"ok"}`, string(body))

	for _, tc := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{http.MethodGet, "/v1/nope", http.StatusNotFound, "not_found", ""},
		{http.MethodGet, "/", http.StatusNotFound, "not_found", ""},
		{http.MethodPost, "/v2/user", http.StatusNotFound, "not_found", ""},
		{http.MethodGet, issuer.PathSignInToken, http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
		{http.MethodPut, issuer.PathSignInToken, http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
		{http.MethodPost, issuer.PathVitalUser, http.StatusMethodNotAllowed, "method_not_allowed", "GET"},
		{http.MethodHead, issuer.PathVitalUser, http.StatusMethodNotAllowed, "", "GET"},
		{http.MethodDelete, issuer.PathHealth, http.StatusMethodNotAllowed, "method_not_allowed", "GET, HEAD"},
		{http.MethodPost, issuer.PathMetrics, http.StatusMethodNotAllowed, "method_not_allowed", "GET, HEAD"},
	} {
		resp, body := s.raw(t, tc.method, tc.path, session, "")
		require.Equal(t, tc.status, resp.StatusCode, "%s %s", tc.method, tc.path)
		if tc.method != http.MethodHead {
			require.Equal(t, tc.code, decodeError(t, body).Error)
		}
		require.Equal(t, tc.allow, resp.Header.Get("Allow"))
	}

	for _, bad := range []string{`{`, `[]`, `{"app_user_id":5}`, strings.Repeat(" ", issuer.MaxBody+1)} {
		resp, body := s.raw(t, http.MethodPost, issuer.PathSignInToken, session, bad)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "body %.20q", bad)
		require.Equal(t, "bad_request", decodeError(t, body).Error)
	}
	require.Zero(t, s.emu.TotalRequests())

	// Through the client: a wrong base URL is ErrNotFound, not a token.
	_, _, err := issuer.NewClient(s.url+"/prefix", session, issuer.WithHTTPClient(s.hc)).SignInToken(context.Background(), "alice")
	require.ErrorIs(t, err, issuer.ErrNotFound)
}

func TestMetricsFormat(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.signIn(t, "alice")
	resp, body := s.raw(t, http.MethodGet, issuer.PathMetrics, "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	text := string(body)
	for _, name := range []string{
		"vitalsync_issuer_tokens_issued_total", "vitalsync_issuer_users_created_total",
		"vitalsync_issuer_upstream_errors_total",
	} {
		require.Contains(t, text, "# HELP "+name+" ")
		require.Contains(t, text, "# TYPE "+name+" counter\n")
	}
	require.Contains(t, text, "# TYPE vitalsync_issuer_request_duration_seconds histogram\n")
	mt := s.metricsOf(t)
	const labels = `code="200",route="/v1/sign-in-token"`
	prev := 0.0
	for _, ub := range []string{"0.001", "0.01", "0.1", "1", "10", "+Inf"} {
		v, ok := mt[`vitalsync_issuer_request_duration_seconds_bucket{`+labels+`,le="`+ub+`"}`]
		require.True(t, ok, "bucket %s", ub)
		require.GreaterOrEqual(t, v, prev, "buckets are cumulative")
		prev = v
	}
	require.Equal(t, 1.0, prev)
	require.Equal(t, 1.0, mt["vitalsync_issuer_request_duration_seconds_count{"+labels+"}"])
	require.Equal(t, 1.0, mt["vitalsync_issuer_requests_total{"+labels+"}"])
	// The scrape before this one was counted too.
	require.Equal(t, 1.0, mt[`vitalsync_issuer_requests_total{code="200",route="/metrics"}`])
	require.Contains(t, mt, "vitalsync_issuer_request_duration_seconds_sum{"+labels+"}")
}

// failingStore fails the chosen operation.
type failingStore struct {
	issuer.UserStore
	lookup, put, mark error
}

func (f failingStore) LookupUser(ctx context.Context, app string) (issuer.Mapping, bool, error) {
	if f.lookup != nil {
		return issuer.Mapping{}, false, f.lookup
	}
	return f.UserStore.LookupUser(ctx, app)
}

func (f failingStore) PutUser(ctx context.Context, app, v string) (issuer.Mapping, error) {
	if f.put != nil {
		return issuer.Mapping{}, f.put
	}
	return f.UserStore.PutUser(ctx, app, v)
}

func (f failingStore) MarkUserDeleted(ctx context.Context, app, v string) error {
	if f.mark != nil {
		return f.mark
	}
	return f.UserStore.MarkUserDeleted(ctx, app, v)
}

var errDisk = errors.New("disk I/O error")

func TestInternalErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("lookup fails", func(t *testing.T) {
		s := newStack(t, stackOptions{wrapDB: func(u issuer.UserStore) issuer.UserStore { return failingStore{UserStore: u, lookup: errDisk} }})
		_, _, err := s.client(t, "ann").SignInToken(ctx, "ann")
		require.ErrorIs(t, err, issuer.ErrServer)
		require.True(t, reconcile.IsTransient(err))
		require.Zero(t, s.emu.TotalRequests())
	})
	t.Run("put fails after create", func(t *testing.T) {
		s := newStack(t, stackOptions{wrapDB: func(u issuer.UserStore) issuer.UserStore { return failingStore{UserStore: u, put: errDisk} }})
		_, _, err := s.client(t, "ann").SignInToken(ctx, "ann")
		require.ErrorIs(t, err, issuer.ErrServer)
		require.Len(t, s.usersFor(t, "ann"), 1)
		require.Zero(t, s.emu.Requests(emulator.RouteSignInToken), "no token without a recorded mapping")
		// With the store healthy again the created user is adopted.
		s2 := newStack(t, stackOptions{kit: s.kit, db: s.db})
		v, _ := s2.signIn(t, "ann")
		require.Equal(t, s.usersFor(t, "ann"), []string{v})
	})
	t.Run("mark deleted fails", func(t *testing.T) {
		s := newStack(t, stackOptions{wrapDB: func(u issuer.UserStore) issuer.UserStore { return failingStore{UserStore: u, mark: errDisk} }})
		old, _ := s.signIn(t, "ann")
		require.NoError(t, s.emu.DeleteUser(old))
		_, _, err := s.client(t, "ann").SignInToken(ctx, "ann")
		require.ErrorIs(t, err, issuer.ErrServer)
		require.Empty(t, s.usersFor(t, "ann"), "no new user before the old mapping is retired")
	})
	t.Run("authenticator fails", func(t *testing.T) {
		s := newStack(t, stackOptions{auth: issuer.AuthenticatorFunc(func(*http.Request) (string, error) {
			return "", errors.New("session store down")
		})})
		resp, body := s.raw(t, http.MethodPost, issuer.PathSignInToken, "", "")
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		require.Equal(t, "internal", decodeError(t, body).Error)
	})
	t.Run("authenticator returns unusable user", func(t *testing.T) {
		s := newStack(t, stackOptions{auth: issuer.AuthenticatorFunc(func(*http.Request) (string, error) {
			return "", nil
		})})
		resp, _ := s.raw(t, http.MethodGet, issuer.PathVitalUser, "", "")
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		require.Zero(t, s.emu.TotalRequests())
	})
}

func TestRequestEndedBeforeServed(t *testing.T) {
	s := newStack(t, stackOptions{})
	// A first request for amy is in progress.
	unlock, err := issuer.LockUser(context.Background(), s.h, "amy")
	require.NoError(t, err)
	defer unlock()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, r := range []struct{ method, path string }{{http.MethodPost, issuer.PathSignInToken}, {http.MethodGet, issuer.PathVitalUser}} {
		req := httptest.NewRequestWithContext(ctx, r.method, r.path, nil)
		req.Header.Set("Authorization", "Bearer "+s.session(t, "amy"))
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, r.path)
		require.Equal(t, "unavailable", decodeError(t, rec.Body.Bytes()).Error, r.path)
	}
	require.Zero(t, s.emu.TotalRequests())
	require.Zero(t, s.db.WriteCount())
}

func TestNewRejectsMissingConfig(t *testing.T) {
	s := newStack(t, stackOptions{})
	auth, err := issuer.NewHMACAuthenticator(testSecret, nil)
	require.NoError(t, err)
	for _, c := range []issuer.Config{
		{Store: s.db, Auth: auth},
		{Team: s.team, Auth: auth},
		{Team: s.team, Store: s.db},
	} {
		_, err := issuer.New(c)
		require.ErrorIs(t, err, issuer.ErrInvalidConfig)
	}
}
