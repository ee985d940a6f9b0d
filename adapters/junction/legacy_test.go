package junction_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

const secretPublicKey = "AIzaSy-public-web-api-key-0123"

// TestLegacyWire checks the requests of the legacy exchange exactly as
// reference §10.3 gives them: the paths under an emulator base, the key
// query, the JSON sign-in body, the form refresh body, and the answers'
// string expiresIn.
func TestLegacyWire(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.Path)
		require.Equal(t, secretPublicKey, r.URL.Query().Get("key"))
		switch r.URL.Path {
		case "/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken":
			require.Equal(t, "application/json", r.Header.Get("Content-Type"))
			var body map[string]any
			require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
			require.Equal(t, map[string]any{"returnSecureToken": true, "token": secretJWT, "tenantId": "tenant-1"}, body)
			w.Write([]byte(`{"idToken":"` + secretAccess + `","refreshToken":"` + secretRefresh + `","expiresIn":"3600"}`))
		case "/securetoken.googleapis.com/v1/token":
			require.Equal(t, "application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
			require.NoError(t, r.ParseForm())
			require.Equal(t, "refresh_token", r.PostForm.Get("grant_type"))
			require.Equal(t, secretRefresh, r.PostForm.Get("refresh_token"))
			w.Write([]byte(`{"id_token":"new-id","refresh_token":"new-refresh","expires_in":"1800"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := junction.NewLegacyAuthClient(srv.URL + "/")
	ctx := context.Background()
	tok, err := c.SignInWithCustomToken(ctx, secretPublicKey, secretJWT, "tenant-1")
	require.NoError(t, err)
	require.Equal(t, secretAccess, tok.IDToken)
	require.Equal(t, secretRefresh, tok.RefreshToken)
	n, ok := tok.ExpiresInSeconds()
	require.True(t, ok)
	require.Equal(t, 3600, n)
	tok, err = c.Refresh(ctx, secretPublicKey, secretRefresh)
	require.NoError(t, err)
	require.Equal(t, "new-id", tok.IDToken)
	require.Equal(t, "new-refresh", tok.RefreshToken)
	n, _ = tok.ExpiresInSeconds()
	require.Equal(t, 1800, n)
	require.Equal(t, []string{
		"POST /identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken",
		"POST /securetoken.googleapis.com/v1/token",
	}, seen)
	for _, s := range []string{tok.String(), junction.LegacyTokens{IDToken: secretAccess}.GoString()} {
		require.NotContains(t, s, secretAccess)
	}

	_, ok = junction.LegacyTokens{ExpiresIn: "soon"}.ExpiresInSeconds()
	require.False(t, ok)
	_, err = c.Refresh(ctx, "", secretRefresh)
	require.ErrorIs(t, err, junction.ErrValidation, "no key: refused before sending")
}

// TestLegacyErrorTable is §10.3's mapping: only a sign-in's 401 is an
// invalid token; refresh messages decide invalid user or reauthentication;
// the Junction detail body means nothing to the legacy endpoints.
func TestLegacyErrorTable(t *testing.T) {
	envelope := func(msg string) string {
		return `{"error":{"code":400,"message":"` + msg + `","status":"INVALID_ARGUMENT"}}`
	}
	tests := []struct {
		name     string
		signIn   bool
		status   int
		body     string
		kind     error
		envelope bool
	}{
		{"sign-in 401", true, 401, envelope("INVALID_CUSTOM_TOKEN"), junction.ErrInvalidToken, true},
		{"sign-in 400 is a network error", true, 400, envelope("INVALID_CUSTOM_TOKEN"), junction.ErrValidation, true},
		{"sign-in 400 user disabled is still a network error", true, 400, envelope("USER_DISABLED"), junction.ErrValidation, true},
		{"sign-in 403", true, 403, envelope("PERMISSION_DENIED"), junction.ErrForbidden, true},
		{"sign-in 500", true, 500, envelope("INTERNAL"), junction.ErrServer, false},
		{"refresh user not found", false, 400, envelope("USER_NOT_FOUND"), junction.ErrInvalidToken, true},
		{"refresh user disabled", false, 400, envelope("USER_DISABLED"), junction.ErrInvalidToken, true},
		{"refresh token expired", false, 400, envelope("TOKEN_EXPIRED"), junction.ErrReauthenticationRequired, true},
		{"refresh invalid refresh token", false, 400, envelope("INVALID_REFRESH_TOKEN"), junction.ErrReauthenticationRequired, true},
		{"refresh other message", false, 400, envelope("INVALID_GRANT_TYPE"), junction.ErrValidation, true},
		{"refresh 401 is not an invalid token", false, 401, envelope("API_KEY_INVALID"), junction.ErrUnauthorized, true},
		{"refresh junction body", false, 400, `{"detail":{"error_type":"invalid_token"}}`, junction.ErrValidation, false},
		{"refresh envelope without status", false, 400, `{"error":{"message":"USER_NOT_FOUND"}}`, junction.ErrValidation, false},
		{"refresh not JSON", false, 400, `<html>`, junction.ErrValidation, false},
		{"refresh 503", false, 503, envelope("UNAVAILABLE"), junction.ErrServer, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(reply(tt.status, nil, tt.body))
			defer srv.Close()
			c := junction.NewLegacyAuthClient(srv.URL)
			var err error
			if tt.signIn {
				_, err = c.SignInWithCustomToken(context.Background(), secretPublicKey, secretJWT, "t")
			} else {
				_, err = c.Refresh(context.Background(), secretPublicKey, secretRefresh)
			}
			require.ErrorIs(t, err, tt.kind)
			var ae *junction.APIError
			require.True(t, errors.As(err, &ae))
			require.Equal(t, tt.status, ae.Status)
			require.Equal(t, tt.envelope, ae.LegacyEnvelope)
			require.Equal(t, tt.kind == junction.ErrServer, reconcile.IsTransient(err))
			for _, s := range []string{secretPublicKey, secretJWT, secretRefresh} {
				require.NotContains(t, err.Error(), s)
			}
		})
	}
}

// TestLegacyAPIBaseURL: the tryvital.io hosts of §7.
func TestLegacyAPIBaseURL(t *testing.T) {
	require.Equal(t, "https://api.tryvital.io", junction.LegacyAPIBaseURL(fsm.Production, fsm.US))
	require.Equal(t, "https://api.eu.tryvital.io", junction.LegacyAPIBaseURL(fsm.Production, fsm.EU))
	require.Equal(t, "https://api.sandbox.tryvital.io", junction.LegacyAPIBaseURL(fsm.Sandbox, fsm.US))
	require.Equal(t, "https://api.sandbox.eu.tryvital.io", junction.LegacyAPIBaseURL(fsm.Sandbox, fsm.EU))
	require.Equal(t, "https://api.dev.eu.tryvital.io", junction.LegacyAPIBaseURL(fsm.Dev, fsm.EU))
	require.Equal(t, "", junction.LegacyAPIBaseURL("local", fsm.EU))
	require.Equal(t, "", junction.LegacyAPIBaseURL(fsm.Dev, "ap"))
	require.True(t, strings.HasPrefix(junction.LegacyAPIBaseURL(fsm.Dev, fsm.US), "https://api.dev."))
}

// TestLegacyTransportErrorHidesTheKey: a transport error names the URL
// without its ?key= query.
func TestLegacyTransportErrorHidesTheKey(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens any more
	_, err := junction.NewLegacyAuthClient(base).Refresh(context.Background(), secretPublicKey, secretRefresh)
	require.ErrorIs(t, err, junction.ErrTransport)
	require.NotContains(t, err.Error(), secretPublicKey)
	require.NotContains(t, err.Error(), secretRefresh)
	require.Contains(t, err.Error(), "securetoken.googleapis.com/v1/token")
}
