package emulator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
)

// legacyWorld is a stack with a user and a Sign-In Token for it, and a
// legacy auth client whose base is the emulator (Firebase emulator
// addressing, reference §10.3).
type legacyWorld struct {
	s      *emulatortest.Stack
	legacy *junction.LegacyAuthClient
	uid    string
	tok    junction.SignInToken
}

func newLegacyWorld(t *testing.T, opts ...emulator.Option) *legacyWorld {
	t.Helper()
	s := emulatortest.NewStack(opts...)
	k, tok := s.SignedUpUser(t, "alice")
	return &legacyWorld{s: s, uid: k.UserID, tok: tok,
		legacy: junction.NewLegacyAuthClient(s.APIURL, s.JunctionOptions()...)}
}

func (w *legacyWorld) signIn(t *testing.T) junction.LegacyTokens {
	t.Helper()
	got, err := w.legacy.SignInWithCustomToken(context.Background(), w.tok.PublicKey, w.tok.UserToken, w.tok.Claims.TenantID)
	require.NoError(t, err)
	return got
}

// TestLegacyExchange: a minted Sign-In Token's user_token is a custom token
// the legacy sign-in accepts with the token's public key and tenant; its ID
// token reaches the user's API; Secure Token refreshes it with a string
// expires_in.
func TestLegacyExchange(t *testing.T) {
	w := newLegacyWorld(t)
	ctx := context.Background()
	require.Equal(t, w.s.Emulator.PublicAPIKey(), w.tok.PublicKey)
	got := w.signIn(t)
	n, ok := got.ExpiresInSeconds()
	require.True(t, ok)
	require.Equal(t, int(emulator.DefaultAccessTTL.Seconds()), n)

	uc := junction.NewUserClient(w.s.APIURL, w.s.JunctionOptions()...)
	u, err := uc.GetUser(ctx, got.IDToken, w.uid)
	require.NoError(t, err)
	require.Equal(t, w.uid, u.UserID)

	again, err := w.legacy.Refresh(ctx, w.tok.PublicKey, got.RefreshToken)
	require.NoError(t, err)
	require.NotEqual(t, got.IDToken, again.IDToken)
	require.Equal(t, got.RefreshToken, again.RefreshToken, "Secure Token keeps the session's refresh token")
	third, err := w.legacy.Refresh(ctx, w.tok.PublicKey, got.RefreshToken)
	require.NoError(t, err, "the refresh token stays valid")
	require.Equal(t, got.RefreshToken, third.RefreshToken)
	_, err = uc.GetUser(ctx, again.IDToken, w.uid)
	require.NoError(t, err)
	require.Equal(t, 1, w.s.Emulator.Requests(emulator.RouteLegacySignIn))
	require.Equal(t, 2, w.s.Emulator.Requests(emulator.RouteLegacyRefresh))
}

// TestLegacyErrors: each failure answers the Firebase envelope with the
// message the SDKs read (§10.3), so the legacy client classifies it.
func TestLegacyErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("wrong key", func(t *testing.T) {
		w := newLegacyWorld(t)
		_, err := w.legacy.SignInWithCustomToken(ctx, "other-key", w.tok.UserToken, w.tok.Claims.TenantID)
		require.ErrorIs(t, err, junction.ErrValidation)
		_, err = w.legacy.Refresh(ctx, "other-key", w.signIn(t).RefreshToken)
		require.ErrorIs(t, err, junction.ErrValidation)
	})
	t.Run("bad custom token is a 400", func(t *testing.T) {
		// Firebase answers INVALID_CUSTOM_TOKEN with 400, which the legacy
		// SDKs read as a plain error: only a 401 is invalidSignInToken.
		w := newLegacyWorld(t)
		_, err := w.legacy.SignInWithCustomToken(ctx, w.tok.PublicKey, w.tok.UserToken+"x", w.tok.Claims.TenantID)
		require.ErrorIs(t, err, junction.ErrValidation)
		require.NotErrorIs(t, err, junction.ErrInvalidToken)
		var apiErr *junction.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusBadRequest, apiErr.Status)
		require.Equal(t, "INVALID_CUSTOM_TOKEN", apiErr.Message)
	})
	t.Run("wrong tenant is a 400", func(t *testing.T) {
		w := newLegacyWorld(t)
		_, err := w.legacy.SignInWithCustomToken(ctx, w.tok.PublicKey, w.tok.UserToken, "other-tenant")
		require.ErrorIs(t, err, junction.ErrValidation)
	})
	t.Run("deleted user", func(t *testing.T) {
		w := newLegacyWorld(t)
		rt := w.signIn(t).RefreshToken
		require.NoError(t, w.s.Emulator.DeleteUser(w.uid))
		_, err := w.legacy.Refresh(ctx, w.tok.PublicKey, rt)
		require.ErrorIs(t, err, junction.ErrInvalidToken, "USER_NOT_FOUND")
		_, err = w.legacy.SignInWithCustomToken(ctx, w.tok.PublicKey, w.tok.UserToken, w.tok.Claims.TenantID)
		require.ErrorIs(t, err, junction.ErrValidation, "a custom token for a deleted user is a 400 too")
	})
	t.Run("revoked", func(t *testing.T) {
		w := newLegacyWorld(t)
		rt := w.signIn(t).RefreshToken
		w.s.Emulator.RevokeRefreshTokens(w.uid)
		_, err := w.legacy.Refresh(ctx, w.tok.PublicKey, rt)
		require.ErrorIs(t, err, junction.ErrReauthenticationRequired, "TOKEN_EXPIRED")
	})
	t.Run("unknown refresh token", func(t *testing.T) {
		w := newLegacyWorld(t)
		_, err := w.legacy.Refresh(ctx, w.tok.PublicKey, "lrt_unknown")
		require.ErrorIs(t, err, junction.ErrReauthenticationRequired, "INVALID_REFRESH_TOKEN")
	})
	t.Run("envelope", func(t *testing.T) {
		w := newLegacyWorld(t)
		req, _ := http.NewRequest(http.MethodPost, w.s.APIURL+"/securetoken.googleapis.com/v1/token?key="+url.QueryEscape(w.tok.PublicKey),
			strings.NewReader("grant_type=password"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := w.s.HTTP.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		var body map[string]map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		require.Equal(t, "INVALID_GRANT_TYPE", body["error"]["message"])
		require.Equal(t, "INVALID_ARGUMENT", body["error"]["status"])
		require.EqualValues(t, 400, body["error"]["code"])
	})
}

// TestLegacyRequestFaults: the legacy routes check the ?key= first, then
// the body's media type, size and syntax, and answer each fault with the
// Firebase envelope's message, status and code.
func TestLegacyRequestFaults(t *testing.T) {
	w := newLegacyWorld(t)
	key := url.QueryEscape(w.tok.PublicKey)
	signIn := "/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken?key="
	refresh := "/securetoken.googleapis.com/v1/token?key="
	const form, js = "application/x-www-form-urlencoded", "application/json"
	big := strings.Repeat("a", 65<<10)
	okSignIn := `{"returnSecureToken":true,"token":"` + w.tok.UserToken + `","tenantId":"` + w.tok.Claims.TenantID + `"}`
	for _, tc := range []struct {
		name, path, contentType, body string
		status                        int
		message, grpc                 string
	}{
		{"sign-in: wrong key", signIn + "other", js, okSignIn, 400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT"},
		{"sign-in: wrong key before a large body", signIn + "other", js, big, 400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT"},
		{"sign-in: form body", signIn + key, form, okSignIn, 400, "INVALID_REQUEST", "INVALID_ARGUMENT"},
		{"sign-in: too large", signIn + key, js, big, 413, "request body too large", "FAILED_PRECONDITION"},
		{"sign-in: not JSON", signIn + key, js, "{", 400, "INVALID_REQUEST", "INVALID_ARGUMENT"},
		{"sign-in: no token", signIn + key, js, `{"tenantId":"t"}`, 400, "INVALID_REQUEST", "INVALID_ARGUMENT"},
		{"sign-in: other tenant", signIn + key, js, strings.Replace(okSignIn, w.tok.Claims.TenantID, "other", 1), 400, "TENANT_ID_MISMATCH", "INVALID_ARGUMENT"},
		{"refresh: wrong key", refresh + "other", form, "grant_type=refresh_token&refresh_token=x", 400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT"},
		{"refresh: JSON body", refresh + key, js, `{"grant_type":"refresh_token"}`, 400, "INVALID_REQUEST", "INVALID_ARGUMENT"},
		{"refresh: too large", refresh + key, form, "refresh_token=" + big, 413, "request body too large", "FAILED_PRECONDITION"},
		{"refresh: not a form", refresh + key, form, "grant_type=%zz", 400, "INVALID_REQUEST", "INVALID_ARGUMENT"},
		{"refresh: no refresh token", refresh + key, form, "grant_type=refresh_token", 400, "MISSING_REFRESH_TOKEN", "INVALID_ARGUMENT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, w.s.APIURL+tc.path, strings.NewReader(tc.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", tc.contentType)
			resp, err := w.s.HTTP.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tc.status, resp.StatusCode)
			var body junction.LegacyErrorBody
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			require.Equal(t, junction.LegacyError{Code: tc.status, Message: tc.message, Status: tc.grpc}, body.Error)
		})
	}
}

// TestLegacyLostRefreshAnswer: a Secure Token refresh whose answer is lost
// leaves the stored refresh token good, so the next refresh succeeds (the
// Junction endpoint, which rotates, answers invalid_token instead:
// TestLoseResponseNext).
func TestLegacyLostRefreshAnswer(t *testing.T) {
	ctx := context.Background()
	w := newLegacyWorld(t)
	rt := w.signIn(t).RefreshToken
	w.s.Emulator.LoseResponseNext(emulator.RouteLegacyRefresh, 1)
	_, err := w.legacy.Refresh(ctx, w.tok.PublicKey, rt)
	require.ErrorIs(t, err, junction.ErrTransport)
	got, err := w.legacy.Refresh(ctx, w.tok.PublicKey, rt)
	require.NoError(t, err)
	require.Equal(t, rt, got.RefreshToken)
}

// TestLegacyRefreshAtJunction is the knob of §10.4: whether /v1/token
// honours a legacy refresh token after an upgrade across the cutover.
func TestLegacyRefreshAtJunction(t *testing.T) {
	ctx := context.Background()
	for _, honour := range []bool{false, true} {
		var opts []emulator.Option
		if honour {
			opts = append(opts, emulator.WithLegacyRefreshHonoured(true))
		}
		w := newLegacyWorld(t, opts...)
		rt := w.signIn(t).RefreshToken
		auth := junction.NewAuthClient(w.s.AuthURL, w.s.JunctionOptions()...)
		got, err := auth.Refresh(ctx, rt)
		if !honour {
			require.ErrorIs(t, err, junction.ErrInvalidToken, "default: a legacy refresh token reads as a deleted user")
			continue
		}
		require.NoError(t, err)
		require.NotEqual(t, rt, got.RefreshToken, "rotated into a Junction refresh token")
		_, err = auth.Refresh(ctx, got.RefreshToken)
		require.NoError(t, err)
		_, err = w.legacy.Refresh(ctx, w.tok.PublicKey, got.RefreshToken)
		require.ErrorIs(t, err, junction.ErrReauthenticationRequired, "a Junction token is unknown to Secure Token")
	}
}

// TestTrailingSlashUsers: /v2/user/ is /v2/user (§10.12).
func TestTrailingSlashUsers(t *testing.T) {
	h := newHarness(t)
	r := h.api(http.MethodPost, "/v2/user/", `{"client_user_id":"slash"}`)
	require.Equal(t, http.StatusOK, r.status)
	r = h.api(http.MethodGet, "/v2/user/", "")
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, string(r.body), `"slash"`)
}

// TestLoseResponseNext: the request is served in full (the refresh token
// rotates) but its answer is lost; other routes and later requests are
// unaffected.
func TestLoseResponseNext(t *testing.T) {
	ctx := context.Background()
	w := newLegacyWorld(t)
	auth := junction.NewAuthClient(w.s.AuthURL, w.s.JunctionOptions()...)
	got, err := auth.Exchange(ctx, w.tok.UserToken)
	require.NoError(t, err)
	w.s.Emulator.LoseResponseNext(emulator.RouteToken, 1)
	_, err = auth.Refresh(ctx, got.RefreshToken)
	require.ErrorIs(t, err, junction.ErrTransport)
	_, err = auth.Refresh(ctx, got.RefreshToken)
	require.ErrorIs(t, err, junction.ErrInvalidToken, "the lost refresh rotated the token")
	require.Equal(t, 3, w.s.Emulator.Requests(emulator.RouteToken))
	require.Panics(t, func() { w.s.Emulator.LoseResponseNext("GET /nope", 1) })
}
