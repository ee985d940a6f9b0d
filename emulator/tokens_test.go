package emulator_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/fsm"
)

// signInToken mints a raw Sign-In Token through the API.
func (h *harness) signInToken(userID string) string {
	h.t.Helper()
	r := h.api("POST", "/v2/user/"+userID+"/sign_in_token", "")
	require.Equal(h.t, http.StatusOK, r.status, "body %s", r.body)
	resp := decode[junction.SignInTokenResponse](h.t, r)
	require.Equal(h.t, strings.ToLower(userID), resp.UserID)
	return resp.SignInToken
}

// userJWT mints a Sign-In Token and returns its JWT, what the SDKs send.
func (h *harness) userJWT(userID string) string {
	h.t.Helper()
	st, err := junction.DecodeSignInToken(h.signInToken(userID), junction.DecodeOptions{})
	require.NoError(h.t, err)
	return st.UserToken
}

func (h *harness) exchange(jwt string) response {
	h.t.Helper()
	return h.form("/auth/v1/token", url.Values{
		"grant_type":         {junction.GrantTokenExchange},
		"subject_token_type": {junction.SubjectTokenTypeSignIn},
		"subject_token":      {jwt},
	})
}

func (h *harness) refresh(refreshToken string) response {
	h.t.Helper()
	return h.form("/auth/v1/token", url.Values{
		"grant_type":    {junction.GrantRefreshToken},
		"refresh_token": {refreshToken},
	})
}

// tokens decodes a successful token response and checks its shape.
func tokens(t *testing.T, r response) junction.TokenResponse {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "body %s", r.body)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.body, &raw))
	require.Regexp(t, `^[0-9]+$`, string(raw["expires_in"]), "expires_in is a JSON integer")
	tr := decode[junction.TokenResponse](t, r)
	require.NotEmpty(t, tr.AccessToken)
	require.NotEmpty(t, tr.RefreshToken)
	require.Equal(t, "no-store", r.header.Get("Cache-Control"))
	return tr
}

// bearer gets a user with an access token.
func (h *harness) bearer(accessToken, userID string) response {
	h.t.Helper()
	return h.request("GET", "/v2/user/"+userID, nil, "Authorization", "Bearer "+accessToken)
}

func TestSignInToken(t *testing.T) {
	h := newHarness(t, emulator.WithTokenTTL(10*time.Minute), emulator.WithEnvironment(fsm.Sandbox, fsm.EU))
	h.em.Advance(time.Second)
	id := h.createUser("alice")
	raw := h.signInToken(strings.ToUpper(id))

	// Strict (iOS) decoding accepts it: standard base64, no '-'/'_' in the
	// JWT's segments.
	st, err := junction.DecodeSignInToken(raw, junction.DecodeOptions{})
	require.NoError(t, err)
	require.NoError(t, junction.VerifySignInToken(st, h.em.PublicKey()))
	require.NotEmpty(t, st.PublicKey)
	c := st.Claims
	require.Equal(t, id, c.UserID)
	require.Equal(t, h.em.TeamID(), c.TeamID)
	require.Equal(t, junction.IssuerFor(fsm.Sandbox, fsm.EU), c.Issuer)
	require.Equal(t, fsm.Sandbox, c.Environment)
	require.Equal(t, fsm.EU, c.Region)
	require.NotEmpty(t, c.TenantID)
	require.True(t, c.IssuedAt.Equal(h.em.Now()), "iat %v, now %v", c.IssuedAt, h.em.Now())
	require.Equal(t, 10*time.Minute, c.ExpiresAt.Sub(c.IssuedAt))

	// API key only.
	tr := tokens(t, h.exchange(st.UserToken))
	r := h.request("POST", "/v2/user/"+id+"/sign_in_token", nil, "Authorization", "Bearer "+tr.AccessToken)
	require.Equal(t, http.StatusForbidden, r.status)
	require.Equal(t, http.StatusUnauthorized, h.request("POST", "/v2/user/"+id+"/sign_in_token", nil).status)
	require.Equal(t, http.StatusNotFound, h.api("POST", "/v2/user/00000000-0000-4000-8000-000000000000/sign_in_token", "").status)
	require.Equal(t, "uuid_parsing", validation(t, h.api("POST", "/v2/user/nope/sign_in_token", ""))[0].Type)
}

func TestTokenExchange(t *testing.T) {
	h := newHarness(t, emulator.WithAccessTTL(90*time.Minute+500*time.Millisecond))
	id := h.createUser("alice")
	jwt := h.userJWT(id)

	tr := tokens(t, h.exchange(jwt))
	require.Equal(t, 5400, tr.ExpiresIn, "expires_in is the access TTL in whole seconds")
	require.Equal(t, http.StatusOK, h.bearer(tr.AccessToken, id).status)

	// A sign-in token may be exchanged again until it expires; each
	// exchange issues new tokens.
	tr2 := tokens(t, h.exchange(jwt))
	require.NotEqual(t, tr.AccessToken, tr2.AccessToken)
	require.NotEqual(t, tr.RefreshToken, tr2.RefreshToken)

	// Both paths serve the token endpoint.
	r := h.form("/v1/token", url.Values{
		"grant_type":         {junction.GrantTokenExchange},
		"subject_token_type": {junction.SubjectTokenTypeSignIn},
		"subject_token":      {jwt},
	})
	tokens(t, r)
	require.Equal(t, 3, h.em.Requests(emulator.RouteToken))
}

func TestTokenExchangeRejects(t *testing.T) {
	h := newHarness(t, emulator.WithTokenTTL(time.Hour))
	id := h.createUser("alice")
	jwt := h.userJWT(id)
	segs := strings.Split(jwt, ".")

	// Tokens of another team, or another environment, signed with the same
	// key, are not this emulator's.
	otherTeam := newHarness(t)
	otherEnv := newHarness(t, emulator.WithTeamID(h.em.TeamID()), emulator.WithEnvironment(fsm.Production, fsm.US))
	foreignID := otherTeam.createUser("alice")
	otherEnvID := otherEnv.createUser("alice")
	foreignJWT := otherTeam.userJWT(foreignID)
	otherEnvJWT := otherEnv.userJWT(otherEnvID)

	// A payload with a changed uid no longer matches the signature.
	payload, err := base64.RawURLEncoding.DecodeString(segs[1])
	require.NoError(t, err)
	forged := bytes.Replace(payload, []byte(id), []byte(foreignID), 1)
	forgedJWT := segs[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + segs[2]

	deletedID := h.createUser("bob")
	deletedJWT := h.userJWT(deletedID)
	require.NoError(t, h.em.DeleteUser(deletedID))

	for _, tc := range []struct{ name, jwt string }{
		{"garbage", "not a jwt"},
		{"two segments", segs[0] + "." + segs[1]},
		{"forged payload", forgedJWT},
		{"no signature", segs[0] + "." + segs[1] + ".AAAA"},
		{"whole sign-in token instead of its JWT", h.signInToken(id)},
		{"another team", foreignJWT},
		{"another environment", otherEnvJWT},
		{"deleted user", deletedJWT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.exchange(tc.jwt)
			require.Equal(t, http.StatusBadRequest, r.status, "body %s", r.body)
			require.Equal(t, junction.ErrorTypeInvalidToken, errorType(t, r))
			require.JSONEq(t, `{"detail":{"error_type":"invalid_token"}}`, string(r.body))
		})
	}

	// Expiry follows the clock.
	h.em.Advance(time.Hour - time.Second)
	tokens(t, h.exchange(jwt))
	h.em.Advance(time.Second)
	r := h.exchange(jwt)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, junction.ErrorTypeInvalidToken, errorType(t, r))

	// Malformed requests.
	for _, tc := range []struct {
		name string
		form url.Values
		typ  string
	}{
		{"no grant", url.Values{}, "unsupported_grant_type"},
		{"password grant", url.Values{"grant_type": {"password"}}, "unsupported_grant_type"},
		{"wrong subject type", url.Values{"grant_type": {junction.GrantTokenExchange}, "subject_token_type": {"urn:ietf:params:oauth:token-type:jwt"}, "subject_token": {jwt}}, "invalid_request"},
		{"no subject token", url.Values{"grant_type": {junction.GrantTokenExchange}, "subject_token_type": {junction.SubjectTokenTypeSignIn}}, "invalid_request"},
		{"no refresh token", url.Values{"grant_type": {junction.GrantRefreshToken}}, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.form("/auth/v1/token", tc.form)
			require.Equal(t, http.StatusBadRequest, r.status)
			require.Equal(t, tc.typ, errorType(t, r))
		})
	}
	body := `{"grant_type":"` + junction.GrantTokenExchange + `"}`
	r = h.request("POST", "/auth/v1/token", strings.NewReader(body), "Content-Type", "application/json")
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, "invalid_request", errorType(t, r))
	r = h.request("POST", "/auth/v1/token", strings.NewReader("grant_type=%zz"), "Content-Type", "application/x-www-form-urlencoded")
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, "invalid_request", errorType(t, r))
}

func TestRefreshRotates(t *testing.T) {
	h := newHarness(t)
	id := h.createUser("alice")
	first := tokens(t, h.exchange(h.userJWT(id)))

	second := tokens(t, h.refresh(first.RefreshToken))
	require.NotEqual(t, first.RefreshToken, second.RefreshToken)
	require.NotEqual(t, first.AccessToken, second.AccessToken)
	require.Equal(t, http.StatusOK, h.bearer(second.AccessToken, id).status)

	// The rotated-out token is rejected with invalid_token; the current one
	// keeps working.
	r := h.refresh(first.RefreshToken)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, junction.ErrorTypeInvalidToken, errorType(t, r))
	third := tokens(t, h.refresh(second.RefreshToken))

	r = h.refresh("rt_unknown")
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, junction.ErrorTypeInvalidToken, errorType(t, r))

	// Refresh tokens do not expire.
	h.em.Advance(365 * 24 * time.Hour)
	tokens(t, h.refresh(third.RefreshToken))
}

func TestRevokeRefreshTokens(t *testing.T) {
	h := newHarness(t)
	alice, bob := h.createUser("alice"), h.createUser("bob")
	a1 := tokens(t, h.exchange(h.userJWT(alice)))
	a2 := tokens(t, h.exchange(h.userJWT(alice)))
	b := tokens(t, h.exchange(h.userJWT(bob)))

	h.em.RevokeRefreshTokens(strings.ToUpper(alice))
	h.em.RevokeRefreshTokens("unknown user")
	for _, rt := range []string{a1.RefreshToken, a2.RefreshToken} {
		r := h.refresh(rt)
		require.Equal(t, http.StatusBadRequest, r.status)
		require.JSONEq(t, `{"detail":{"error_type":"reauthentication_required"}}`, string(r.body))
	}
	require.Equal(t, http.StatusOK, h.bearer(a1.AccessToken, alice).status, "access tokens stay valid")
	tokens(t, h.refresh(b.RefreshToken))

	// A re-exchange with a fresh sign-in token recovers.
	a3 := tokens(t, h.exchange(h.userJWT(alice)))
	a3 = tokens(t, h.refresh(a3.RefreshToken))

	// Deletion is the stronger signal: every refresh token of a deleted
	// user, revoked or not, answers invalid_token.
	require.NoError(t, h.em.DeleteUser(alice))
	require.Equal(t, junction.ErrorTypeInvalidToken, errorType(t, h.refresh(a3.RefreshToken)))
	require.Equal(t, junction.ErrorTypeInvalidToken, errorType(t, h.refresh(a1.RefreshToken)))
}

func TestDeletionRevokesTokens(t *testing.T) {
	h := newHarness(t)
	id := h.createUser("alice")
	tr := tokens(t, h.exchange(h.userJWT(id)))
	require.NoError(t, h.em.DeleteUser(id))

	r := h.refresh(tr.RefreshToken)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.JSONEq(t, `{"detail":{"error_type":"invalid_token"}}`, string(r.body))
	require.Equal(t, http.StatusUnauthorized, h.bearer(tr.AccessToken, id).status)

	// Undo restores the user, not the tokens; a new sign-in works.
	require.Equal(t, http.StatusOK, h.api("POST", "/v2/user/undo_delete?user_id="+id, "").status)
	require.Equal(t, junction.ErrorTypeInvalidToken, errorType(t, h.refresh(tr.RefreshToken)))
	require.Equal(t, http.StatusUnauthorized, h.bearer(tr.AccessToken, id).status)
	tr = tokens(t, h.exchange(h.userJWT(id)))
	require.Equal(t, http.StatusOK, h.bearer(tr.AccessToken, id).status)
}

func TestBearerAccess(t *testing.T) {
	h := newHarness(t, emulator.WithAccessTTL(time.Hour))
	alice, bob := h.createUser("alice"), h.createUser("bob")
	tr := tokens(t, h.exchange(h.userJWT(alice)))

	r := h.bearer(tr.AccessToken, alice)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, alice, decode[junction.User](t, r).UserID)
	require.Equal(t, http.StatusOK, h.bearer(tr.AccessToken, strings.ToUpper(alice)).status)
	r = h.request("GET", "/v2/user/"+alice, nil, "Authorization", "bearer "+tr.AccessToken)
	require.Equal(t, http.StatusOK, r.status, "the scheme is case-insensitive")

	r = h.bearer(tr.AccessToken, bob)
	require.Equal(t, http.StatusForbidden, r.status)
	require.NotEmpty(t, detail(t, r))

	for _, path := range []string{"/v2/user", "/v2/user/resolve/alice"} {
		require.Equal(t, http.StatusForbidden, h.request("GET", path, nil, "Authorization", "Bearer "+tr.AccessToken).status, path)
	}
	require.Equal(t, http.StatusForbidden, h.request("DELETE", "/v2/user/"+alice, nil, "Authorization", "Bearer "+tr.AccessToken).status,
		"users cannot delete themselves")
	require.Equal(t, http.StatusForbidden, h.request("POST", "/v2/user/undo_delete?user_id="+alice, nil, "Authorization", "Bearer "+tr.AccessToken).status)
	require.Equal(t, http.StatusForbidden, h.request("POST", "/v2/user", strings.NewReader(`{"client_user_id":"x"}`), "Authorization", "Bearer "+tr.AccessToken).status)

	r = h.bearer("at_unknown", alice)
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.NotEmpty(t, r.header.Get("WWW-Authenticate"))
	require.Equal(t, http.StatusUnauthorized, h.request("GET", "/v2/user/"+alice, nil, "Authorization", "Bearer").status)

	// The access token expires after the access TTL; a refresh gives a new one.
	h.em.Advance(time.Hour - time.Second)
	require.Equal(t, http.StatusOK, h.bearer(tr.AccessToken, alice).status)
	h.em.Advance(time.Second)
	require.Equal(t, http.StatusUnauthorized, h.bearer(tr.AccessToken, alice).status)
	tr = tokens(t, h.refresh(tr.RefreshToken))
	require.Equal(t, http.StatusOK, h.bearer(tr.AccessToken, alice).status)

	// A valid API key wins over a Bearer token; a wrong one fails.
	r = h.request("GET", "/v2/user/"+bob, nil, "Authorization", "Bearer "+tr.AccessToken, "X-Vital-API-Key", h.em.APIKey())
	require.Equal(t, http.StatusOK, r.status)
	r = h.request("GET", "/v2/user/"+alice, nil, "Authorization", "Bearer "+tr.AccessToken, "X-Vital-API-Key", "wrong")
	require.Equal(t, http.StatusUnauthorized, r.status)
}

// Two Sign-In Tokens minted in the same second for the same user differ
// (their jti), and each is exchangeable.
func TestSignInTokensAreUnique(t *testing.T) {
	h := newHarness(t)
	id := h.createUser("alice")
	seen := map[string]bool{}
	ids := map[string]bool{}
	for range 5 {
		raw := h.signInToken(id) // the default clock stands still
		require.False(t, seen[raw], "a token minted twice")
		seen[raw] = true
		st, err := junction.DecodeSignInToken(raw, junction.DecodeOptions{})
		require.NoError(t, err)
		require.Regexp(t, `^[0-9a-f]{32}$`, st.Claims.ID)
		require.False(t, ids[st.Claims.ID], "a jti reused")
		ids[st.Claims.ID] = true
		tokens(t, h.exchange(st.UserToken))
	}
}

// The token endpoint refuses an oversized body with 413 and a JSON body.
func TestTokenEndpointBodyBound(t *testing.T) {
	h := newHarness(t)
	r := h.form("/auth/v1/token", url.Values{
		"grant_type":    {junction.GrantRefreshToken},
		"refresh_token": {strings.Repeat("r", emulator.MaxBody)},
	})
	require.Equal(t, http.StatusRequestEntityTooLarge, r.status, "body %s", r.body)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	var body map[string]any
	require.NoError(t, json.Unmarshal(r.body, &body))
	require.NotEmpty(t, body["detail"])
}
