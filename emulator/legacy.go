package emulator

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/vitalsync/vitalsync/adapters/junction"
)

// The legacy Firebase / GCIP routes that iOS ≤1.8.1 and Android ≤4.2.0 use
// (reference §10.3), served as Firebase emulators serve them: the real host
// is the first path segment, so a client's legacy base URL is the
// emulator's URL.
const (
	RouteLegacySignIn  Route = "POST /" + junction.IdentityToolkitHost + junction.LegacySignInPath
	RouteLegacyRefresh Route = "POST /" + junction.SecureTokenHost + junction.LegacyRefreshPath
)

// The Firebase error messages the emulator answers, each with Firebase's
// status: its Auth service answers every failed assertion, a bad custom
// token included, with 400 (firebase-tools' Auth emulator: assert throws
// BadRequestError; docs/reference/profiles.md cites it). The SDKs read only
// USER_DISABLED/USER_NOT_FOUND and TOKEN_EXPIRED/INVALID_REFRESH_TOKEN on a
// refresh, and only the status 401 on a sign-in (§10.3), so a bad custom
// token reaches a legacy SDK as a plain error, not invalidSignInToken.
const (
	legacyInvalidCustomToken = "INVALID_CUSTOM_TOKEN"
	legacyTenantMismatch     = "TENANT_ID_MISMATCH"
	legacyInvalidAPIKey      = "API key not valid. Please pass a valid API key."
	legacyBadRequest         = "INVALID_REQUEST"
	legacyInvalidGrantType   = "INVALID_GRANT_TYPE"
	legacyMissingRefresh     = "MISSING_REFRESH_TOKEN"
)

// matchLegacy routes the two legacy paths; segs is the escaped path split
// at "/".
func matchLegacy(method string, segs []string) (match, bool) {
	var r Route
	switch {
	case len(segs) == 3 && segs[0] == junction.IdentityToolkitHost && segs[1] == "v1" &&
		segs[2] == "accounts:signInWithCustomToken":
		r = RouteLegacySignIn
	case len(segs) == 3 && segs[0] == junction.SecureTokenHost && segs[1] == "v1" && segs[2] == "token":
		r = RouteLegacyRefresh
	default:
		return match{}, false
	}
	if method != http.MethodPost {
		return match{allow: "POST"}, true
	}
	return match{route: r}, true
}

// legacyError answers the Firebase error envelope
// {"error":{"code":status,"message":msg,"status":grpcStatus}}.
func legacyError(w http.ResponseWriter, status int, msg string) {
	grpc := "INVALID_ARGUMENT"
	switch status {
	case http.StatusUnauthorized:
		grpc = "UNAUTHENTICATED"
	case http.StatusRequestEntityTooLarge:
		grpc = "FAILED_PRECONDITION"
	}
	writeJSON(w, status, junction.LegacyErrorBody{Error: junction.LegacyError{Code: status, Message: msg, Status: grpc}})
}

// legacyRequest checks what both legacy routes require, the ?key= query
// (the public Web API key the emulator's Sign-In Tokens carry) and then a
// body that read finds nothing wrong with, and answers the Firebase error
// when they do not pass.
func legacyRequest(w http.ResponseWriter, r *http.Request, read func() bodyFault) bool {
	if r.URL.Query().Get("key") != signInPublicKey {
		legacyError(w, http.StatusBadRequest, legacyInvalidAPIKey)
		return false
	}
	switch read() {
	case bodyOK:
		return true
	case bodyTooLarge:
		legacyError(w, http.StatusRequestEntityTooLarge, "request body too large")
	default:
		legacyError(w, http.StatusBadRequest, legacyBadRequest)
	}
	return false
}

// errTenantMismatch: a legacy sign-in names another tenant than its custom
// token's.
var errTenantMismatch = errors.New("emulator: tenant_id does not match the custom token's")

// serveLegacySignIn serves accounts:signInWithCustomToken: the custom token
// (a Sign-In Token's user_token) and its tenant for an ID token and a
// Secure Token refresh token.
func (e *Emulator) serveLegacySignIn(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if !legacyRequest(w, r, func() (f bodyFault) { body, f = readJSONBody(w, r); return f }) {
		return
	}
	var req junction.LegacySignInRequest
	if json.Unmarshal(body, &req) != nil || req.Token == "" {
		legacyError(w, http.StatusBadRequest, legacyBadRequest)
		return
	}
	tenant := func(c junction.Claims) error {
		if req.TenantID != c.TenantID {
			return errTenantMismatch
		}
		return nil
	}
	switch err := e.signIn(req.Token, tenant, func(u *user) { e.issueLegacy(w, u, "") }); {
	case err == nil:
	case errors.Is(err, errNoSigningKey):
		legacyError(w, http.StatusInternalServerError, "no signing key")
	case errors.Is(err, errTenantMismatch):
		legacyError(w, http.StatusBadRequest, legacyTenantMismatch)
	default:
		legacyError(w, http.StatusBadRequest, legacyInvalidCustomToken)
	}
}

// serveLegacyRefresh serves the Secure Token v1/token: a legacy refresh
// token for a new ID token. Unlike /v1/token it does not rotate: the answer
// carries the same refresh token, which stays valid (Secure Token keeps a
// session's refresh token; firebase-tools' Auth emulator encodes the same
// one for every refresh of a session), so a refresh whose answer is lost
// leaves the SDK's stored token good.
func (e *Emulator) serveLegacyRefresh(w http.ResponseWriter, r *http.Request) {
	if !legacyRequest(w, r, func() bodyFault { return readForm(w, r) }) {
		return
	}
	if r.PostForm.Get("grant_type") != junction.GrantRefreshToken {
		legacyError(w, http.StatusBadRequest, legacyInvalidGrantType)
		return
	}
	token := r.PostForm.Get("refresh_token")
	if token == "" {
		legacyError(w, http.StatusBadRequest, legacyMissingRefresh)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	g, u := e.refreshSession(token)
	switch {
	case g == nil, !g.legacy, g.state == refreshRotated: // rotated by /v1/token (§10.4)
		legacyError(w, http.StatusBadRequest, junction.LegacyInvalidRefreshToken)
		return
	case u == nil, g.state == refreshUserDeleted:
		// A real GCIP deployment answers USER_NOT_FOUND (§10.3).
		legacyError(w, http.StatusBadRequest, junction.LegacyUserNotFound)
		return
	case g.state == refreshRevoked:
		legacyError(w, http.StatusBadRequest, junction.LegacyTokenExpired)
		return
	}
	e.issueLegacy(w, u, token)
}

// issueLegacy answers a new ID token for u with refresh, the refresh token
// a refresh keeps, or for a sign-in (refresh "") a new Secure Token refresh
// token, in the sign-in's camelCase or the refresh's snake_case. The caller
// holds e.mu.
func (e *Emulator) issueLegacy(w http.ResponseWriter, u *user, refresh string) {
	signIn := refresh == ""
	access := e.newToken("id_")
	e.access[access] = &accessGrant{userID: u.id, expires: e.now().Add(e.cfg.accessTTL)}
	u.access = append(u.access, access)
	e.logAccess(access)
	if signIn {
		refresh = e.newToken("lrt_")
		e.refresh[refresh] = &refreshGrant{userID: u.id, legacy: true}
		u.refresh = append(u.refresh, refresh)
		e.logRefresh(refresh)
	}
	expires := strconv.Itoa(int(e.cfg.accessTTL / time.Second))
	if signIn {
		writeJSON(w, http.StatusOK, junction.LegacySignInResponse{IDToken: access, RefreshToken: refresh, ExpiresIn: expires})
		return
	}
	writeJSON(w, http.StatusOK, junction.LegacyRefreshResponse{IDToken: access, RefreshToken: refresh, ExpiresIn: expires})
}

// WithLegacyRefreshHonoured decides whether the Junction token endpoint
// (/v1/token) honours a refresh token issued by the legacy Secure Token
// endpoint, as an app that upgrades across the cutover posts it there
// (reference §10.4; the real service's answer is not public). false, the
// default, answers 400 invalid_token, which the SDK reads as a deleted user;
// true refreshes it like one of its own (rotating it into a Junction
// refresh token).
func WithLegacyRefreshHonoured(honour bool) Option {
	return func(c *config) { c.legacyRefreshHonoured = honour }
}

// PublicAPIKey returns the public Web API key that the emulator's Sign-In
// Tokens carry and its legacy routes require as ?key= (§10.3).
func (e *Emulator) PublicAPIKey() string { return signInPublicKey }
