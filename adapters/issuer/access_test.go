package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/emulator"
	"github.com/vitalsync/vitalsync/adapters/sqlite"
)

func decodeError(t testing.TB, body []byte) errorBody {
	t.Helper()
	var eb errorBody
	require.NoError(t, json.Unmarshal(body, &eb), "body %s", body)
	require.NotEmpty(t, eb.Error)
	return eb
}

func TestUnauthorized(t *testing.T) {
	s := newStack(t, stackOptions{})
	ctx := context.Background()
	expired, err := NewSession(testSecret, "alice", time.Minute, testEpoch.Add(-time.Hour))
	require.NoError(t, err)
	foreign, err := NewSession([]byte("some-other-secret-0123456789"), "alice", time.Hour, testEpoch)
	require.NoError(t, err)
	good := s.session(t, "alice")
	forged := strings.Replace(good, good[3:10], "AAAAAAA", 1)
	s.secrets.Add(expired)
	s.secrets.Add(foreign)

	for name, session := range map[string]string{
		"none": "", "expired": expired, "other secret": foreign, "forged": forged, "garbage": "x.y.z",
	} {
		for _, route := range []struct{ method, path string }{
			{http.MethodPost, PathSignInToken}, {http.MethodGet, PathVitalUser},
		} {
			resp, body := s.raw(t, route.method, route.path, session, "")
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s %s", name, route.path)
			require.Equal(t, "unauthorized", decodeError(t, body).Error)
			require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			require.NotEmpty(t, resp.Header.Get("WWW-Authenticate"))
		}
		// Through the client, too.
		_, _, err := NewClient(s.url, session, WithHTTPClient(s.hc)).SignInToken(ctx, "alice")
		require.ErrorIs(t, err, ErrUnauthorized, name)
		require.False(t, IsTransient(err))
		var ie *Error
		require.ErrorAs(t, err, &ie)
		require.Equal(t, http.StatusUnauthorized, ie.Status)
		if session != "" {
			require.NotContains(t, err.Error(), session)
		}
	}
	require.Zero(t, s.emu.TotalRequests(), "unauthenticated calls must not reach the team API")
	require.Zero(t, s.db.WriteCount())
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
	require.ErrorIs(t, err, ErrForbidden)
	_, err = alice.ResolveVitalUser(ctx, "bob")
	require.ErrorIs(t, err, ErrForbidden)
	_, err = alice.ResolveVitalUser(ctx, "mallory") // unknown: still no user created
	require.ErrorIs(t, err, ErrForbidden)

	aliceSession := s.session(t, "alice")
	for _, req := range []struct{ method, path, body string }{
		{http.MethodPost, PathSignInToken, `{"app_user_id":"bob"}`},
		{http.MethodPost, PathSignInToken + "?app_user_id=bob", ``},
		{http.MethodPost, PathSignInToken + "?app_user_id=alice", `{"app_user_id":"bob"}`},
		{http.MethodGet, PathVitalUser + "?app_user_id=bob", ``},
	} {
		resp, body := s.raw(t, req.method, req.path, aliceSession, req.body)
		require.Contains(t, []int{http.StatusForbidden, http.StatusBadRequest}, resp.StatusCode, "%+v", req)
		require.NotContains(t, string(body), bobV)
		require.NotContains(t, string(body), aliceV)
	}
	require.Equal(t, creates, s.emu.TotalRequests(), "refused calls must not reach the team API")
	require.Empty(t, s.usersFor(t, "mallory"))

	// Without naming a user, a caller always gets their own.
	resp, body := s.raw(t, http.MethodGet, PathVitalUser, aliceSession, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"user_id":"`+aliceV+`"}`, string(body))
	resp, body = s.raw(t, http.MethodPost, PathSignInToken, aliceSession, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var tok signInTokenBody
	require.NoError(t, json.Unmarshal(body, &tok))
	s.secrets.Add(tok.SignInToken)
	require.Equal(t, aliceV, tok.UserID)
	require.Equal(t, aliceV, decodeToken(t, tok.SignInToken).UserID)
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
}

func TestRoutes(t *testing.T) {
	s := newStack(t, stackOptions{})
	session := s.session(t, "alice")

	resp, body := s.raw(t, http.MethodGet, PathHealth, "", "")
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
		{http.MethodGet, PathSignInToken, http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
		{http.MethodPut, PathSignInToken, http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
		{http.MethodPost, PathVitalUser, http.StatusMethodNotAllowed, "method_not_allowed", "GET"},
		{http.MethodHead, PathVitalUser, http.StatusMethodNotAllowed, "", "GET"},
		{http.MethodDelete, PathHealth, http.StatusMethodNotAllowed, "method_not_allowed", "GET, HEAD"},
		{http.MethodPost, PathMetrics, http.StatusMethodNotAllowed, "method_not_allowed", "GET, HEAD"},
	} {
		resp, body := s.raw(t, tc.method, tc.path, session, "")
		require.Equal(t, tc.status, resp.StatusCode, "%s %s", tc.method, tc.path)
		if tc.method != http.MethodHead {
			require.Equal(t, tc.code, decodeError(t, body).Error)
		}
		require.Equal(t, tc.allow, resp.Header.Get("Allow"))
	}

	for _, bad := range []string{`{`, `[]`, `{"app_user_id":5}`, strings.Repeat(" ", maxBody+1)} {
		resp, body := s.raw(t, http.MethodPost, PathSignInToken, session, bad)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "body %.20q", bad)
		require.Equal(t, "bad_request", decodeError(t, body).Error)
	}
	require.Zero(t, s.emu.TotalRequests())

	// Through the client: a wrong base URL is ErrNotFound, not a token.
	_, _, err := NewClient(s.url+"/prefix", session, WithHTTPClient(s.hc)).SignInToken(context.Background(), "alice")
	require.ErrorIs(t, err, ErrNotFound)
}

func TestMetricsFormat(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.signIn(t, "alice")
	resp, body := s.raw(t, http.MethodGet, PathMetrics, "", "")
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
	prev := 0.0
	for _, ub := range []string{"0.001", "0.01", "0.1", "1", "10", "+Inf"} {
		v, ok := mt[`vitalsync_issuer_request_duration_seconds_bucket{le="`+ub+`"}`]
		require.True(t, ok, "bucket %s", ub)
		require.GreaterOrEqual(t, v, prev, "buckets are cumulative")
		prev = v
	}
	require.Equal(t, 1.0, prev)
	require.Equal(t, 1.0, mt["vitalsync_issuer_request_duration_seconds_count"])
	require.Contains(t, mt, "vitalsync_issuer_request_duration_seconds_sum")
}

func TestHistogramBuckets(t *testing.T) {
	var m metrics
	for _, d := range []time.Duration{0, time.Millisecond, 3 * time.Millisecond, 2 * time.Second, time.Minute} {
		m.duration.observe(d)
	}
	var b strings.Builder
	require.NoError(t, m.writeTo(&b))
	text := b.String()
	for _, line := range []string{
		`vitalsync_issuer_request_duration_seconds_bucket{le="0.001"} 2`,
		`vitalsync_issuer_request_duration_seconds_bucket{le="0.0025"} 2`,
		`vitalsync_issuer_request_duration_seconds_bucket{le="0.005"} 3`,
		`vitalsync_issuer_request_duration_seconds_bucket{le="2.5"} 4`,
		`vitalsync_issuer_request_duration_seconds_bucket{le="10"} 4`,
		`vitalsync_issuer_request_duration_seconds_bucket{le="+Inf"} 5`,
		`vitalsync_issuer_request_duration_seconds_sum 62.004`,
		`vitalsync_issuer_request_duration_seconds_count 5`,
	} {
		require.Contains(t, text, line+"\n")
	}
}

// failingStore fails the chosen operation.
type failingStore struct {
	UserStore
	lookup, put, mark error
}

func (f failingStore) LookupUser(ctx context.Context, app string) (sqlite.UserMapping, bool, error) {
	if f.lookup != nil {
		return sqlite.UserMapping{}, false, f.lookup
	}
	return f.UserStore.LookupUser(ctx, app)
}

func (f failingStore) PutUser(ctx context.Context, app, v string) (sqlite.UserMapping, error) {
	if f.put != nil {
		return sqlite.UserMapping{}, f.put
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
		s := newStack(t, stackOptions{wrapDB: func(u UserStore) UserStore { return failingStore{UserStore: u, lookup: errDisk} }})
		_, _, err := s.client(t, "ann").SignInToken(ctx, "ann")
		require.ErrorIs(t, err, ErrServer)
		require.True(t, IsTransient(err))
		require.Zero(t, s.emu.TotalRequests())
	})
	t.Run("put fails after create", func(t *testing.T) {
		s := newStack(t, stackOptions{wrapDB: func(u UserStore) UserStore { return failingStore{UserStore: u, put: errDisk} }})
		_, _, err := s.client(t, "ann").SignInToken(ctx, "ann")
		require.ErrorIs(t, err, ErrServer)
		require.Len(t, s.usersFor(t, "ann"), 1)
		require.Zero(t, s.emu.Requests(emulator.RouteSignInToken), "no token without a recorded mapping")
		// With the store healthy again the created user is adopted.
		s2 := newStack(t, stackOptions{kit: s.kit, db: s.db})
		v, _ := s2.signIn(t, "ann")
		require.Equal(t, s.usersFor(t, "ann"), []string{v})
	})
	t.Run("mark deleted fails", func(t *testing.T) {
		s := newStack(t, stackOptions{wrapDB: func(u UserStore) UserStore { return failingStore{UserStore: u, mark: errDisk} }})
		old, _ := s.signIn(t, "ann")
		require.NoError(t, s.emu.DeleteUser(old))
		_, _, err := s.client(t, "ann").SignInToken(ctx, "ann")
		require.ErrorIs(t, err, ErrServer)
		require.Empty(t, s.usersFor(t, "ann"), "no new user before the old mapping is retired")
	})
	t.Run("authenticator fails", func(t *testing.T) {
		s := newStack(t, stackOptions{auth: AuthenticatorFunc(func(*http.Request) (string, error) {
			return "", errors.New("session store down")
		})})
		resp, body := s.raw(t, http.MethodPost, PathSignInToken, "", "")
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		require.Equal(t, "internal", decodeError(t, body).Error)
	})
	t.Run("authenticator returns unusable user", func(t *testing.T) {
		s := newStack(t, stackOptions{auth: AuthenticatorFunc(func(*http.Request) (string, error) {
			return "", nil
		})})
		resp, _ := s.raw(t, http.MethodGet, PathVitalUser, "", "")
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		require.Zero(t, s.emu.TotalRequests())
	})
}

func TestRequestEndedBeforeServed(t *testing.T) {
	s := newStack(t, stackOptions{})
	// A first request for amy is in progress.
	unlock, err := s.h.locks.lock(context.Background(), "amy")
	require.NoError(t, err)
	defer unlock()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, r := range []struct{ method, path string }{{http.MethodPost, PathSignInToken}, {http.MethodGet, PathVitalUser}} {
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
	auth, err := NewHMACAuthenticator(testSecret, nil)
	require.NoError(t, err)
	for _, c := range []Config{
		{Store: s.db, Auth: auth},
		{Team: s.team, Auth: auth},
		{Team: s.team, Store: s.db},
	} {
		_, err := New(c)
		require.ErrorIs(t, err, ErrInvalidConfig)
	}
}
