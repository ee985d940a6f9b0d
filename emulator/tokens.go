package emulator

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/adapters/junction"
)

// Values the emulator puts into Sign-In Tokens and error bodies.
const (
	// signInPublicKey is the envelope's public_key (the legacy Firebase Web
	// API key), which current SDKs store but never send.
	signInPublicKey = "emulator-public-api-key"
	// tenantID is the tenant_id claim (the legacy GCIP tenant).
	tenantID = "emulator-tenant"
	// errorTypeInvalidRequest is the error_type of the create-user conflict.
	errorTypeInvalidRequest = "INVALID_REQUEST"
	// OAuth error types of malformed token requests.
	errorTypeBadRequest       = "invalid_request"
	errorTypeUnsupportedGrant = "unsupported_grant_type"
)

// errorDetail is the object form of an error body's "detail".
type errorDetail = junction.ErrorDetail

// accessGrant is an issued access token.
type accessGrant struct {
	userID  string
	expires time.Time
}

// refreshState is what became of a refresh token.
type refreshState int

const (
	refreshActive      refreshState = iota
	refreshRotated                  // replaced by a refresh: invalid_token
	refreshUserDeleted              // its user was deleted: invalid_token
	refreshRevoked                  // RevokeRefreshTokens: reauthentication_required
)

// refreshGrant is an issued refresh token.
type refreshGrant struct {
	userID string
	state  refreshState
	// legacy: issued by the legacy Secure Token routes (legacy.go).
	legacy bool
}

// refreshStateNames are the refresh states as persisted and listed: stable
// strings.
var refreshStateNames = map[refreshState]string{
	refreshActive:      "active",
	refreshRotated:     "rotated",
	refreshUserDeleted: "user-deleted",
	refreshRevoked:     "revoked",
}

// String returns the state's stable name.
func (s refreshState) String() string { return refreshStateNames[s] }

// parseRefreshState returns the state named s.
func parseRefreshState(s string) (refreshState, bool) {
	for k, v := range refreshStateNames {
		if v == s {
			return k, true
		}
	}
	return 0, false
}

// maxMinted is how many minted Sign-In Tokens the emulator remembers (for
// the state listing and the web UI); older ones are forgotten.
const maxMinted = 1000

// mintRecord is a minted Sign-In Token as the emulator remembers it: its
// jti, user and times, never the token.
type mintRecord struct {
	id       string
	userID   string
	issuedAt time.Time
	expires  time.Time
}

// remember records a minted token. The caller holds e.mu.
func (e *Emulator) remember(m mintRecord) {
	if len(e.minted) == maxMinted {
		e.minted = e.minted[1:]
	}
	e.minted = append(e.minted, m)
	e.logMint(m)
}

// tokenError answers a token-endpoint error {"detail":{"error_type":…}}.
func tokenError(w http.ResponseWriter, errorType, msg string) {
	writeJSON(w, http.StatusBadRequest, struct {
		Detail errorDetail `json:"detail"`
	}{errorDetail{ErrorType: errorType, ErrorMessage: msg}})
}

// serveSignInToken serves POST /v2/user/{user_id}/sign_in_token.
func (e *Emulator) serveSignInToken(w http.ResponseWriter, r *http.Request, id string) {
	if _, ok := e.authenticate(w, r, false); !ok || !userIDValid(w, []any{"path", "user_id"}, id) {
		return
	}
	key, err := e.signingKey()
	if err != nil {
		writeDetail(w, http.StatusInternalServerError, "no signing key")
		return
	}
	e.mu.Lock()
	u := e.activeUser(id)
	now := e.now()
	jti := hex.EncodeToString(e.randomBytes(16))
	teamID := e.teamID
	e.mu.Unlock()
	if u == nil {
		writeDetail(w, http.StatusNotFound, "User not found")
		return
	}
	claims := junction.Claims{
		ID:          jti,
		UserID:      u.id,
		TenantID:    tenantID,
		TeamID:      teamID,
		Environment: e.cfg.environment,
		Region:      e.cfg.region,
		IssuedAt:    now,
		ExpiresAt:   now.Add(e.cfg.tokenTTL),
	}
	tok, err := junction.EncodeSignInToken(claims, signInPublicKey, key)
	if err != nil {
		writeDetail(w, http.StatusInternalServerError, "cannot mint a sign-in token")
		return
	}
	e.mu.Lock()
	e.remember(mintRecord{id: jti, userID: u.id, issuedAt: claims.IssuedAt, expires: claims.ExpiresAt})
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, junction.SignInTokenResponse{UserID: u.id, SignInToken: tok})
}

// serveToken serves the auth server's POST /v1/token.
func (e *Emulator) serveToken(w http.ResponseWriter, r *http.Request) {
	switch readForm(w, r) {
	case bodyWrongType:
		tokenError(w, errorTypeBadRequest, "the body must be application/x-www-form-urlencoded")
		return
	case bodyTooLarge:
		writeDetail(w, http.StatusRequestEntityTooLarge, "request body too large")
		return
	case bodyInvalid:
		tokenError(w, errorTypeBadRequest, "the body is not a valid form")
		return
	}
	switch grant := r.PostForm.Get("grant_type"); grant {
	case junction.GrantTokenExchange:
		e.exchange(w, r.PostForm.Get("subject_token_type"), r.PostForm.Get("subject_token"))
	case junction.GrantRefreshToken:
		e.refreshGrant(w, r.PostForm.Get("refresh_token"))
	default:
		tokenError(w, errorTypeUnsupportedGrant, "grant_type must be token-exchange or refresh_token")
	}
}

// exchange serves the token-exchange grant: a Sign-In Token's JWT for an
// access and refresh token.
func (e *Emulator) exchange(w http.ResponseWriter, subjectType, jwt string) {
	if subjectType != junction.SubjectTokenTypeSignIn {
		tokenError(w, errorTypeBadRequest, "subject_token_type must be "+junction.SubjectTokenTypeSignIn)
		return
	}
	if jwt == "" {
		tokenError(w, errorTypeBadRequest, "subject_token is required")
		return
	}
	switch err := e.signIn(jwt, nil, func(u *user) { e.issueTokens(w, u) }); {
	case err == nil:
	case errors.Is(err, errNoSigningKey):
		writeDetail(w, http.StatusInternalServerError, "no signing key")
	default:
		tokenError(w, junction.ErrorTypeInvalidToken, "")
	}
}

// errNoUserSignedIn: a Sign-In Token that verifies signs no one in (see
// signInUser).
var errNoUserSignedIn = errors.New("emulator: the sign-in token signs no active user in")

// signIn is both exchanges of a Sign-In Token's JWT (/v1/token and the
// legacy one): it verifies jwt, lets check (if not nil) refuse its claims,
// and calls issue, with e.mu held, for the user it signs in. It returns
// errNoSigningKey, the verification's or check's error, or
// errNoUserSignedIn, and then issue is not called.
func (e *Emulator) signIn(jwt string, check func(junction.Claims) error, issue func(*user)) error {
	c, err := e.verifySubjectJWT(jwt)
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(c); err != nil {
			return err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.signInUser(c)
	if u == nil {
		return errNoUserSignedIn
	}
	issue(u)
	return nil
}

// errNoSigningKey: the emulator has no key to verify Sign-In Tokens with.
var errNoSigningKey = errors.New("emulator: no signing key")

// verifySubjectJWT checks a Sign-In Token's JWT with the shared codec and
// the emulator's key, and returns its claims. Both exchanges (/v1/token and
// the legacy one) receive only the JWT; wrapping it back into the envelope
// lets the codec check it.
func (e *Emulator) verifySubjectJWT(jwt string) (junction.Claims, error) {
	key, err := e.signingKey()
	if err != nil {
		return junction.Claims{}, errNoSigningKey
	}
	envelope, err := json.Marshal(struct {
		PublicKey string `json:"public_key"`
		UserToken string `json:"user_token"`
	}{signInPublicKey, jwt})
	if err != nil {
		return junction.Claims{}, err
	}
	tok, err := junction.DecodeSignInToken(base64.StdEncoding.EncodeToString(envelope), junction.DecodeOptions{Lenient: true})
	if err != nil {
		return junction.Claims{}, err
	}
	if err := junction.VerifySignInToken(tok, &key.PublicKey); err != nil {
		return junction.Claims{}, err
	}
	return tok.Claims, nil
}

// signInUser returns the active user a verified token signs in, or nil
// when the token is for a deleted user, another team, environment or
// region, or has expired. e.mu must be held.
func (e *Emulator) signInUser(c junction.Claims) *user {
	u := e.activeUser(c.UserID)
	if u == nil || u.id != c.UserID || c.TeamID != e.teamID ||
		c.Environment != e.cfg.environment || c.Region != e.cfg.region ||
		!e.now().Before(c.ExpiresAt) {
		return nil
	}
	return u
}

// refreshGrant serves the refresh-token grant, rotating the refresh token.
func (e *Emulator) refreshGrant(w http.ResponseWriter, token string) {
	if token == "" {
		tokenError(w, errorTypeBadRequest, "refresh_token is required")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	g, u := e.refreshSession(token)
	switch {
	case u == nil, g.state == refreshRotated, g.state == refreshUserDeleted:
		// Unknown, rotated out, or of a deleted user (even if revoked
		// before: deletion is the stronger signal).
		tokenError(w, junction.ErrorTypeInvalidToken, "")
		return
	case g.state == refreshRevoked:
		tokenError(w, junction.ErrorTypeReauthRequired, "")
		return
	case g.legacy && !e.cfg.legacyRefreshHonoured:
		// A session that crossed the cutover (§10.4): see
		// WithLegacyRefreshHonoured.
		tokenError(w, junction.ErrorTypeInvalidToken, "")
		return
	}
	g.state = refreshRotated
	e.logRefresh(token)
	for i, t := range u.refresh {
		if t == token {
			u.refresh = append(u.refresh[:i:i], u.refresh[i+1:]...)
			break
		}
	}
	e.issueTokens(w, u)
}

// refreshSession returns the grant of a refresh token and its user while
// the user is active: (nil, nil) for an unknown token, (g, nil) for a
// deleted user's. The caller holds e.mu.
func (e *Emulator) refreshSession(token string) (*refreshGrant, *user) {
	g := e.refresh[token]
	if g == nil {
		return nil, nil
	}
	return g, e.activeUser(g.userID)
}

// issueTokens answers a new access and refresh token for u. The caller
// holds e.mu.
func (e *Emulator) issueTokens(w http.ResponseWriter, u *user) {
	access, refresh := e.newToken("at_"), e.newToken("rt_")
	e.access[access] = &accessGrant{userID: u.id, expires: e.now().Add(e.cfg.accessTTL)}
	e.refresh[refresh] = &refreshGrant{userID: u.id}
	u.access = append(u.access, access)
	u.refresh = append(u.refresh, refresh)
	e.logAccess(access)
	e.logRefresh(refresh)
	writeJSON(w, http.StatusOK, junction.TokenResponse{
		AccessToken:  access,
		RefreshToken: refresh,
		ExpiresIn:    int(e.cfg.accessTTL / time.Second),
	})
}

// checkAccess returns the user of a valid access token. The caller holds
// e.mu.
func (e *Emulator) checkAccess(token string) (string, bool) {
	g := e.access[token]
	if g == nil || !e.now().Before(g.expires) || e.activeUser(g.userID) == nil {
		return "", false
	}
	return g.userID, true
}

// RevokeRefreshTokens revokes every refresh token of the user: a refresh
// with one of them answers 400 reauthentication_required. Access tokens stay
// valid until they expire, and exchanging a new Sign-In Token issues fresh
// refresh tokens. Unknown users are ignored.
func (e *Emulator) RevokeRefreshTokens(userID string) {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.users[strings.ToLower(userID)]
	if u == nil {
		return
	}
	e.endRefreshTokens(u, refreshRevoked)
}

// endRefreshTokens moves every active refresh token of u to state
// (refreshRevoked or refreshUserDeleted) and forgets them on u. The caller
// holds e.mu.
func (e *Emulator) endRefreshTokens(u *user, state refreshState) {
	for _, t := range u.refresh {
		if g := e.refresh[t]; g.state == refreshActive {
			g.state = state
			e.logRefresh(t)
		}
	}
	u.refresh = nil
}

// ExpireAccessTokens ends every access token of the user now, as if their
// time-to-live had passed: a Bearer request with one answers 401, and the
// SDK refreshes. Refresh tokens are untouched. It returns [ErrUserNotFound]
// when no user, active or deleted, has that ID.
func (e *Emulator) ExpireAccessTokens(userID string) error {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.users[strings.ToLower(userID)]
	if u == nil {
		return ErrUserNotFound
	}
	now := e.now()
	for _, t := range u.access {
		if g := e.access[t]; g != nil && g.expires.After(now) {
			g.expires = now
			e.logAccess(t)
		}
	}
	return nil
}

// RefreshTokenUsable reports whether a refresh with token would succeed
// now, without using it (a rotation): the check a test or a simulation
// makes of a device's stored session. A legacy refresh token counts as
// the token endpoint would treat it.
func (e *Emulator) RefreshTokenUsable(token string) bool {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.refresh[token]
	if g == nil || e.activeUser(g.userID) == nil {
		return false
	}
	return g.state != refreshRotated && g.state != refreshUserDeleted && g.state != refreshRevoked
}
