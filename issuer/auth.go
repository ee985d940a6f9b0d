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
// Errors matching ErrUnauthorized become 401, with the code of the most
// precise sentinel they match (ErrNoCredentials, ErrMultipleAuthorization,
// ErrMalformedSession, ErrBadSignature, ErrSessionExpired; "unauthorized"
// for a plain ErrUnauthorized); any other error becomes 500 (the
// authenticator itself failed, the credentials may be fine).
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

// MaxSessionTTL is the longest lifetime of a session token: NewSession
// refuses a longer ttl, and Verify refuses a session whose expiry lies
// further than this in its clock's future.
const MaxSessionTTL = 30 * 24 * time.Hour

// maxClockSkew is how far ahead of the verifier's clock the minter's clock
// may be without its longest sessions being refused.
const maxClockSkew = time.Minute

// maxSessionLen bounds the length of a session token Verify reads.
const maxSessionLen = 4096

// sessionVersion prefixes every session token so the format can change.
const sessionVersion = "v1"

// sessionClaims is the signed payload of a session token.
type sessionClaims struct {
	Subject string `json:"sub"` // the app user ID
	Expiry  int64  `json:"exp"` // Unix seconds
}

// HMACAuthenticator authenticates requests that carry exactly one
// "Authorization: Bearer <session>" header, where the session is a token
// minted by NewSession with the same secret: "v1.<payload>.<mac>", the
// payload being base64url JSON {"sub": app user ID, "exp": Unix seconds} and
// the mac its HMAC-SHA256, compared in constant time.
//
// A session has exactly one valid spelling: payload and mac must be
// canonical unpadded base64url (no padding, no line breaks, no non-zero
// trailing bits), so no altered string verifies, not even one that decodes
// to the same bytes.
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
	if ttl <= 0 || ttl > MaxSessionTTL {
		return "", fmt.Errorf("%w: session ttl must be positive and at most %v", ErrInvalidConfig, MaxSessionTTL)
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
// user ID. Errors match ErrUnauthorized and never hold the session: the
// request carried no Authorization header (ErrNoCredentials), more than one
// (ErrMultipleAuthorization), or a session that Verify refuses.
func (a *HMACAuthenticator) Authenticate(r *http.Request) (string, error) {
	hs := r.Header.Values("Authorization")
	switch {
	case len(hs) == 0 || len(hs) == 1 && hs[0] == "":
		return "", ErrNoCredentials
	case len(hs) > 1:
		return "", ErrMultipleAuthorization
	}
	scheme, session, ok := strings.Cut(hs[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", ErrMalformedSession
	}
	return a.Verify(strings.TrimSpace(session))
}

// Verify checks a session token and returns its app user ID. Errors match
// ErrUnauthorized and never hold the session: ErrMalformedSession or
// ErrBadSignature (both matching ErrInvalidSession), or ErrSessionExpired.
func (a *HMACAuthenticator) Verify(session string) (string, error) {
	if len(session) > maxSessionLen {
		return "", ErrMalformedSession
	}
	version, rest, ok := strings.Cut(session, ".")
	if !ok || version != sessionVersion {
		return "", ErrMalformedSession
	}
	payloadB64, macB64, ok := strings.Cut(rest, ".")
	if !ok {
		return "", ErrMalformedSession
	}
	got, ok := decodeCanonical(macB64)
	if !ok || len(got) != sha256.Size {
		return "", ErrMalformedSession
	}
	if !hmac.Equal(got, mac(a.secret, version+"."+payloadB64)) {
		return "", ErrBadSignature
	}
	payload, ok := decodeCanonical(payloadB64)
	if !ok {
		return "", ErrMalformedSession
	}
	var c sessionClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", ErrMalformedSession
	}
	if ValidateAppUserID(c.Subject) != nil || c.Expiry <= 0 {
		return "", ErrMalformedSession
	}
	now := a.now()
	if c.Expiry > now.Add(MaxSessionTTL+maxClockSkew).Unix() {
		// Longer-lived than NewSession mints: not one of ours to honour.
		return "", ErrMalformedSession
	}
	if !now.Before(time.Unix(c.Expiry, 0)) {
		return "", ErrSessionExpired
	}
	return c.Subject, nil
}

// decodeCanonical decodes unpadded base64url, accepting only the one
// spelling EncodeToString produces: the decoder alone would skip line
// breaks and ignore non-zero trailing bits, so two strings would carry the
// same bytes.
func decodeCanonical(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || base64.RawURLEncoding.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
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
