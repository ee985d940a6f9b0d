package junction

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
)

// The legacy (Firebase / GCIP) exchange that iOS ≤1.8.1 and Android ≤4.2.0
// use instead of the Junction auth server (reference §2.3, §10.3).
const (
	// IdentityToolkitHost serves accounts:signInWithCustomToken.
	IdentityToolkitHost = "identitytoolkit.googleapis.com"
	// SecureTokenHost serves the Secure Token refresh, v1/token.
	SecureTokenHost = "securetoken.googleapis.com"
	// LegacySignInPath and LegacyRefreshPath are the paths under each host.
	LegacySignInPath  = "/v1/accounts:signInWithCustomToken"
	LegacyRefreshPath = "/v1/token"

	// The Secure Token error messages the SDKs read (§10.3):
	// USER_DISABLED and USER_NOT_FOUND mean the user is invalid (deleted or
	// disabled); TOKEN_EXPIRED and INVALID_REFRESH_TOKEN mean the session
	// needs reauthentication.
	LegacyUserDisabled        = "USER_DISABLED"
	LegacyUserNotFound        = "USER_NOT_FOUND"
	LegacyTokenExpired        = "TOKEN_EXPIRED"
	LegacyInvalidRefreshToken = "INVALID_REFRESH_TOKEN"
)

// LegacySignInRequest is the JSON body of accounts:signInWithCustomToken
// (§10.3): the Sign-In Token's user_token as a custom token, its tenant_id
// claim, and returnSecureToken true.
type LegacySignInRequest struct {
	ReturnSecureToken bool   `json:"returnSecureToken"`
	Token             string `json:"token"`
	TenantID          string `json:"tenantId"`
}

// LegacySignInResponse is the 2xx body of accounts:signInWithCustomToken,
// in camelCase; expiresIn is seconds as a string (§10.3).
type LegacySignInResponse struct {
	IDToken      string `json:"idToken"`
	RefreshToken string `json:"refreshToken"`
	ExpiresIn    string `json:"expiresIn"`
}

// LegacyRefreshResponse is the 2xx body of the Secure Token v1/token, in
// snake_case; expires_in is seconds as a string (§10.3).
type LegacyRefreshResponse struct {
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    string `json:"expires_in"`
}

// LegacyErrorBody is the error envelope of both legacy endpoints:
// {"error":{"code":…,"message":…,"status":…}}. The SDKs require message
// and status (§10.3).
type LegacyErrorBody struct {
	Error LegacyError `json:"error"`
}

// LegacyError is the inside of a LegacyErrorBody. Its Message, not its
// status, carries the meaning (§10.3).
type LegacyError struct {
	Code    int    `json:"code,omitempty"`
	Message string `json:"message"`
	Status  string `json:"status"`
}

// String hides the tokens.
func (r LegacySignInResponse) String() string { return "{idToken:… refreshToken:… expiresIn:…}" }

// GoString hides the tokens from %#v.
func (r LegacySignInResponse) GoString() string { return "junction.LegacySignInResponse{…}" }

// String hides the tokens.
func (r LegacyRefreshResponse) String() string {
	return "{id_token:… refresh_token:… expires_in:…}"
}

// GoString hides the tokens from %#v.
func (r LegacyRefreshResponse) GoString() string { return "junction.LegacyRefreshResponse{…}" }

func (r LegacySignInResponse) valid() error {
	if r.IDToken == "" || r.RefreshToken == "" {
		return errors.New("sign-in response lacks idToken or refreshToken")
	}
	return nil
}

func (r LegacyRefreshResponse) valid() error {
	if r.IDToken == "" || r.RefreshToken == "" {
		return errors.New("refresh response lacks id_token or refresh_token")
	}
	return nil
}

// LegacyTokens is what a legacy call yields: the ID token (which the SDKs
// store as the access token), the refresh token, and expiresIn as sent.
type LegacyTokens struct {
	IDToken      string
	RefreshToken string
	// ExpiresIn is the server's string; ExpiresInSeconds parses it.
	ExpiresIn string
}

// String hides the tokens.
func (LegacyTokens) String() string { return "{idToken:… refreshToken:… expiresIn:…}" }

// GoString hides the tokens from %#v.
func (LegacyTokens) GoString() string { return "junction.LegacyTokens{…}" }

// ExpiresInSeconds parses ExpiresIn as a positive number of seconds, and
// reports false when it does not parse (iOS then falls back to 3600, §10.3).
func (t LegacyTokens) ExpiresInSeconds() (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(t.ExpiresIn))
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// LegacyAuthClient calls the legacy Firebase / GCIP endpoints as the SDKs
// do (§10.3). It is safe for concurrent use.
type LegacyAuthClient struct {
	signIn, refresh caller
}

// NewLegacyAuthClient returns a client of the legacy endpoints. An empty
// baseURL means the real hosts (https://identitytoolkit.googleapis.com and
// https://securetoken.googleapis.com); otherwise the hosts become the first
// path segment under baseURL, as Firebase client libraries address a local
// emulator: {base}/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken
// and {base}/securetoken.googleapis.com/v1/token.
func NewLegacyAuthClient(baseURL string, opts ...Option) *LegacyAuthClient {
	idt, st := "https://"+IdentityToolkitHost, "https://"+SecureTokenHost
	if baseURL != "" {
		b := strings.TrimRight(baseURL, "/")
		idt, st = b+"/"+IdentityToolkitHost, b+"/"+SecureTokenHost
	}
	return &LegacyAuthClient{signIn: newCaller(idt, opts), refresh: newCaller(st, opts)}
}

// legacyDo sends r with ?key=apiKey and reads the outcome with the legacy
// error table.
func legacyDo(ctx context.Context, c caller, r request, apiKey string, out any) error {
	if apiKey == "" {
		return &APIError{Op: r.op, Kind: ErrValidation, Err: errors.New("no public API key")}
	}
	if !validHeaderValue(apiKey) {
		return &APIError{Op: r.op, Kind: ErrValidation, Err: errors.New("the public API key holds control characters")}
	}
	r.query = url.Values{"key": {apiKey}}
	r.classify = legacyClassify
	return c.do(ctx, r, out)
}

// SignInWithCustomToken exchanges a Sign-In Token's user token (a custom
// token) with its tenant for an ID and refresh token:
// POST accounts:signInWithCustomToken?key=publicAPIKey. Only a 401 is
// [ErrInvalidToken] (invalidSignInToken in the SDKs); every other status is
// classified as usual (the SDKs call it a network error).
func (a *LegacyAuthClient) SignInWithCustomToken(ctx context.Context, publicAPIKey, customToken, tenantID string) (LegacyTokens, error) {
	var r LegacySignInResponse
	err := legacyDo(ctx, a.signIn, request{
		op: legacySignInOp, method: http.MethodPost, path: LegacySignInPath,
		body:        jsonBody(LegacySignInRequest{ReturnSecureToken: true, Token: customToken, TenantID: tenantID}),
		contentType: "application/json",
	}, publicAPIKey, &r)
	if err != nil {
		return LegacyTokens{}, err
	}
	return LegacyTokens{IDToken: r.IDToken, RefreshToken: r.RefreshToken, ExpiresIn: r.ExpiresIn}, nil
}

// Refresh trades a Secure Token refresh token for new tokens:
// POST securetoken v1/token?key=publicAPIKey, form
// grant_type=refresh_token&refresh_token=…. A 4xx whose error message is
// USER_DISABLED or USER_NOT_FOUND gives [ErrInvalidToken];
// TOKEN_EXPIRED or INVALID_REFRESH_TOKEN gives
// [ErrReauthenticationRequired]; other answers are classified as usual.
// APIError.LegacyEnvelope says whether a 4xx body had the legacy error
// envelope (Android 4.2.0 cannot decode one that has not; §10.3).
func (a *LegacyAuthClient) Refresh(ctx context.Context, publicAPIKey, refreshToken string) (LegacyTokens, error) {
	var r LegacyRefreshResponse
	err := legacyDo(ctx, a.refresh, request{
		op: "legacy token refresh", method: http.MethodPost, path: LegacyRefreshPath,
		body:        strings.NewReader(url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {refreshToken}}.Encode()),
		contentType: "application/x-www-form-urlencoded",
	}, publicAPIKey, &r)
	if err != nil {
		return LegacyTokens{}, err
	}
	return LegacyTokens{IDToken: r.IDToken, RefreshToken: r.RefreshToken, ExpiresIn: r.ExpiresIn}, nil
}

// legacyClassify is the legacy endpoints' error table (§10.3): a 4xx is
// read by its envelope's message, and only a sign-in's 401 is an invalid
// token; everything else (2xx, 5xx, 429, transport) as classify reads it.
// The Junction detail.error_type means nothing here.
func legacyClassify(op string, o outcome, out any, now time.Time) error {
	if o.canceled != nil || o.err != nil || o.status < 400 || o.status >= 500 || o.tooLarge ||
		o.status == http.StatusTooManyRequests {
		return classify(op, o, out, now)
	}
	e := &APIError{Op: op, Status: o.status, Kind: legacyKind(o.status)}
	var raw struct {
		Error *struct {
			Message *string `json:"message"`
			Status  *string `json:"status"`
		} `json:"error"`
	}
	if json.Unmarshal(o.body, &raw) == nil && raw.Error != nil && raw.Error.Message != nil && raw.Error.Status != nil {
		e.LegacyEnvelope = true
		e.Message = *raw.Error.Message
	}
	switch {
	case op == legacySignInOp:
		if o.status == http.StatusUnauthorized {
			e.Kind = ErrInvalidToken
		}
	case e.Message == LegacyUserDisabled || e.Message == LegacyUserNotFound:
		e.Kind = ErrInvalidToken
	case e.Message == LegacyTokenExpired || e.Message == LegacyInvalidRefreshToken:
		e.Kind = ErrReauthenticationRequired
	}
	return e
}

const legacySignInOp = "legacy sign-in"

// legacyKind is the plain reading of a 4xx status, without any body.
func legacyKind(status int) error {
	switch status {
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusNotFound, http.StatusGone:
		return ErrNotFound
	case http.StatusConflict:
		return ErrConflict
	case http.StatusTooManyRequests:
		return ErrRateLimited
	}
	return ErrValidation
}

// LegacyAPIBaseURL returns the legacy team API host the SDKs before the
// cutover talk to (§7, §10.1): api[.sandbox|.dev][.eu].tryvital.io. It
// returns "" for an unknown environment or region.
func LegacyAPIBaseURL(env fsm.Environment, region fsm.Region) string {
	if _, ok := fsm.ParseRegion(string(region)); !ok {
		return ""
	}
	host := "https://api"
	switch env {
	case fsm.Production:
	case fsm.Sandbox, fsm.Dev:
		host += "." + string(env)
	default:
		return ""
	}
	if region == fsm.EU {
		host += ".eu"
	}
	return host + ".tryvital.io"
}

// LegacyExpiresInFallback is iOS's token lifetime, in seconds, when
// expiresIn does not parse (§10.3).
const LegacyExpiresInFallback = 3600
