package issuer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Authenticator turns a request into the app user ID of its authenticated
// caller. Backends implement it over their own sessions; HMACAuthenticator
// is a self-contained one for local use.
//
// Errors matching ErrUnauthorized become 401; any other error becomes 500
// (the authenticator itself failed, the credentials may be fine).
type Authenticator interface {
	Authenticate(r *http.Request) (appUserID string, err error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (string, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (string, error) { return f(r) }

// MinSecretLen is the shortest HMAC session secret accepted, in bytes.
const MinSecretLen = 16

// MaxAppUserIDLen is the longest app user ID accepted, in bytes.
const MaxAppUserIDLen = 256

// sessionVersion prefixes every session token so the format can change.
const sessionVersion = "v1"

// sessionClaims is the signed payload of a session token.
type sessionClaims struct {
	Subject string `json:"sub"` // the app user ID
	Expiry  int64  `json:"exp"` // Unix seconds
}

// HMACAuthenticator authenticates requests that carry
// "Authorization: Bearer <session>", where the session is a token minted by
// NewSession with the same secret: "v1.<payload>.<mac>", the payload being
// base64url JSON {"sub": app user ID, "exp": Unix seconds} and the mac its
// HMAC-SHA256, compared in constant time.
type HMACAuthenticator struct {
	secret []byte
	now    func() time.Time
}

// String hides the secret.
func (a *HMACAuthenticator) String() string { return "issuer.HMACAuthenticator{…}" }

// GoString hides the secret from %#v.
func (a *HMACAuthenticator) GoString() string { return a.String() }

// NewHMACAuthenticator returns an authenticator for sessions signed with
// secret (at least MinSecretLen bytes). now is the clock used for expiry;
// nil means time.Now.
func NewHMACAuthenticator(secret []byte, now func() time.Time) (*HMACAuthenticator, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("%w: session secret shorter than %d bytes", ErrInvalidConfig, MinSecretLen)
	}
	if now == nil {
		now = time.Now
	}
	return &HMACAuthenticator{secret: append([]byte(nil), secret...), now: now}, nil
}

// NewSession mints a session token for appUserID, valid for ttl from now,
// signed with secret (at least MinSecretLen bytes).
func NewSession(secret []byte, appUserID string, ttl time.Duration, now time.Time) (string, error) {
	if len(secret) < MinSecretLen {
		return "", fmt.Errorf("%w: session secret shorter than %d bytes", ErrInvalidConfig, MinSecretLen)
	}
	if err := ValidateAppUserID(appUserID); err != nil {
		return "", err
	}
	if ttl <= 0 {
		return "", fmt.Errorf("%w: session ttl must be positive", ErrInvalidConfig)
	}
	exp := now.Add(ttl)
	// Round the expiry up so a session never lives shorter than asked.
	sec := exp.Unix()
	if exp.Nanosecond() != 0 {
		sec++
	}
	payload, err := json.Marshal(sessionClaims{Subject: appUserID, Expiry: sec})
	if err != nil {
		return "", fmt.Errorf("issuer: encode session: %w", err)
	}
	signed := sessionVersion + "." + base64.RawURLEncoding.EncodeToString(payload)
	return signed + "." + base64.RawURLEncoding.EncodeToString(mac(secret, signed)), nil
}

// Authenticate verifies the request's bearer session and returns its app
// user ID. Errors match ErrUnauthorized and never hold the session.
func (a *HMACAuthenticator) Authenticate(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", ErrNoCredentials
	}
	scheme, session, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", ErrInvalidSession
	}
	return a.Verify(strings.TrimSpace(session))
}

// Verify checks a session token and returns its app user ID. Errors match
// ErrUnauthorized (ErrInvalidSession or ErrSessionExpired) and never hold the
// session.
func (a *HMACAuthenticator) Verify(session string) (string, error) {
	if len(session) > 4096 {
		return "", ErrInvalidSession
	}
	version, rest, ok := strings.Cut(session, ".")
	if !ok || version != sessionVersion {
		return "", ErrInvalidSession
	}
	payloadB64, macB64, ok := strings.Cut(rest, ".")
	if !ok {
		return "", ErrInvalidSession
	}
	got, err := base64.RawURLEncoding.DecodeString(macB64)
	if err != nil {
		return "", ErrInvalidSession
	}
	if !hmac.Equal(got, mac(a.secret, version+"."+payloadB64)) {
		return "", ErrInvalidSession
	}
	payload, err := base64.RawURLEncoding.DecodeString(payloadB64)
	if err != nil {
		return "", ErrInvalidSession
	}
	var c sessionClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", ErrInvalidSession
	}
	if ValidateAppUserID(c.Subject) != nil || c.Expiry == 0 {
		return "", ErrInvalidSession
	}
	if !a.now().Before(time.Unix(c.Expiry, 0)) {
		return "", ErrSessionExpired
	}
	return c.Subject, nil
}

func mac(secret []byte, msg string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// ValidateAppUserID reports ErrInvalidAppUser unless id is a non-empty valid
// UTF-8 string of at most MaxAppUserIDLen bytes without control characters
// or surrounding spaces. App user IDs become the Vital user's client_user_id.
func ValidateAppUserID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalidAppUser)
	case len(id) > MaxAppUserIDLen:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidAppUser, MaxAppUserIDLen)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: not UTF-8", ErrInvalidAppUser)
	case strings.TrimSpace(id) != id:
		return fmt.Errorf("%w: surrounding spaces", ErrInvalidAppUser)
	case strings.IndexFunc(id, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: control character", ErrInvalidAppUser)
	}
	return nil
}
