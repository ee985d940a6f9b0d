package junction_test

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"

	"github.com/vitalsync/vitalsync/fsm"
)

const testPublicKey = "AIzaSyTestPublicKey"

// keys returns the test kit's two fixed RSA keys: the one that signs, and
// another.
func keys(testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	return emulatortest.SigningKey(), emulatortest.OtherKey()
}

func sampleClaims(env fsm.Environment, region fsm.Region) junction.Claims {
	iat := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	return junction.Claims{
		UserID:      "0b9c6a1e-3f5d-4b8e-9c2a-7d1e5f3a9b20",
		TenantID:    "tenant-1",
		TeamID:      "team-7",
		Environment: env,
		Region:      region,
		IssuedAt:    iat,
		ExpiresAt:   iat.Add(time.Hour),
	}
}

func TestSignInTokenRoundTrip(t *testing.T) {
	key, _ := keys(t)
	for _, env := range fsm.Environments() {
		for _, region := range fsm.Regions() {
			c := sampleClaims(env, region)
			raw, err := junction.EncodeSignInToken(c, testPublicKey, key)
			require.NoError(t, err)
			for _, lenient := range []bool{false, true} {
				tok, err := junction.DecodeSignInToken(raw, junction.DecodeOptions{Lenient: lenient})
				require.NoError(t, err, "%s/%s lenient=%v", env, region, lenient)
				want := c
				want.Issuer = junction.IssuerFor(env, region)
				require.Equal(t, want, tok.Claims)
				require.Equal(t, testPublicKey, tok.PublicKey)
				require.NoError(t, junction.VerifySignInToken(tok, &key.PublicKey))
			}
		}
	}
}

func TestIssuer(t *testing.T) {
	for _, env := range fsm.Environments() {
		for _, region := range fsm.Regions() {
			e, r, ok := junction.ParseIssuer(junction.IssuerFor(env, region))
			require.True(t, ok)
			require.Equal(t, env, e)
			require.Equal(t, region, r)
		}
	}
	require.Equal(t, "id-signer-stg-us@vital-id-stg-us.iam.gserviceaccount.com", junction.IssuerFor(fsm.Sandbox, fsm.US))
	tests := []struct {
		iss    string
		env    fsm.Environment
		region fsm.Region
		ok     bool
	}{
		{"id-signer-production-eu@vital-id-prd-eu.iam.gserviceaccount.com", fsm.Production, fsm.EU, true},
		{"id-signer-prd-us@vital-id-prd-us.iam.gserviceaccount.com", fsm.Production, fsm.US, true},
		{"id-signer-sandbox-us@vital-id-stg-us.iam.gserviceaccount.com", fsm.Sandbox, fsm.US, true},
		{"id-signer-dev-eu@vital-id-dev-eu.iam.gserviceaccount.com", fsm.Dev, fsm.EU, true},
		// The SDKs' pattern leaves its dots unescaped.
		{"id-signer-dev-eu@vital-id-dev-euXiamXgserviceaccountXcom", fsm.Dev, fsm.EU, true},
		{"id-signer-local-eu@vital-id-dev-eu.iam.gserviceaccount.com", "", "", false},
		{"id-signer-stg-ap@vital-id-stg-ap.iam.gserviceaccount.com", "", "", false},
		{"id-signer-STG-us@vital-id-stg-us.iam.gserviceaccount.com", "", "", false},
		{"id-signer-stg-us@vital-id-stg-us.iam.gserviceaccount.com.evil", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		env, region, ok := junction.ParseIssuer(tt.iss)
		if env != tt.env || region != tt.region || ok != tt.ok {
			t.Errorf("ParseIssuer(%q) = %v, %v, %v, want %v, %v, %v", tt.iss, env, region, ok, tt.env, tt.region, tt.ok)
		}
	}
}

func TestBaseURLs(t *testing.T) {
	tests := []struct {
		env        fsm.Environment
		region     fsm.Region
		api, auths string
	}{
		{fsm.Production, fsm.US, "https://api.us.junction.com", "https://auth.us.junction.com"},
		{fsm.Production, fsm.EU, "https://api.eu.junction.com", "https://auth.eu.junction.com"},
		{fsm.Sandbox, fsm.US, "https://api.sandbox.us.junction.com", "https://auth.sandbox.us.junction.com"},
		{fsm.Sandbox, fsm.EU, "https://api.sandbox.eu.junction.com", "https://auth.sandbox.eu.junction.com"},
		{fsm.Dev, fsm.US, "https://api.dev.us.junction.com", "https://auth.dev.us.junction.com"},
		{fsm.Dev, fsm.EU, "https://api.dev.eu.junction.com", "https://auth.dev.eu.junction.com"},
		{"local", fsm.EU, "", ""},
		{fsm.Sandbox, "ap", "", ""},
	}
	for _, tt := range tests {
		if got := junction.APIBaseURL(tt.env, tt.region); got != tt.api {
			t.Errorf("APIBaseURL(%v, %v) = %q, want %q", tt.env, tt.region, got, tt.api)
		}
		if got := junction.AuthBaseURL(tt.env, tt.region); got != tt.auths {
			t.Errorf("AuthBaseURL(%v, %v) = %q, want %q", tt.env, tt.region, got, tt.auths)
		}
	}
}

// jwtOf builds a JWT from raw header and claims JSON with base64url segments.
func jwtOf(header, claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(claims)) + "." + enc([]byte("signature"))
}

// outerOf wraps a user token in a standard base64 Sign-In Token.
func outerOf(publicKey, userToken string) string {
	b, _ := json.Marshal(map[string]string{"public_key": publicKey, "user_token": userToken})
	return base64.StdEncoding.EncodeToString(b)
}

const (
	okHeader = `{"alg":"RS256","typ":"JWT"}`
	okClaims = `{"iss":"id-signer-stg-us@vital-id-stg-us.iam.gserviceaccount.com","uid":"u1","tenant_id":"t","claims":{"vital_team_id":"team"},"iat":1700000000,"exp":1700003600}`
)

func TestDecodeSignInTokenRejects(t *testing.T) {
	okJWT := jwtOf(okHeader, okClaims)
	ok := outerOf("pk", okJWT)
	// Sanity: the base case is accepted in both modes.
	for _, lenient := range []bool{false, true} {
		_, err := junction.DecodeSignInToken(ok, junction.DecodeOptions{Lenient: lenient})
		require.NoError(t, err)
	}
	claims := func(s string) string { return outerOf("pk", jwtOf(okHeader, s)) }
	// A claims segment holding '_' (0x3f in the last byte of a group).
	underscore := claims(`{"iss":"id-signer-stg-us@vital-id-stg-us.iam.gserviceaccount.com","uid":"u???","tenant_id":"t","claims":{"vital_team_id":"t"},"iat":1,"exp":2}`)
	require.Contains(t, strings.Split(mustOuterJWT(t, underscore), ".")[1], "_")
	// The same claims with the segments in the standard alphabet, as iOS
	// decodes them.
	stdSegments := strings.NewReplacer("-", "+", "_", "/").Replace(mustOuterJWT(t, underscore))
	require.Contains(t, stdSegments, "/")
	stdSegments = outerOf("pk", stdSegments[:strings.LastIndexByte(stdSegments, '.')]+".c2ln")
	urlSafe := strings.NewReplacer("+", "-", "/", "_").Replace(outerOf("pk???", okJWT))
	require.True(t, strings.ContainsAny(urlSafe, "-_"))

	tests := []struct {
		name    string
		raw     string
		lenient bool
		reason  junction.TokenReason // "" means accepted
	}{
		{"empty", "", false, junction.ReasonOuterJSON},
		{"not base64", "!!!", true, junction.ReasonOuterBase64},
		{"unpadded strict", strings.TrimRight(outerOf("p", okJWT), "="), false, junction.ReasonOuterBase64},
		{"unpadded lenient", strings.TrimRight(outerOf("p", okJWT), "="), true, ""},
		{"newline strict", ok[:8] + "\n" + ok[8:], false, junction.ReasonOuterBase64},
		{"whitespace lenient", ok[:8] + " \n\t" + ok[8:], true, ""},
		{"url-safe strict", urlSafe, false, junction.ReasonOuterBase64},
		{"url-safe lenient", urlSafe, true, ""},
		{"not json", base64.StdEncoding.EncodeToString([]byte("nope")), false, junction.ReasonOuterJSON},
		{"no user_token", base64.StdEncoding.EncodeToString([]byte(`{"public_key":"p"}`)), false, junction.ReasonOuterJSON},
		{"no public_key", base64.StdEncoding.EncodeToString([]byte(`{"user_token":"` + okJWT + `"}`)), false, junction.ReasonOuterJSON},
		{"user_token not string", base64.StdEncoding.EncodeToString([]byte(`{"public_key":"p","user_token":1}`)), false, junction.ReasonOuterJSON},
		{"two segments", outerOf("p", "a.b"), false, junction.ReasonJWTSegments},
		{"four segments", outerOf("p", okJWT+".x"), false, junction.ReasonJWTSegments},
		{"empty signature", outerOf("p", strings.TrimSuffix(okJWT, okJWT[strings.LastIndexByte(okJWT, '.')+1:])), false, junction.ReasonJWTSegments},
		{"bad segment base64", outerOf("p", "!!."+strings.SplitN(okJWT, ".", 2)[1]), false, junction.ReasonJWTBase64},
		{"bad signature base64", outerOf("p", okJWT[:strings.LastIndexByte(okJWT, '.')]+".a+b/"), true, junction.ReasonJWTBase64},
		{"underscore in claims strict", underscore, false, junction.ReasonJWTBase64},
		{"underscore in claims lenient", underscore, true, ""},
		{"alg none", outerOf("p", jwtOf(`{"alg":"none","typ":"JWT"}`, okClaims)), false, junction.ReasonJWTHeader},
		{"alg HS256", outerOf("p", jwtOf(`{"alg":"HS256","typ":"JWT"}`, okClaims)), false, junction.ReasonJWTHeader},
		{"no typ", outerOf("p", jwtOf(`{"alg":"RS256"}`, okClaims)), false, junction.ReasonJWTHeader},
		{"standard-alphabet claims strict", stdSegments, false, ""},
		{"standard-alphabet claims lenient", stdSegments, true, ""},
		{"header with kid", outerOf("p", jwtOf(`{"alg":"RS256","kid":"k1","typ":"JWT"}`, okClaims)), true, ""},
		{"claims not object", claims(`[1]`), false, junction.ReasonJWTClaims},
		{"uid number", claims(`{"iss":"id-signer-stg-us@vital-id-stg-us.iam.gserviceaccount.com","uid":1,"tenant_id":"t","claims":{"vital_team_id":"t"},"iat":1,"exp":2}`), false, junction.ReasonJWTClaims},
		{"no uid", claims(`{"iss":"id-signer-stg-us@vital-id-stg-us.iam.gserviceaccount.com","tenant_id":"t","claims":{"vital_team_id":"t"},"iat":1,"exp":2}`), false, junction.ReasonMissingClaim},
		{"empty uid", claims(`{"iss":"id-signer-stg-us@vital-id-stg-us.iam.gserviceaccount.com","uid":"","tenant_id":"t","claims":{"vital_team_id":"t"},"iat":1,"exp":2}`), false, junction.ReasonMissingClaim},
		{"no team", claims(`{"iss":"id-signer-stg-us@vital-id-stg-us.iam.gserviceaccount.com","uid":"u","claims":{},"iat":1,"exp":2}`), false, junction.ReasonMissingClaim},
		{"no exp", claims(`{"iss":"id-signer-stg-us@vital-id-stg-us.iam.gserviceaccount.com","uid":"u","tenant_id":"t","claims":{"vital_team_id":"t"},"iat":1}`), false, ""},
		{"no tenant", claims(`{"iss":"id-signer-stg-us@vital-id-stg-us.iam.gserviceaccount.com","uid":"u","claims":{"vital_team_id":"t"},"iat":1,"exp":2}`), false, junction.ReasonMissingClaim},
		{"bad issuer", claims(`{"iss":"accounts.google.com","uid":"u","tenant_id":"t","claims":{"vital_team_id":"t"},"iat":1,"exp":2}`), false, junction.ReasonIssuer},
		{"local issuer", claims(`{"iss":"id-signer-local-eu@vital-id-local-eu.iam.gserviceaccount.com","uid":"u","tenant_id":"t","claims":{"vital_team_id":"t"},"iat":1,"exp":2}`), false, junction.ReasonIssuer},
		{"fractional exp", claims(`{"iss":"id-signer-stg-us@vital-id-stg-us.iam.gserviceaccount.com","uid":"u","tenant_id":"t","claims":{"vital_team_id":"t"},"iat":1,"exp":2.5}`), false, ""},
		{"negative iat", claims(`{"iss":"id-signer-stg-us@vital-id-stg-us.iam.gserviceaccount.com","uid":"u","tenant_id":"t","claims":{"vital_team_id":"t"},"iat":-1,"exp":2}`), false, ""},
		{"huge exp", claims(`{"iss":"id-signer-stg-us@vital-id-stg-us.iam.gserviceaccount.com","uid":"u","tenant_id":"t","claims":{"vital_team_id":"t"},"iat":1,"exp":1e300}`), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := junction.DecodeSignInToken(tt.raw, junction.DecodeOptions{Lenient: tt.lenient})
			if tt.reason == "" {
				require.NoError(t, err)
				e, r, ok := junction.ParseIssuer(tok.Claims.Issuer)
				require.True(t, ok)
				require.Equal(t, e, tok.Claims.Environment)
				require.Equal(t, r, tok.Claims.Region)
				return
			}
			require.ErrorIs(t, err, junction.ErrMalformedToken)
			var te *junction.TokenError
			require.ErrorAs(t, err, &te)
			require.Equal(t, tt.reason, te.Reason)
			require.Equal(t, junction.SignInToken{}, tok)
			assertNoSecret(t, err, tt.raw)
		})
	}
}

// mustOuterJWT returns the user token inside a standard base64 Sign-In Token.
func mustOuterJWT(t *testing.T, raw string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(raw)
	require.NoError(t, err)
	var o struct {
		UserToken string `json:"user_token"`
	}
	require.NoError(t, json.Unmarshal(b, &o))
	return o.UserToken
}

// assertNoSecret fails when err's message holds any of the secrets, or any
// 12-character piece of one (so a truncated echo is caught too).
func assertNoSecret(t testing.TB, err error, secrets ...string) {
	t.Helper()
	s := &emulatortest.Secrets{Fragment: 12}
	s.Add(secrets...)
	if !s.CheckErr(t, err) {
		t.FailNow()
	}
}

func TestEncodeSignInTokenAvoidsDashAndUnderscore(t *testing.T) {
	key, _ := keys(t)
	// Characters whose bytes encode to '-' or '_' in base64url: '>', '?',
	// '~', DEL and non-ASCII, at every offset modulo 3.
	tricky := []string{"?", "~", ">", "\x7f", "é", "😀", "\u2028", "<&>", "a?", "ab?", "abc~~~???>>>"}
	for _, s := range tricky {
		for pad := 0; pad < 3; pad++ {
			c := sampleClaims(fsm.Sandbox, fsm.EU)
			c.UserID = strings.Repeat("x", pad) + s
			c.TeamID = s + strings.Repeat("y", pad)
			c.TenantID = s
			raw, err := junction.EncodeSignInToken(c, "pk"+s, key)
			require.NoError(t, err)
			payload := strings.Split(mustOuterJWT(t, raw), ".")[1]
			require.NotContains(t, payload, "-")
			require.NotContains(t, payload, "_")
			tok, err := junction.DecodeSignInToken(raw, junction.DecodeOptions{})
			require.NoError(t, err)
			require.Equal(t, c.UserID, tok.Claims.UserID)
			require.Equal(t, c.TeamID, tok.Claims.TeamID)
			require.Equal(t, c.TenantID, tok.Claims.TenantID)
			require.Equal(t, "pk"+s, tok.PublicKey)
		}
	}
}

func TestEncodeSignInTokenRejects(t *testing.T) {
	key, _ := keys(t)
	tests := []struct {
		name   string
		edit   func(*junction.Claims)
		key    *rsa.PrivateKey
		reason junction.TokenReason
	}{
		{"no key", func(*junction.Claims) {}, nil, junction.ReasonNoKey},
		{"unknown environment", func(c *junction.Claims) { c.Environment = "local" }, key, junction.ReasonIssuer},
		{"bad issuer", func(c *junction.Claims) { c.Issuer = "accounts.google.com" }, key, junction.ReasonIssuer},
		{"issuer for another region", func(c *junction.Claims) { c.Issuer = junction.IssuerFor(fsm.Sandbox, fsm.EU) }, key, junction.ReasonClaimsMismatch},
		{"no user", func(c *junction.Claims) { c.UserID = "" }, key, junction.ReasonMissingClaim},
		{"no team", func(c *junction.Claims) { c.TeamID = "" }, key, junction.ReasonMissingClaim},
		{"before 1970", func(c *junction.Claims) { c.IssuedAt = time.Unix(-1, 0) }, key, junction.ReasonTime},
		{"after 9999", func(c *junction.Claims) { c.ExpiresAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, key, junction.ReasonTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sampleClaims(fsm.Sandbox, fsm.US)
			tt.edit(&c)
			_, err := junction.EncodeSignInToken(c, "pk", tt.key)
			require.ErrorIs(t, err, junction.ErrInvalidClaims)
			var te *junction.TokenError
			require.ErrorAs(t, err, &te)
			require.Equal(t, tt.reason, te.Reason)
		})
	}
	// A long-form issuer that agrees with the claims is kept as given.
	c := sampleClaims(fsm.Production, fsm.EU)
	c.Issuer = "id-signer-production-eu@vital-id-prd-eu.iam.gserviceaccount.com"
	raw, err := junction.EncodeSignInToken(c, "pk", key)
	require.NoError(t, err)
	tok, err := junction.DecodeSignInToken(raw, junction.DecodeOptions{})
	require.NoError(t, err)
	require.Equal(t, c, tok.Claims)
}

func TestVerifySignInToken(t *testing.T) {
	key, other := keys(t)
	raw, err := junction.EncodeSignInToken(sampleClaims(fsm.Sandbox, fsm.US), "pk", key)
	require.NoError(t, err)
	tok, err := junction.DecodeSignInToken(raw, junction.DecodeOptions{})
	require.NoError(t, err)
	require.NoError(t, junction.VerifySignInToken(tok, &key.PublicKey))

	err = junction.VerifySignInToken(tok, &other.PublicKey)
	require.ErrorIs(t, err, junction.ErrBadSignature)
	assertNoSecret(t, err, raw, tok.UserToken)

	err = junction.VerifySignInToken(tok, nil)
	require.ErrorIs(t, err, junction.ErrBadSignature)

	// Tampered claims: re-sign nothing, swap the claims segment.
	segs := strings.Split(tok.UserToken, ".")
	forged := sampleClaims(fsm.Sandbox, fsm.US)
	forged.UserID = "someone-else"
	forgedRaw, err := junction.EncodeSignInToken(forged, "pk", other)
	require.NoError(t, err)
	forgedSegs := strings.Split(mustOuterJWT(t, forgedRaw), ".")
	tampered := junction.SignInToken{UserToken: segs[0] + "." + forgedSegs[1] + "." + segs[2]}
	require.ErrorIs(t, junction.VerifySignInToken(tampered, &key.PublicKey), junction.ErrBadSignature)

	require.ErrorIs(t, junction.VerifySignInToken(junction.SignInToken{UserToken: "a.b"}, &key.PublicKey), junction.ErrMalformedToken)
	require.ErrorIs(t, junction.VerifySignInToken(junction.SignInToken{UserToken: "a.b.!!"}, &key.PublicKey), junction.ErrMalformedToken)
}

func TestTokenErrorMessages(t *testing.T) {
	var err error = &junction.TokenError{Reason: junction.ReasonIssuer, Err: junction.ErrMalformedToken}
	require.True(t, errors.Is(err, junction.ErrMalformedToken))
	require.False(t, errors.Is(err, junction.ErrBadSignature))
	require.NotEmpty(t, err.Error())
}

func FuzzDecodeSignInToken(f *testing.F) {
	key, _ := keys(f)
	for _, env := range fsm.Environments() {
		raw, err := junction.EncodeSignInToken(sampleClaims(env, fsm.EU), "pk", key)
		require.NoError(f, err)
		f.Add(raw, false)
		f.Add(strings.NewReplacer("+", "-", "/", "_").Replace(strings.TrimRight(raw, "=")), true)
	}
	f.Add(outerOf("pk", jwtOf(okHeader, okClaims)), false)
	f.Add(outerOf("", jwtOf(`{"alg":"RS256","typ":"JWT","kid":"x"}`, `{"iss":"id-signer-production-us@vital-id-prd-us.iam.gserviceaccount.com","uid":"é?","tenant_id":"t","claims":{"vital_team_id":"~"},"iat":0,"exp":253402300799}`)), true)
	f.Add("", false)
	f.Add("e30=", true)
	f.Fuzz(func(t *testing.T, raw string, lenient bool) {
		tok, err := junction.DecodeSignInToken(raw, junction.DecodeOptions{Lenient: lenient})
		if err != nil {
			require.ErrorIs(t, err, junction.ErrMalformedToken)
			var te *junction.TokenError
			require.ErrorAs(t, err, &te)
			require.Equal(t, junction.SignInToken{}, tok)
			return
		}
		// Decoded claims are consistent.
		env, region, ok := junction.ParseIssuer(tok.Claims.Issuer)
		require.True(t, ok)
		require.Equal(t, env, tok.Claims.Environment)
		require.Equal(t, region, tok.Claims.Region)
		require.NotEmpty(t, tok.Claims.UserID)
		require.NotEmpty(t, tok.Claims.TeamID)
		if !lenient {
			// Strict input is canonical standard base64.
			b, err := base64.StdEncoding.DecodeString(raw)
			require.NoError(t, err)
			require.Equal(t, raw, base64.StdEncoding.EncodeToString(b))
			// Lenient accepts whatever strict accepts, with the same result.
			tl, err := junction.DecodeSignInToken(raw, junction.DecodeOptions{Lenient: true})
			require.NoError(t, err)
			require.Equal(t, tok, tl)
		}
		// Re-encoding the claims round-trips in both modes.
		again, err := junction.EncodeSignInToken(tok.Claims, tok.PublicKey, key)
		require.NoError(t, err)
		for _, l := range []bool{false, true} {
			tok2, err := junction.DecodeSignInToken(again, junction.DecodeOptions{Lenient: l})
			require.NoError(t, err)
			require.Equal(t, tok.Claims, tok2.Claims)
			require.Equal(t, tok.PublicKey, tok2.PublicKey)
			require.NoError(t, junction.VerifySignInToken(tok2, &key.PublicKey))
		}
	})
}

func BenchmarkDecodeSignInToken(b *testing.B) {
	key, _ := keys(b)
	raw, err := junction.EncodeSignInToken(sampleClaims(fsm.Sandbox, fsm.US), "pk", key)
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := junction.DecodeSignInToken(raw, junction.DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// The jti claim (Claims.ID) makes two tokens minted in the same second for
// the same user differ. It is optional, as in the real tokens, which the
// SDKs decode without reading it.
func TestSignInTokenID(t *testing.T) {
	key, _ := keys(t)
	c := sampleClaims(fsm.Sandbox, fsm.US)
	plain, err := junction.EncodeSignInToken(c, testPublicKey, key)
	require.NoError(t, err)
	again, err := junction.EncodeSignInToken(c, testPublicKey, key)
	require.NoError(t, err)
	require.Equal(t, plain, again, "without an ID, equal claims give equal tokens")

	c.ID = "6f1c0e2a9b7d4c3e8a5f0b1d2c3e4f5a"
	withID, err := junction.EncodeSignInToken(c, testPublicKey, key)
	require.NoError(t, err)
	require.NotEqual(t, plain, withID)
	for _, lenient := range []bool{false, true} {
		tok, err := junction.DecodeSignInToken(withID, junction.DecodeOptions{Lenient: lenient})
		require.NoError(t, err)
		require.Equal(t, c.ID, tok.Claims.ID)
		tok, err = junction.DecodeSignInToken(plain, junction.DecodeOptions{Lenient: lenient})
		require.NoError(t, err)
		require.Empty(t, tok.Claims.ID, "a token without jti decodes")
	}
	// A jti that is not a string is ignored, as the SDKs ignore the claim.
	claims := strings.Replace(okClaims, `"exp"`, `"jti":42,"exp"`, 1)
	require.NotEqual(t, okClaims, claims)
	tok, err := junction.DecodeSignInToken(outerOf("pk", jwtOf(okHeader, claims)), junction.DecodeOptions{})
	require.NoError(t, err)
	require.Empty(t, tok.Claims.ID)
}

// TestDecodeEdgeFacts is reference §10.2 on the Sign-In Token decoder:
// tenant_id is required, iat and exp are not read, and Android accepts only
// the environment shorthands dev, stg and prd.
func TestDecodeEdgeFacts(t *testing.T) {
	claims := func(s string) string { return outerOf("pk", jwtOf(okHeader, s)) }
	long := claims(`{"iss":"id-signer-production-us@vital-id-prd-us.iam.gserviceaccount.com","uid":"u","tenant_id":"t","claims":{"vital_team_id":"t"}}`)
	ios, err := junction.DecodeSignInToken(long, junction.DecodeOptions{})
	require.NoError(t, err, "iOS accepts production and needs no iat or exp")
	require.Equal(t, fsm.Production, ios.Claims.Environment)
	require.True(t, ios.Claims.IssuedAt.IsZero())
	require.True(t, ios.Claims.ExpiresAt.IsZero())
	_, err = junction.DecodeSignInToken(long, junction.DecodeOptions{Lenient: true, ShorthandOnly: true})
	var te *junction.TokenError
	require.ErrorAs(t, err, &te, "Android's parseEnvironmentShorthand knows only dev, stg, prd")
	require.Equal(t, junction.ReasonIssuer, te.Reason)

	short := claims(`{"iss":"id-signer-prd-eu@vital-id-prd-eu.iam.gserviceaccount.com","uid":"u","tenant_id":"","claims":{"vital_team_id":"t"},"iat":"soon"}`)
	and, err := junction.DecodeSignInToken(short, junction.DecodeOptions{Lenient: true, ShorthandOnly: true})
	require.NoError(t, err, "an empty tenant is present; a string iat is not read")
	require.Equal(t, fsm.EU, and.Claims.Region)
	require.True(t, and.Claims.IssuedAt.IsZero())

	// A token without iat and exp round-trips through the encoder.
	key, _ := keys(t)
	again, err := junction.EncodeSignInToken(ios.Claims, "pk", key)
	require.NoError(t, err)
	back, err := junction.DecodeSignInToken(again, junction.DecodeOptions{})
	require.NoError(t, err)
	require.Equal(t, ios.Claims, back.Claims)
}
