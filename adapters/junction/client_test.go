package junction_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/reconcile"
)

const (
	secretAPIKey  = "sk_us_secret_api_key_0123456789"
	secretAccess  = "access-secret-0123456789abcdef"
	secretRefresh = "refresh-secret-0123456789abcdef"
	secretJWT     = "eyJhbGciOiJSUzI1NiJ9.secret-jwt-payload.sig"
)

var fixedNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// reply serves one canned response to every request.
func reply(status int, header map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func TestErrorTable(t *testing.T) {
	httpDate := fixedNow.Add(90 * time.Second).Format(http.TimeFormat)
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		kind       error // nil: success
		transient  bool
		retryAfter time.Duration
		conflict   string
		createdOn  time.Time
		message    string
	}{
		{name: "ok", status: 200, body: `{"user_id":"u1","client_user_id":"c1"}`},
		{name: "created", status: 201, body: `{"user_id":"u1","client_user_id":"c1"}`},
		{name: "conflict", status: 400,
			body: `{"detail":{"error_type":"INVALID_REQUEST","error_message":"exists","user_id":"u0","created_on":"2026-01-02T03:04:05Z"}}`,
			kind: junction.ErrConflict, conflict: "u0", createdOn: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), message: "exists"},
		{name: "conflict naive created_on", status: 400,
			body: `{"detail":{"error_type":"INVALID_REQUEST","user_id":"u0","created_on":"2026-01-02T03:04:05.5"}}`,
			kind: junction.ErrConflict, conflict: "u0", createdOn: time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.UTC)},
		{name: "conflict unreadable created_on", status: 400,
			body: `{"detail":{"user_id":"u0","created_on":"yesterday"}}`, kind: junction.ErrConflict, conflict: "u0"},
		{name: "409", status: 409, body: `{"detail":"conflict"}`, kind: junction.ErrConflict, message: "conflict"},
		{name: "400 without user", status: 400, body: `{"detail":"bad"}`, kind: junction.ErrValidation, message: "bad"},
		{name: "400 invalid token", status: 400, body: `{"detail":{"error_type":"invalid_token"}}`, kind: junction.ErrInvalidToken},
		{name: "401 invalid token", status: 401, body: `{"detail":{"error_type":"invalid_token"}}`, kind: junction.ErrInvalidToken},
		{name: "400 reauth", status: 400, body: `{"detail":{"error_type":"reauthentication_required"}}`, kind: junction.ErrReauthenticationRequired},
		{name: "403 reauth", status: 403, body: `{"detail":{"error_type":"reauthentication_required"}}`, kind: junction.ErrReauthenticationRequired},
		{name: "500 invalid token body", status: 500, body: `{"detail":{"error_type":"invalid_token"}}`, kind: junction.ErrServer, transient: true},
		{name: "401", status: 401, body: `{"detail":"Not authenticated"}`, kind: junction.ErrUnauthorized, message: "Not authenticated"},
		{name: "401 no body", status: 401, kind: junction.ErrUnauthorized},
		{name: "403", status: 403, body: `{"detail":"no"}`, kind: junction.ErrForbidden},
		{name: "404", status: 404, body: `{"detail":"User not found"}`, kind: junction.ErrNotFound},
		{name: "410", status: 410, kind: junction.ErrNotFound},
		{name: "422", status: 422, body: `{"detail":[{"loc":["body","client_user_id"],"msg":"field required","type":"value_error.missing"}]}`, kind: junction.ErrValidation},
		{name: "405", status: 405, body: `not json`, kind: junction.ErrValidation},
		{name: "429 seconds", status: 429, header: map[string]string{"Retry-After": "7"}, kind: junction.ErrRateLimited, transient: true, retryAfter: 7 * time.Second},
		{name: "429 date", status: 429, header: map[string]string{"Retry-After": httpDate}, kind: junction.ErrRateLimited, transient: true, retryAfter: 90 * time.Second},
		{name: "429 far date", status: 429, header: map[string]string{"Retry-After": fixedNow.Add(48 * time.Hour).Format(http.TimeFormat)}, kind: junction.ErrRateLimited, transient: true, retryAfter: junction.MaxRetryAfter},
		{name: "429 past date", status: 429, header: map[string]string{"Retry-After": fixedNow.Add(-time.Hour).Format(http.TimeFormat)}, kind: junction.ErrRateLimited, transient: true},
		{name: "429 garbage", status: 429, header: map[string]string{"Retry-After": "soon"}, kind: junction.ErrRateLimited, transient: true},
		{name: "429 negative", status: 429, header: map[string]string{"Retry-After": "-5"}, kind: junction.ErrRateLimited, transient: true},
		{name: "429 huge", status: 429, header: map[string]string{"Retry-After": "99999999999999"}, kind: junction.ErrRateLimited, transient: true, retryAfter: junction.MaxRetryAfter},
		{name: "429 none", status: 429, kind: junction.ErrRateLimited, transient: true},
		{name: "500", status: 500, body: `Internal Server Error`, kind: junction.ErrServer, transient: true},
		{name: "502", status: 502, kind: junction.ErrServer, transient: true},
		{name: "503 retry after", status: 503, header: map[string]string{"Retry-After": "3"}, kind: junction.ErrServer, transient: true, retryAfter: 3 * time.Second},
		{name: "302 not followed", status: 302, header: map[string]string{"Location": "http://127.0.0.1:1/elsewhere"}, kind: junction.ErrBadResponse},
		{name: "200 not json", status: 200, body: `<html>`, kind: junction.ErrBadResponse},
		{name: "200 empty", status: 200, kind: junction.ErrBadResponse},
		{name: "200 wrong shape", status: 200, body: `{"user_id":7}`, kind: junction.ErrBadResponse},
		{name: "200 missing user_id", status: 200, body: `{"client_user_id":"c1"}`, kind: junction.ErrBadResponse},
		{name: "200 too large", status: 200, body: `{"user_id":"u1","client_user_id":"` + strings.Repeat("x", junction.MaxBody) + `"}`, kind: junction.ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(reply(tt.status, tt.header, tt.body))
			defer srv.Close()
			c := junction.NewClient(srv.URL, secretAPIKey, junction.WithClock(func() time.Time { return fixedNow }))
			k, err := c.CreateUser(context.Background(), "c1")
			if tt.kind == nil {
				require.NoError(t, err)
				require.Equal(t, junction.UserKey{UserID: "u1", ClientUserID: "c1"}, k)
				return
			}
			require.ErrorIs(t, err, tt.kind)
			require.Equal(t, junction.UserKey{}, k)
			var ae *junction.APIError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, tt.status, ae.Status)
			require.Equal(t, "create user", ae.Op)
			require.Equal(t, tt.transient, ae.Transient())
			require.Equal(t, tt.transient, reconcile.IsTransient(err))
			require.Equal(t, tt.retryAfter, ae.RetryAfter)
			require.Equal(t, tt.conflict, ae.ConflictUserID)
			require.True(t, tt.createdOn.Equal(ae.ConflictCreatedOn), "created_on %v, want %v", ae.ConflictCreatedOn, tt.createdOn)
			if tt.message != "" {
				require.Equal(t, tt.message, ae.Message)
			}
			// Exactly one sentinel matches.
			for _, s := range sentinels {
				require.Equal(t, s == tt.kind, errors.Is(err, s), "errors.Is(err, %v)", s)
			}
			assertNoSecret(t, err, secretAPIKey)
		})
	}
}

var sentinels = []error{junction.ErrConflict, junction.ErrUnauthorized, junction.ErrForbidden, junction.ErrNotFound, junction.ErrValidation,
	junction.ErrRateLimited, junction.ErrServer, junction.ErrBadResponse, junction.ErrTransport, junction.ErrInvalidToken, junction.ErrReauthenticationRequired}

func TestTransportErrors(t *testing.T) {
	// A closed server: connection refused.
	srv := httptest.NewServer(reply(200, nil, `{}`))
	addr := srv.URL
	srv.Close()
	_, err := junction.NewAuthClient(addr).Refresh(context.Background(), secretRefresh)
	require.ErrorIs(t, err, junction.ErrTransport)
	require.True(t, reconcile.IsTransient(err))
	var ae *junction.APIError
	require.ErrorAs(t, err, &ae)
	require.Zero(t, ae.Status)
	require.NotNil(t, ae.Err)
	assertNoSecret(t, err, secretRefresh)

	// A connection closed before any response.
	drop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer drop.Close()
	_, err = junction.NewAuthClient(drop.URL).Exchange(context.Background(), secretJWT)
	require.ErrorIs(t, err, junction.ErrTransport)
	require.True(t, reconcile.IsTransient(err))
	assertNoSecret(t, err, secretJWT)
}

// blocking is a server whose handler waits until the request's context ends
// or the test finishes. Each request that reaches a handler sends on
// arrived, if a receiver is ready.
func blocking(t *testing.T) (srv *httptest.Server, arrived <-chan struct{}) {
	done := make(chan struct{})
	arrive := make(chan struct{})
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrive <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv, arrive
}

func TestTimeoutIsTransient(t *testing.T) {
	srv, _ := blocking(t)
	c := junction.NewUserClient(srv.URL, junction.WithTimeout(20*time.Millisecond))
	_, err := c.GetUser(context.Background(), secretAccess, "u1")
	require.ErrorIs(t, err, junction.ErrTransport)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.True(t, reconcile.IsTransient(err))
	assertNoSecret(t, err, secretAccess)
}

func TestCallerCancellation(t *testing.T) {
	srv, arrived := blocking(t)
	ctx, cancel := context.WithCancel(context.Background())
	c := junction.NewClient(srv.URL, secretAPIKey)
	go func() {
		<-arrived // the request is in flight
		cancel()
	}()
	_, err := c.GetUser(ctx, "u1")
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, reconcile.IsTransient(err))
	var ae *junction.APIError
	require.False(t, errors.As(err, &ae), "a cancellation is not an API error")
	for _, s := range sentinels {
		require.NotErrorIs(t, err, s)
	}

	// Already cancelled: same, and no request needs to succeed.
	_, err = junction.NewAuthClient(srv.URL).Exchange(ctx, secretJWT)
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, reconcile.IsTransient(err))
	assertNoSecret(t, err, secretJWT)

	// The caller's own deadline is not transient either.
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer dcancel()
	_, err = junction.NewClient(srv.URL, secretAPIKey, junction.WithTimeout(time.Minute)).ListUsers(dctx, 0, 10)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.False(t, reconcile.IsTransient(err))
}

// recorded is one request a recording server saw.
type recorded struct {
	method, rawPath, query, contentType string
	header                              http.Header
	body                                string
}

// recorder serves body with status to every request and records them.
func recorder(t *testing.T, status int, body string) (*httptest.Server, *[]recorded) {
	var got []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Clone(), string(b)})
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestRequestsOnTheWire(t *testing.T) {
	ctx := context.Background()
	user := `{"user_id":"u/1","team_id":"t","client_user_id":"a b","created_on":"2026-01-02T03:04:05","connected_sources":[{"provider":{"slug":"oura"}}],"ingestion_start":"2026-01-01"}`

	srv, got := recorder(t, 200, user)
	c := junction.NewClient(srv.URL+"/", secretAPIKey)
	u, err := c.GetUser(ctx, "u/1")
	require.NoError(t, err)
	require.Equal(t, "u/1", u.UserID)
	require.Equal(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), u.CreatedOn)
	require.Len(t, u.ConnectedSources, 1)
	require.Equal(t, "2026-01-01", *u.IngestionStart)
	_, err = c.ResolveUser(ctx, "a b?#")
	require.NoError(t, err)
	_, err = junction.NewUserClient(srv.URL).GetUser(ctx, secretAccess, "u1")
	require.NoError(t, err)
	want := []recorded{
		{method: "GET", rawPath: "/v2/user/u%2F1"},
		{method: "GET", rawPath: "/v2/user/resolve/a%20b%3F%23"},
		{method: "GET", rawPath: "/v2/user/u1"},
	}
	require.Len(t, *got, len(want))
	for i, w := range want {
		g := (*got)[i]
		require.Equal(t, w.method, g.method)
		require.Equal(t, w.rawPath, g.rawPath)
		require.Equal(t, "application/json", g.header.Get("Accept"))
	}
	require.Equal(t, secretAPIKey, (*got)[0].header.Get(junction.HeaderAPIKey))
	require.Empty(t, (*got)[2].header.Get(junction.HeaderAPIKey))
	require.Equal(t, "Bearer "+secretAccess, (*got)[2].header.Get("Authorization"))

	srv, got = recorder(t, 200, `{"user_id":"u1","client_user_id":"c1"}`)
	_, err = junction.NewClient(srv.URL, secretAPIKey).CreateUser(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, "POST", (*got)[0].method)
	require.Equal(t, "/v2/user", (*got)[0].rawPath)
	require.Equal(t, "application/json", (*got)[0].contentType)
	require.JSONEq(t, `{"client_user_id":"c1"}`, (*got)[0].body)

	srv, got = recorder(t, 200, `{"users":[],"total":0,"offset":5,"limit":2}`)
	p, err := junction.NewClient(srv.URL, secretAPIKey).ListUsers(ctx, 5, 2)
	require.NoError(t, err)
	require.Equal(t, junction.UsersPage{Users: []junction.User{}, Offset: 5, Limit: 2}, p)
	q, _ := url.ParseQuery((*got)[0].query)
	require.Equal(t, url.Values{"offset": {"5"}, "limit": {"2"}}, q)

	srv, got = recorder(t, 200, `{"success":true}`)
	c = junction.NewClient(srv.URL, secretAPIKey)
	require.NoError(t, c.DeleteUser(ctx, "u1"))
	require.NoError(t, c.UndoDeleteUser(ctx, "u1", ""))
	require.NoError(t, c.UndoDeleteUser(ctx, "", "c 1"))
	require.Equal(t, "DELETE", (*got)[0].method)
	require.Equal(t, "/v2/user/u1", (*got)[0].rawPath)
	require.Equal(t, "/v2/user/undo_delete", (*got)[1].rawPath)
	require.Equal(t, "user_id=u1", (*got)[1].query)
	require.Equal(t, "client_user_id=c+1", (*got)[2].query)

	srv, got = recorder(t, 200, `{"user_id":"u1","sign_in_token":"XYZ=="}`)
	r, err := junction.NewClient(srv.URL, secretAPIKey).CreateSignInToken(ctx, "u1")
	require.NoError(t, err)
	require.Equal(t, junction.SignInTokenResponse{UserID: "u1", SignInToken: "XYZ=="}, r)
	require.NotContains(t, r.String(), "XYZ")
	require.Equal(t, "/v2/user/u1/sign_in_token", (*got)[0].rawPath)

	srv, got = recorder(t, 200, `{"access_token":"a","refresh_token":"r","expires_in":3600}`)
	a := junction.NewAuthClient(srv.URL + "/auth")
	tr, err := a.Exchange(ctx, secretJWT)
	require.NoError(t, err)
	require.Equal(t, junction.TokenResponse{AccessToken: "a", RefreshToken: "r", ExpiresIn: 3600}, tr)
	_, err = a.Refresh(ctx, secretRefresh)
	require.NoError(t, err)
	for i, form := range []url.Values{
		{"grant_type": {junction.GrantTokenExchange}, "subject_token_type": {junction.SubjectTokenTypeSignIn}, "subject_token": {secretJWT}},
		{"grant_type": {junction.GrantRefreshToken}, "refresh_token": {secretRefresh}},
	} {
		g := (*got)[i]
		require.Equal(t, "POST", g.method)
		require.Equal(t, "/auth/v1/token", g.rawPath)
		require.Empty(t, g.query, "tokens never go in the URL")
		require.Equal(t, "application/x-www-form-urlencoded", g.contentType)
		require.Empty(t, g.header.Get("Authorization"))
		f, err := url.ParseQuery(g.body)
		require.NoError(t, err)
		require.Equal(t, form, f)
	}
}

func TestBadSuccessBodies(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		body string
		call func(base string) error
	}{
		{"token string expires_in", `{"access_token":"a","refresh_token":"r","expires_in":"3600"}`,
			func(b string) error { _, err := junction.NewAuthClient(b).Refresh(ctx, secretRefresh); return err }},
		{"token without refresh", `{"access_token":"a","expires_in":3600}`,
			func(b string) error { _, err := junction.NewAuthClient(b).Exchange(ctx, secretJWT); return err }},
		{"token zero expires_in", `{"access_token":"a","refresh_token":"r","expires_in":0}`,
			func(b string) error { _, err := junction.NewAuthClient(b).Refresh(ctx, secretRefresh); return err }},
		{"delete success false", `{"success":false}`,
			func(b string) error { return junction.NewClient(b, secretAPIKey).DeleteUser(ctx, "u1") }},
		{"sign-in token missing", `{"user_id":"u1"}`,
			func(b string) error {
				_, err := junction.NewClient(b, secretAPIKey).CreateSignInToken(ctx, "u1")
				return err
			}},
		{"user missing id", `{"team_id":"t"}`,
			func(b string) error { _, err := junction.NewClient(b, secretAPIKey).GetUser(ctx, "u1"); return err }},
		{"user bad created_on", `{"user_id":"u1","created_on":"yesterday"}`,
			func(b string) error { _, err := junction.NewUserClient(b).GetUser(ctx, secretAccess, "u1"); return err }},
		{"page with bad user", `{"users":[{"team_id":"t"}],"total":1}`,
			func(b string) error { _, err := junction.NewClient(b, secretAPIKey).ListUsers(ctx, 0, 1); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(reply(200, nil, tt.body))
			defer srv.Close()
			err := tt.call(srv.URL)
			require.ErrorIs(t, err, junction.ErrBadResponse)
			require.False(t, reconcile.IsTransient(err))
			assertNoSecret(t, err, secretAPIKey, secretAccess, secretRefresh, secretJWT)
		})
	}
}

func TestRefusedBeforeSending(t *testing.T) {
	ctx := context.Background()
	srv, got := recorder(t, 200, `{}`)
	c := junction.NewClient(srv.URL, secretAPIKey)
	for _, id := range []string{"", ".", ".."} {
		_, err := c.GetUser(ctx, id)
		require.ErrorIs(t, err, junction.ErrValidation)
		_, err = c.ResolveUser(ctx, id)
		require.ErrorIs(t, err, junction.ErrValidation)
		require.ErrorIs(t, c.DeleteUser(ctx, id), junction.ErrValidation)
		_, err = c.CreateSignInToken(ctx, id)
		require.ErrorIs(t, err, junction.ErrValidation)
		_, err = junction.NewUserClient(srv.URL).GetUser(ctx, secretAccess, id)
		require.ErrorIs(t, err, junction.ErrValidation)
	}
	// Credentials a header cannot carry are refused, not sent (and net/http
	// would call that a transport error, which looks transient).
	const badKey = "sk_us_bad\nkey_0123456789abc"
	_, err := junction.NewClient(srv.URL, badKey).GetUser(ctx, "u1")
	require.ErrorIs(t, err, junction.ErrValidation)
	require.False(t, reconcile.IsTransient(err))
	assertNoSecret(t, err, badKey)
	_, err = junction.NewUserClient(srv.URL).GetUser(ctx, "at_bad\x00token_0123456789", "u1")
	require.ErrorIs(t, err, junction.ErrValidation)
	assertNoSecret(t, err, "at_bad\x00token_0123456789")
	require.ErrorIs(t, c.UndoDeleteUser(ctx, "", ""), junction.ErrValidation)
	require.ErrorIs(t, c.UndoDeleteUser(ctx, "u", "c"), junction.ErrValidation)
	require.Empty(t, *got, "nothing was sent")

	_, err = junction.NewClient("http://[::1]:namedport", secretAPIKey).GetUser(ctx, "u1")
	require.ErrorIs(t, err, junction.ErrValidation)
	assertNoSecret(t, err, secretAPIKey)
}

func TestWithHTTPClientAndNoRedirects(t *testing.T) {
	var reached bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		io.WriteString(w, `{"user_id":"u1"}`)
	}))
	defer target.Close()
	redirect := httptest.NewServer(http.RedirectHandler(target.URL+"/v2/user/u1", http.StatusTemporaryRedirect))
	defer redirect.Close()

	var used bool
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used = true
		return http.DefaultTransport.RoundTrip(r)
	})}
	_, err := junction.NewClient(redirect.URL, secretAPIKey, junction.WithHTTPClient(hc)).GetUser(context.Background(), "u1")
	require.ErrorIs(t, err, junction.ErrBadResponse)
	require.True(t, used, "the injected client is used")
	require.False(t, reached, "the API key must not follow a redirect")
	require.Nil(t, hc.CheckRedirect, "the caller's client is not modified")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestClientStringsHideSecrets(t *testing.T) {
	c := junction.NewClient("http://127.0.0.1:1", secretAPIKey)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		require.NotContains(t, fmt.Sprintf(verb, c), secretAPIKey, verb)
	}
	tr := junction.TokenResponse{AccessToken: secretAccess, RefreshToken: secretRefresh, ExpiresIn: 1}
	for _, s := range []string{tr.String(), tr.GoString()} {
		require.NotContains(t, s, secretAccess)
		require.NotContains(t, s, secretRefresh)
	}
}

func TestIsUUID(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"6f1c2a8e-3b7d-4e59-9a0c-5d2e8f4b1a73", true},
		{"6F1C2A8E-3B7D-4E59-9A0C-5D2E8F4B1A73", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"", false},
		{"6f1c2a8e-3b7d-4e59-9a0c-5d2e8f4b1a7", false},      // short
		{"6f1c2a8e-3b7d-4e59-9a0c-5d2e8f4b1a733", false},    // long
		{"6f1c2a8e3b7d-4e59-9a0c-5d2e8f4b1a733", false},     // a dash missing
		{"6f1c2a8e-3b7d-4e59-9a0c_5d2e8f4b1a73", false},     // not a dash
		{"6f1c2a8g-3b7d-4e59-9a0c-5d2e8f4b1a73", false},     // not hex
		{"{6f1c2a8e-3b7d-4e59-9a0c-5d2e8f4b1a7}", false},    // braces
		{"6f1c2a8e-3b7d-4e59-9a0c-5d2e8f4b1a\u00e9", false}, // 36 bytes, one not ASCII
	} {
		if got := junction.IsUUID(tc.s); got != tc.want {
			t.Errorf("IsUUID(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
