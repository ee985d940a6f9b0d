package issuer_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/issuer"
	"github.com/vitalsync/vitalsync/reconcile"
)

// Client is the launch runner's source of Sign-In Tokens.
var _ reconcile.TokenSource = (*issuer.Client)(nil)

// fakeIssuer answers every request with status, header and body, for the
// client's error table (the real handler cannot produce every answer).
func fakeIssuer(t *testing.T, status int, header map[string]string, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestClientErrorTable(t *testing.T) {
	now := testEpoch
	for _, tc := range []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		kind      error
		transient bool
		retry     time.Duration
		code      string
	}{
		{"400", 400, nil, `{"error":"bad_request","message":"x"}`, issuer.ErrBadRequest, false, 0, "bad_request"},
		{"401", 401, nil, `{"error":"unauthorized","message":"x"}`, issuer.ErrUnauthorized, false, 0, "unauthorized"},
		{"403", 403, nil, `{"error":"forbidden","message":"x"}`, issuer.ErrForbidden, false, 0, "forbidden"},
		{"404 not JSON", 404, nil, `<html>nope</html>`, issuer.ErrNotFound, false, 0, ""},
		{"405", 405, nil, `{}`, issuer.ErrMethodNotAllowed, false, 0, ""},
		{"418", 418, nil, ``, issuer.ErrBadResponse, false, 0, ""},
		{"429 seconds", 429, map[string]string{"Retry-After": "3"}, ``, issuer.ErrUnavailable, true, 3 * time.Second, ""},
		{"500", 500, nil, `{"error":"internal","message":"x"}`, issuer.ErrServer, true, 0, "internal"},
		{"502", 502, nil, `{"error":"upstream_error","message":"x"}`, issuer.ErrUpstream, false, 0, "upstream_error"},
		{"503 seconds", 503, map[string]string{"Retry-After": "12"}, `{"error":"upstream_unavailable"}`, issuer.ErrUnavailable, true, 12 * time.Second, "upstream_unavailable"},
		{"503 date", 503, map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, ``, issuer.ErrUnavailable, true, 90 * time.Second, ""},
		{"503 far date", 503, map[string]string{"Retry-After": now.Add(48 * time.Hour).Format(http.TimeFormat)}, ``, issuer.ErrUnavailable, true, 24 * time.Hour, ""},
		{"503 past date", 503, map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, ``, issuer.ErrUnavailable, true, 0, ""},
		{"503 junk", 503, map[string]string{"Retry-After": "soon"}, ``, issuer.ErrUnavailable, true, 0, ""},
		{"503 huge", 503, map[string]string{"Retry-After": "99999999"}, ``, issuer.ErrUnavailable, true, 24 * time.Hour, ""},
		{"504", 504, nil, ``, issuer.ErrUnavailable, true, 0, ""},
		{"200 not JSON", 200, nil, `token`, issuer.ErrBadResponse, false, 0, ""},
		{"200 empty object", 200, nil, `{}`, issuer.ErrBadResponse, false, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakeIssuer(t, tc.status, tc.header, tc.body)
			c := issuer.NewClient(srv.URL, "session-secret-value", issuer.WithClientClock(fixedClock(now)))
			for _, call := range []func() error{
				func() error { _, _, err := c.SignInToken(context.Background(), "u1"); return err },
				func() error { _, err := c.ResolveVitalUser(context.Background(), "u1"); return err },
			} {
				err := call()
				require.ErrorIs(t, err, tc.kind)
				require.Equal(t, tc.transient, reconcile.IsTransient(err))
				var ie *issuer.Error
				require.ErrorAs(t, err, &ie)
				require.Equal(t, tc.status, ie.Status)
				require.Equal(t, tc.retry, ie.RetryAfter)
				require.Equal(t, tc.code, ie.Code)
				require.Equal(t, srv.URL, ie.URL[:len(srv.URL)], "the error names where it went")
				require.NotContains(t, ie.URL, "u1", "but not the query")
				require.NotContains(t, err.Error(), "session-secret-value")
			}
		})
	}
}

func TestClientSendsSessionAndAppUser(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization")+" "+string(body))
		if r.Method == http.MethodPost {
			_, _ = w.Write([]byte(`{"user_id":"v1","sign_in_token":"t1"}`))
			return
		}
		_, _ = w.Write([]byte(`{"user_id":"v1"}`))
	}))
	defer srv.Close()
	c := issuer.NewClient(srv.URL+"/", "sess")
	v, tok, err := c.SignInToken(context.Background(), "a b")
	require.NoError(t, err)
	require.Equal(t, []string{"v1", "t1"}, []string{v, tok})
	v, err = c.ResolveVitalUser(context.Background(), "a b")
	require.NoError(t, err)
	require.Equal(t, "v1", v)
	require.Equal(t, []string{
		`POST /v1/sign-in-token Bearer sess {"app_user_id":"a b"}`,
		`GET /v1/vital-user?app_user_id=a+b Bearer sess `,
	}, got)
}

// The code of a 401 or 403 answer becomes the error's reason; its message
// is kept, stripped of control characters and bounded.
func TestClientSurfacesReasonAndMessage(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
		reason error
	}{
		{401, issuer.CodeSessionExpired, issuer.ErrSessionExpired},
		{401, issuer.CodeBadSignature, issuer.ErrBadSignature},
		{401, issuer.CodeMalformedSession, issuer.ErrMalformedSession},
		{401, issuer.CodeMissingCreds, issuer.ErrNoCredentials},
		{401, issuer.CodeMultipleAuth, issuer.ErrMultipleAuthorization},
		{403, issuer.CodeAnotherUser, issuer.ErrAnotherUser},
	} {
		srv := fakeIssuer(t, tc.status, nil, `{"error":"`+tc.code+`","message":"why\u001b[2J\nforged line"}`)
		_, err := issuer.NewClient(srv.URL, "sess").ResolveVitalUser(context.Background(), "u1")
		require.ErrorIs(t, err, tc.reason, tc.code)
		var ie *issuer.Error
		require.ErrorAs(t, err, &ie)
		require.Equal(t, tc.reason, ie.Reason)
		require.Equal(t, "why[2Jforged line", ie.Message)
		require.NotContains(t, err.Error(), "\n")
		require.NotContains(t, err.Error(), "\x1b")
	}
	// A code sent with another status names no reason.
	srv := fakeIssuer(t, 500, nil, `{"error":"session_expired","message":"`+strings.Repeat("m", 1000)+`"}`)
	_, err := issuer.NewClient(srv.URL, "sess").ResolveVitalUser(context.Background(), "u1")
	require.NotErrorIs(t, err, issuer.ErrSessionExpired)
	var ie *issuer.Error
	require.ErrorAs(t, err, &ie)
	require.Len(t, ie.Message, issuer.MaxMessageLen)
	// A base URL's user information never reaches the error.
	_, err = issuer.NewClient("http://user:pw-secret@127.0.0.1:1", "sess").ResolveVitalUser(context.Background(), "u1")
	require.ErrorIs(t, err, issuer.ErrTransport)
	require.NotContains(t, err.Error(), "pw-secret")
	require.ErrorAs(t, err, &ie)
	require.Equal(t, "http://127.0.0.1:1/v1/vital-user", ie.URL)
}

func TestClientLocalErrors(t *testing.T) {
	c := issuer.NewClient("http://127.0.0.1:1", "sess")
	_, _, err := c.SignInToken(context.Background(), "")
	require.ErrorIs(t, err, issuer.ErrBadRequest)
	require.ErrorIs(t, err, issuer.ErrInvalidAppUser)
	_, err = c.ResolveVitalUser(context.Background(), strings.Repeat("x", issuer.MaxAppUserIDLen+1))
	require.ErrorIs(t, err, issuer.ErrInvalidAppUser)

	// Nothing listens on port 1 of loopback.
	_, _, err = c.SignInToken(context.Background(), "u")
	require.ErrorIs(t, err, issuer.ErrTransport)
	require.True(t, reconcile.IsTransient(err))

	// Nil options keep the defaults instead of panicking later.
	_, _, err = issuer.NewClient("http://127.0.0.1:1", "sess", issuer.WithHTTPClient(nil), issuer.WithClientClock(nil)).SignInToken(context.Background(), "u")
	require.ErrorIs(t, err, issuer.ErrTransport)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	srv := fakeIssuer(t, 200, nil, `{}`)
	_, err = issuer.NewClient(srv.URL, "sess").ResolveVitalUser(ctx, "u")
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, reconcile.IsTransient(err))
}

func TestSecretsHiddenFromFormatting(t *testing.T) {
	c := issuer.NewClient("http://127.0.0.1:1", "session-secret-value")
	a, err := issuer.NewHMACAuthenticator(testSecret, nil)
	require.NoError(t, err)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		require.NotContains(t, fmt.Sprintf(verb, c), "session-secret-value", verb)
		require.NotContains(t, fmt.Sprintf(verb, a), string(testSecret), verb)
		require.NotContains(t, fmt.Sprintf(verb, a), fmt.Sprint(testSecret), verb)
	}
}
