package junction

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/vitalsync/vitalsync/fsm"
)

// ErrMalformedToken is matched (errors.Is) by every error of
// [DecodeSignInToken]: the input is not a Sign-In Token the SDKs accept.
var ErrMalformedToken = errors.New("malformed sign-in token")

// ErrInvalidClaims is matched by errors of [EncodeSignInToken] when the claims
// could not be decoded back (for example an issuer that names another
// environment than Claims.Environment).
var ErrInvalidClaims = errors.New("invalid sign-in token claims")

// ErrBadSignature is matched by errors of [VerifySignInToken] when the JWT
// signature does not verify against the public key.
var ErrBadSignature = errors.New("bad sign-in token signature")

// TokenReason says why a Sign-In Token was rejected. Its values are stable
// strings and never contain any part of the token.
type TokenReason string

// The reasons a Sign-In Token is rejected.
const (
	ReasonOuterBase64    TokenReason = "outer token is not base64"
	ReasonOuterJSON      TokenReason = "outer token is not a {public_key, user_token} JSON object"
	ReasonJWTSegments    TokenReason = "user token is not three JWT segments"
	ReasonJWTBase64      TokenReason = "a JWT segment is not base64"
	ReasonJWTHeader      TokenReason = "JWT header is not exactly alg=RS256, typ=JWT"
	ReasonJWTClaims      TokenReason = "JWT claims are not a JSON object of the expected types"
	ReasonMissingClaim   TokenReason = "a required JWT claim is missing or empty"
	ReasonIssuer         TokenReason = "issuer does not name a known environment and region"
	ReasonTime           TokenReason = "iat or exp is not a whole number of seconds in range"
	ReasonSignature      TokenReason = "signature does not verify"
	ReasonNoKey          TokenReason = "no key"
	ReasonSigning        TokenReason = "signing failed"
	ReasonClaimsMismatch TokenReason = "issuer disagrees with environment or region"
)

// TokenError is the error of every Sign-In Token operation. It never holds
// the token or any part of it.
type TokenError struct {
	Reason TokenReason
	// Err is ErrMalformedToken (decoding), ErrInvalidClaims (encoding) or
	// ErrBadSignature (verifying).
	Err error
}

// Error returns a fixed description of the failure.
func (e *TokenError) Error() string { return e.Err.Error() + ": " + string(e.Reason) }

// Unwrap returns the sentinel.
func (e *TokenError) Unwrap() error { return e.Err }

func malformed(r TokenReason) error { return &TokenError{Reason: r, Err: ErrMalformedToken} }

// Claims are the JWT claims of a Sign-In Token that the SDKs read.
type Claims struct {
	Issuer      string          // iss, e.g. "id-signer-stg-us@vital-id-stg-us.iam.gserviceaccount.com"
	UserID      string          // uid, the Vital user ID
	TenantID    string          // tenant_id (GCIP tenant; stored, unused)
	TeamID      string          // claims.vital_team_id
	Environment fsm.Environment // parsed from iss
	Region      fsm.Region      // parsed from iss
	IssuedAt    time.Time       // iat, whole seconds, UTC
	ExpiresAt   time.Time       // exp, whole seconds, UTC
	// ID is the jti claim, which makes each minted token unique even when
	// two are minted in the same second for the same user (RS256 signing
	// is deterministic, so equal claims would give equal tokens). It is
	// optional: the SDKs never read it, and the real API's tokens (Firebase
	// custom tokens) need not carry one, so a token without a jti, or with
	// one that is not a string, decodes with ID "".
	ID string
}

// SignInToken is a decoded Sign-In Token.
type SignInToken struct {
	PublicKey string // public_key (the legacy Firebase Web API key); not sent anywhere
	UserToken string // user_token, the JWT sent to the token endpoint
	Claims    Claims // the JWT's claims, unverified
}

// DecodeOptions selects which SDK's parser [DecodeSignInToken] mimics.
type DecodeOptions struct {
	// Lenient mimics Android (okio decodeBase64): the outer token and the
	// JWT header and claims segments may use the standard or URL-safe
	// alphabet, padding is optional, and spaces, tabs and line breaks are
	// ignored. Whatever the strict mode accepts, Lenient accepts too, with
	// the same result.
	//
	// Otherwise it mimics iOS: the outer token must be strict standard base64
	// with padding (Data(base64Encoded:)), and the JWT header and claims
	// segments are decoded as standard base64, so a segment holding '-' or
	// '_' is rejected ("malformed JWT [1]").
	Lenient bool
	// ShorthandOnly mimics Android's parseEnvironmentShorthand, which
	// accepts only the issuer environments dev, stg and prd; iOS also
	// accepts production and sandbox (reference §2.1, §10.2).
	ShorthandOnly bool
}

// issuerRE is the SDKs' issuer pattern. Its unescaped dots are kept: the SDKs
// match any character there too.
var issuerRE = regexp.MustCompile(`^id-signer-([a-z]+)-([a-z]+)@vital-id-[a-z]+-[a-z]+.iam.gserviceaccount.com$`)

// ParseIssuer returns the environment and region an issuer names. It accepts
// the shorthands both SDKs use (prd, stg, dev) and the long names iOS also
// accepts (production, sandbox); regions are us and eu.
func ParseIssuer(iss string) (fsm.Environment, fsm.Region, bool) {
	m := issuerRE.FindStringSubmatch(iss)
	if m == nil {
		return "", "", false
	}
	var env fsm.Environment
	switch m[1] {
	case "production", "prd":
		env = fsm.Production
	case "sandbox", "stg":
		env = fsm.Sandbox
	case "dev":
		env = fsm.Dev
	default:
		return "", "", false
	}
	region, ok := fsm.ParseRegion(m[2])
	if !ok {
		return "", "", false
	}
	return env, region, true
}

// shorthand is the issuer's name of an environment.
func shorthand(env fsm.Environment) string {
	switch env {
	case fsm.Production:
		return "prd"
	case fsm.Sandbox:
		return "stg"
	}
	return string(env)
}

// IssuerFor returns the issuer of Sign-In Tokens for an environment and
// region, with the shorthands (prd, stg, dev) that both SDKs parse.
func IssuerFor(env fsm.Environment, region fsm.Region) string {
	s := shorthand(env) + "-" + string(region)
	return "id-signer-" + s + "@vital-id-" + s + ".iam.gserviceaccount.com"
}

// jwtHeader is the only header the SDKs accept, as encoded by
// [EncodeSignInToken].
const jwtHeader = `{"alg":"RS256","typ":"JWT"}`

// maxUnix bounds iat and exp (9999-12-31T23:59:59Z) so they survive a round
// trip through time.Time and JSON unchanged.
const maxUnix = 253402300799

// outerToken is the JSON inside a Sign-In Token.
type outerToken struct {
	PublicKey *string `json:"public_key"`
	UserToken *string `json:"user_token"`
}

// wireClaims is the JWT claims object.
type wireClaims struct {
	Iss      *string `json:"iss"`
	UID      *string `json:"uid"`
	TenantID *string `json:"tenant_id,omitempty"`
	Claims   *struct {
		TeamID *string `json:"vital_team_id"`
	} `json:"claims"`
	// Iat and Exp are read when they are whole seconds in range; the SDKs
	// never read them (§10.2), so other values do not reject the token.
	Iat json.RawMessage `json:"iat"`
	Exp json.RawMessage `json:"exp"`
	// JTI is read only when it is a string; the SDKs ignore the claim.
	JTI json.RawMessage `json:"jti"`
}

// DecodeSignInToken parses a raw Sign-In Token the way the mobile SDKs do. It
// checks the structure (base64, JSON, a three-segment JWT with the header
// alg=RS256, typ=JWT, and the claims iss, uid, tenant_id and
// claims.vital_team_id, which both SDKs require; reference §10.2) but never
// verifies the signature: use
// [VerifySignInToken] for that. Every error is a *[TokenError] matching
// [ErrMalformedToken].
//
// Like the SDKs it does not require iat and exp: Claims.IssuedAt and
// Claims.ExpiresAt are read when they are whole seconds in range and are
// zero otherwise (a server, like the emulator, refuses a zero expiry).
//
// Whatever it accepts is consistent: Claims.Environment and Claims.Region are
// those [ParseIssuer] reads from Claims.Issuer, and re-encoding the claims
// with [EncodeSignInToken] yields a token that decodes to the same
// SignInToken apart from UserToken.
func DecodeSignInToken(raw string, opts DecodeOptions) (SignInToken, error) {
	outer, ok := decodeOuter(raw, opts.Lenient)
	if !ok {
		return SignInToken{}, malformed(ReasonOuterBase64)
	}
	var o outerToken
	if err := json.Unmarshal(outer, &o); err != nil || o.PublicKey == nil || o.UserToken == nil {
		return SignInToken{}, malformed(ReasonOuterJSON)
	}
	claims, err := decodeJWT(*o.UserToken, opts.Lenient, opts.ShorthandOnly)
	if err != nil {
		return SignInToken{}, err
	}
	return SignInToken{PublicKey: *o.PublicKey, UserToken: *o.UserToken, Claims: claims}, nil
}

// decodeOuter decodes the outer base64: strict standard base64 with
// padding (iOS), or okio's lenient decoding (Android).
func decodeOuter(raw string, lenient bool) ([]byte, bool) {
	if lenient {
		return decodeOkio(raw)
	}
	// Go's decoder skips '\r' and '\n'; Data(base64Encoded:) does not.
	if strings.ContainsAny(raw, "\r\n") {
		return nil, false
	}
	b, err := base64.StdEncoding.Strict().DecodeString(raw)
	return b, err == nil
}

// decodeOkio decodes like okio's decodeBase64: either alphabet (even mixed),
// optional padding, and spaces, tabs and line breaks ignored.
func decodeOkio(s string) ([]byte, bool) {
	var sb strings.Builder
	sb.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\r', '\n':
		case '-':
			sb.WriteByte('+')
		case '_':
			sb.WriteByte('/')
		default:
			sb.WriteByte(c)
		}
	}
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(sb.String(), "="))
	return b, err == nil
}

// decodeSegment decodes one JWT segment: as okio does when lenient (which
// covers base64url), else as iOS does, standard base64 after padding.
func decodeSegment(seg string, lenient bool) ([]byte, bool) {
	if lenient {
		return decodeOkio(seg)
	}
	if strings.ContainsAny(seg, "\r\n=") {
		return nil, false
	}
	b, err := base64.RawStdEncoding.DecodeString(seg)
	return b, err == nil
}

// decodeJWT checks the JWT's structure and returns its claims.
func decodeJWT(jwt string, lenient, shorthandOnly bool) (Claims, error) {
	segs := strings.Split(jwt, ".")
	if len(segs) != 3 || segs[0] == "" || segs[1] == "" || segs[2] == "" {
		return Claims{}, malformed(ReasonJWTSegments)
	}
	header, ok := decodeSegment(segs[0], lenient)
	if !ok {
		return Claims{}, malformed(ReasonJWTBase64)
	}
	payload, ok := decodeSegment(segs[1], lenient)
	if !ok {
		return Claims{}, malformed(ReasonJWTBase64)
	}
	if _, err := base64.RawURLEncoding.DecodeString(segs[2]); err != nil {
		return Claims{}, malformed(ReasonJWTBase64)
	}
	var h struct {
		Alg *string `json:"alg"`
		Typ *string `json:"typ"`
	}
	if err := json.Unmarshal(header, &h); err != nil || h.Alg == nil || h.Typ == nil ||
		*h.Alg != "RS256" || *h.Typ != "JWT" {
		return Claims{}, malformed(ReasonJWTHeader)
	}
	var w wireClaims
	if err := json.Unmarshal(payload, &w); err != nil {
		return Claims{}, malformed(ReasonJWTClaims)
	}
	if w.Iss == nil || w.UID == nil || *w.UID == "" || w.Claims == nil || w.Claims.TeamID == nil ||
		*w.Claims.TeamID == "" || w.TenantID == nil {
		return Claims{}, malformed(ReasonMissingClaim)
	}
	env, region, ok := ParseIssuer(*w.Iss)
	if !ok || shorthandOnly && issuerRE.FindStringSubmatch(*w.Iss)[1] != shorthand(env) {
		return Claims{}, malformed(ReasonIssuer)
	}
	c := Claims{
		Issuer:      *w.Iss,
		UserID:      *w.UID,
		TeamID:      *w.Claims.TeamID,
		TenantID:    *w.TenantID,
		Environment: env,
		Region:      region,
		IssuedAt:    optionalSeconds(w.Iat),
		ExpiresAt:   optionalSeconds(w.Exp),
	}
	if len(w.JTI) > 0 {
		var id string
		if json.Unmarshal(w.JTI, &id) == nil {
			c.ID = id
		}
	}
	return c, nil
}

// optionalSeconds reads an iat or exp the SDKs ignore: a whole number of
// seconds in range, or the zero time for anything else.
func optionalSeconds(raw json.RawMessage) time.Time {
	var n json.Number
	if len(raw) == 0 || json.Unmarshal(raw, &n) != nil {
		return time.Time{}
	}
	t, ok := unixSeconds(n)
	if !ok {
		return time.Time{}
	}
	return t
}

// unixSeconds reads a NumericDate that is a whole number of seconds in
// [0, maxUnix].
func unixSeconds(n json.Number) (time.Time, bool) {
	v, err := n.Int64()
	if err != nil || v < 0 || v > maxUnix {
		return time.Time{}, false
	}
	return time.Unix(v, 0).UTC(), true
}

// unixOrNil is t in Unix seconds, or nil for the zero time (left out).
func unixOrNil(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	u := t.Unix()
	return &u
}

// EncodeSignInToken mints a Sign-In Token for the claims, signed with key
// (RS256: SHA-256, PKCS #1 v1.5). An empty Claims.Issuer is filled in with
// [IssuerFor]; a given one must name Claims.Environment and Claims.Region.
// IssuedAt and ExpiresAt are truncated to whole seconds (a zero one is left
// out, as a token the SDKs accept may lack it); a non-empty ID is
// written as the jti claim. Errors are
// *[TokenError] values matching [ErrInvalidClaims].
//
// The token is standard base64 with padding, and its JWT header and claims
// segments contain neither '-' nor '_' (every byte that could produce one is
// written as a JSON \u escape), so iOS, which decodes them as standard
// base64, accepts it too.
func EncodeSignInToken(c Claims, publicKey string, key *rsa.PrivateKey) (string, error) {
	if key == nil {
		return "", &TokenError{Reason: ReasonNoKey, Err: ErrInvalidClaims}
	}
	iss := c.Issuer
	if iss == "" {
		iss = IssuerFor(c.Environment, c.Region)
	}
	env, region, ok := ParseIssuer(iss)
	if !ok {
		return "", &TokenError{Reason: ReasonIssuer, Err: ErrInvalidClaims}
	}
	if env != c.Environment || region != c.Region {
		return "", &TokenError{Reason: ReasonClaimsMismatch, Err: ErrInvalidClaims}
	}
	if c.UserID == "" || c.TeamID == "" {
		return "", &TokenError{Reason: ReasonMissingClaim, Err: ErrInvalidClaims}
	}
	iat, exp := unixOrNil(c.IssuedAt), unixOrNil(c.ExpiresAt)
	if iat != nil && (*iat < 0 || *iat > maxUnix) || exp != nil && (*exp < 0 || *exp > maxUnix) {
		return "", &TokenError{Reason: ReasonTime, Err: ErrInvalidClaims}
	}
	type teamClaims struct {
		TeamID string `json:"vital_team_id"`
	}
	payload, err := json.Marshal(struct {
		Iss      string     `json:"iss"`
		Sub      string     `json:"sub"`
		UID      string     `json:"uid"`
		TenantID string     `json:"tenant_id"`
		Claims   teamClaims `json:"claims"`
		Iat      *int64     `json:"iat,omitempty"`
		Exp      *int64     `json:"exp,omitempty"`
		JTI      string     `json:"jti,omitempty"`
	}{iss, iss, c.UserID, c.TenantID, teamClaims{c.TeamID}, iat, exp, c.ID})
	if err != nil {
		return "", &TokenError{Reason: ReasonJWTClaims, Err: ErrInvalidClaims}
	}
	signingInput := base64.RawURLEncoding.EncodeToString([]byte(jwtHeader)) + "." +
		base64.RawURLEncoding.EncodeToString(asciiJSON(payload))
	digest := sha256.Sum256([]byte(signingInput))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", &TokenError{Reason: ReasonSigning, Err: ErrInvalidClaims}
	}
	jwt := signingInput + "." + base64.RawURLEncoding.EncodeToString(sig)
	outer, err := json.Marshal(struct {
		PublicKey string `json:"public_key"`
		UserToken string `json:"user_token"`
	}{publicKey, jwt})
	if err != nil {
		return "", &TokenError{Reason: ReasonOuterJSON, Err: ErrInvalidClaims}
	}
	return base64.StdEncoding.EncodeToString(outer), nil
}

// asciiJSON rewrites marshalled JSON so that its base64url encoding holds
// neither '-' nor '_'. Those encode the 6-bit values 62 and 63, which ASCII
// bytes produce only as the last byte of a 3-byte group and only for '>',
// '?', '~' and DEL; non-ASCII bytes may produce them anywhere. Every such
// character (which json.Marshal only emits inside strings, '>' already as
// \u003e) is written as a \u escape.
func asciiJSON(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b))
	const hex = "0123456789abcdef"
	esc := func(r rune) {
		out.WriteString(`\u`)
		out.WriteByte(hex[r>>12&0xf])
		out.WriteByte(hex[r>>8&0xf])
		out.WriteByte(hex[r>>4&0xf])
		out.WriteByte(hex[r&0xf])
	}
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == '>' || r == '?' || r == '~' || r == 0x7f:
			esc(r)
		case r < utf8.RuneSelf:
			out.WriteByte(byte(r))
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			esc(r1)
			esc(r2)
		default:
			// json.Marshal emits valid UTF-8 only, so RuneError here is U+FFFD.
			esc(r)
		}
		b = b[size:]
	}
	return out.Bytes()
}

// VerifySignInToken checks the RS256 signature of tok.UserToken against
// pub. The SDKs never do this; servers that mint tokens (the emulator's token
// endpoint) do. It looks at UserToken only: tok.Claims are as trustworthy as
// the signature only when they were decoded from that UserToken, as
// [DecodeSignInToken] does. Errors are *[TokenError] values matching
// [ErrBadSignature], or [ErrMalformedToken] when the JWT is not three
// segments with a base64url signature.
func VerifySignInToken(tok SignInToken, pub *rsa.PublicKey) error {
	if pub == nil {
		return &TokenError{Reason: ReasonNoKey, Err: ErrBadSignature}
	}
	i := strings.LastIndexByte(tok.UserToken, '.')
	if i < 0 || strings.Count(tok.UserToken, ".") != 2 {
		return malformed(ReasonJWTSegments)
	}
	sig, err := base64.RawURLEncoding.DecodeString(tok.UserToken[i+1:])
	if err != nil {
		return malformed(ReasonJWTBase64)
	}
	digest := sha256.Sum256([]byte(tok.UserToken[:i]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
		return &TokenError{Reason: ReasonSignature, Err: ErrBadSignature}
	}
	return nil
}
