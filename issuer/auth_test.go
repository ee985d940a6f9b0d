package issuer_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/issuer"
)

var (
	testSecret = []byte("0123456789abcdef-test-secret")
	testEpoch  = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestSessionRoundTrip(t *testing.T) {
	for _, user := range []string{"u1", "user@example.com", "ユーザー", strings.Repeat("x", issuer.MaxAppUserIDLen)} {
		s, err := issuer.NewSession(testSecret, user, time.Hour, testEpoch)
		require.NoError(t, err)
		a, err := issuer.NewHMACAuthenticator(testSecret, fixedClock(testEpoch.Add(59*time.Minute)))
		require.NoError(t, err)
		got, err := a.Verify(s)
		require.NoError(t, err)
		require.Equal(t, user, got)

		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "bearer "+s)
		got, err = a.Authenticate(r)
		require.NoError(t, err)
		require.Equal(t, user, got)
	}
}

func TestSessionExpiry(t *testing.T) {
	s, err := issuer.NewSession(testSecret, "u1", time.Hour, testEpoch)
	require.NoError(t, err)
	for _, tc := range []struct {
		at   time.Time
		want error
	}{
		{testEpoch, nil},
		{testEpoch.Add(time.Hour - time.Nanosecond), nil},
		{testEpoch.Add(time.Hour), issuer.ErrSessionExpired},
		{testEpoch.Add(48 * time.Hour), issuer.ErrSessionExpired},
	} {
		a, err := issuer.NewHMACAuthenticator(testSecret, fixedClock(tc.at))
		require.NoError(t, err)
		_, err = a.Verify(s)
		if tc.want == nil {
			require.NoError(t, err, "at %v", tc.at)
			continue
		}
		require.ErrorIs(t, err, tc.want, "at %v", tc.at)
		require.ErrorIs(t, err, issuer.ErrUnauthorized)
	}
}

func TestSessionRejected(t *testing.T) {
	good, err := issuer.NewSession(testSecret, "alice", time.Hour, testEpoch)
	require.NoError(t, err)
	parts := strings.Split(good, ".")
	require.Len(t, parts, 3)
	forgedPayload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"bob","exp":4102444800}`))
	other, err := issuer.NewSession([]byte("another-secret-of-16+bytes"), "alice", time.Hour, testEpoch)
	require.NoError(t, err)
	unsignedJunk := "v1." + base64.RawURLEncoding.EncodeToString([]byte("not json"))
	junkMAC := base64.RawURLEncoding.EncodeToString(issuer.MAC(testSecret, unsignedJunk))
	emptySub := "v1." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"","exp":4102444800}`))

	cases := map[string]string{
		"empty":               "",
		"no dots":             "abc",
		"wrong version":       "v2." + parts[1] + "." + parts[2],
		"missing mac":         parts[0] + "." + parts[1],
		"forged payload":      parts[0] + "." + forgedPayload + "." + parts[2],
		"other secret":        other,
		"mac not base64":      parts[0] + "." + parts[1] + ".!!!",
		"truncated mac":       good[:len(good)-2],
		"signed junk payload": unsignedJunk + "." + junkMAC,
		"signed empty sub":    emptySub + "." + base64.RawURLEncoding.EncodeToString(issuer.MAC(testSecret, emptySub)),
		"too long":            strings.Repeat("a", 5000),
	}
	a, err := issuer.NewHMACAuthenticator(testSecret, fixedClock(testEpoch))
	require.NoError(t, err)
	for name, s := range cases {
		_, err := a.Verify(s)
		require.ErrorIs(t, err, issuer.ErrInvalidSession, name)
		require.ErrorIs(t, err, issuer.ErrUnauthorized, name)
		if s != "" {
			require.NotContains(t, err.Error(), s, name)
		}
	}
}

func TestAuthenticateHeader(t *testing.T) {
	s, err := issuer.NewSession(testSecret, "alice", time.Hour, testEpoch)
	require.NoError(t, err)
	a, err := issuer.NewHMACAuthenticator(testSecret, fixedClock(testEpoch))
	require.NoError(t, err)
	for _, tc := range []struct {
		header string
		want   error
	}{
		{"", issuer.ErrNoCredentials},
		{"Basic " + s, issuer.ErrInvalidSession},
		{"Bearer", issuer.ErrInvalidSession},
		{s, issuer.ErrInvalidSession},
		{"Bearer " + s + "x", issuer.ErrInvalidSession},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		_, err := a.Authenticate(r)
		require.ErrorIs(t, err, tc.want, "header %q", tc.header)
		require.ErrorIs(t, err, issuer.ErrUnauthorized)
	}
}

func TestSessionConfigErrors(t *testing.T) {
	_, err := issuer.NewSession([]byte("short"), "u", time.Hour, testEpoch)
	require.ErrorIs(t, err, issuer.ErrInvalidConfig)
	_, err = issuer.NewSession(testSecret, "u", 0, testEpoch)
	require.ErrorIs(t, err, issuer.ErrInvalidConfig)
	_, err = issuer.NewHMACAuthenticator(nil, nil)
	require.ErrorIs(t, err, issuer.ErrInvalidConfig)
	for _, bad := range []string{"", " u", "u\n", "a\x00b", strings.Repeat("x", issuer.MaxAppUserIDLen+1), "\xff"} {
		_, err = issuer.NewSession(testSecret, bad, time.Hour, testEpoch)
		require.ErrorIs(t, err, issuer.ErrInvalidAppUser, "%q", bad)
	}
}

func TestAuthenticatorCopiesSecret(t *testing.T) {
	secret := append([]byte(nil), testSecret...)
	a, err := issuer.NewHMACAuthenticator(secret, fixedClock(testEpoch))
	require.NoError(t, err)
	s, err := issuer.NewSession(testSecret, "u", time.Hour, testEpoch)
	require.NoError(t, err)
	secret[0] ^= 0xff
	_, err = a.Verify(s)
	require.NoError(t, err)
}

func FuzzHMACVerify(f *testing.F) {
	good, err := issuer.NewSession(testSecret, "alice", time.Hour, testEpoch)
	require.NoError(f, err)
	f.Add(good)
	f.Add("v1..")
	f.Add("v1.e30.")
	f.Add(strings.Replace(good, "v1.", "v2.", 1))
	f.Add(good + "=")
	f.Add(good[:len(good)-1] + "B")
	f.Add(good[:20] + "\n" + good[20:])
	a, err := issuer.NewHMACAuthenticator(testSecret, fixedClock(testEpoch))
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, s string) {
		user, err := a.Verify(s)
		if err != nil {
			require.ErrorIs(t, err, issuer.ErrUnauthorized)
			require.Empty(t, user)
			return
		}
		require.NoError(t, issuer.ValidateAppUserID(user))
		// Anything accepted must be what NewSession would mint for it.
		version, rest, _ := strings.Cut(s, ".")
		payload, _, _ := strings.Cut(rest, ".")
		require.Equal(t, s, version+"."+payload+"."+base64.RawURLEncoding.EncodeToString(issuer.MAC(testSecret, version+"."+payload)))
	})
}

// flipLastBits returns s with the lowest bit of its last base64url character
// flipped: for a 32-byte MAC (43 characters, 2 spare bits) and most
// payloads, the result decodes to the same bytes under a lenient decoder.
func flipLastBits(t *testing.T, s string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, s[len(s)-1])
	require.GreaterOrEqual(t, i, 0)
	return s[:len(s)-1] + string(alphabet[i^1])
}

// A session has exactly one valid spelling: any other string that decodes
// to the same MAC or payload bytes is refused.
func TestSessionHasOneSpelling(t *testing.T) {
	good, err := issuer.NewSession(testSecret, "alice", time.Hour, testEpoch)
	require.NoError(t, err)
	parts := strings.Split(good, ".")
	require.Len(t, parts, 3)
	a, err := issuer.NewHMACAuthenticator(testSecret, fixedClock(testEpoch))
	require.NoError(t, err)
	_, err = a.Verify(good)
	require.NoError(t, err)

	sameMAC := flipLastBits(t, parts[2])
	lenient, err := base64.RawURLEncoding.DecodeString(sameMAC)
	require.NoError(t, err, "the lenient decoder accepts the altered MAC")
	canonical, err := base64.RawURLEncoding.DecodeString(parts[2])
	require.NoError(t, err)
	require.Equal(t, canonical, lenient, "and reads the same bytes from it")

	// A payload altered the same way, MACed honestly: only the secret's
	// holder can make one, but it must still have one spelling.
	var respelled string
	if len(parts[1])%4 != 0 {
		p := flipLastBits(t, parts[1])
		if b, err := base64.RawURLEncoding.DecodeString(p); err == nil {
			orig, _ := base64.RawURLEncoding.DecodeString(parts[1])
			if string(b) == string(orig) {
				signed := "v1." + p
				respelled = signed + "." + base64.RawURLEncoding.EncodeToString(issuer.MAC(testSecret, signed))
			}
		}
	}

	for name, s := range map[string]string{
		"flipped trailing MAC bit": parts[0] + "." + parts[1] + "." + sameMAC,
		"padded MAC":               good + "=",
		"line break in MAC":        parts[0] + "." + parts[1] + "." + parts[2][:10] + "\n" + parts[2][10:],
		"CR in MAC":                parts[0] + "." + parts[1] + "." + parts[2][:10] + "\r" + parts[2][10:],
		"standard alphabet MAC":    parts[0] + "." + parts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[2]) + "+",
		"respelled payload":        respelled,
	} {
		if s == "" {
			continue
		}
		_, err := a.Verify(s)
		require.ErrorIs(t, err, issuer.ErrInvalidSession, name)
		require.ErrorIs(t, err, issuer.ErrMalformedSession, name)
	}
}

func TestAuthenticateRefusesTwoAuthorizationHeaders(t *testing.T) {
	alice, err := issuer.NewSession(testSecret, "alice", time.Hour, testEpoch)
	require.NoError(t, err)
	bob, err := issuer.NewSession(testSecret, "bob", time.Hour, testEpoch)
	require.NoError(t, err)
	a, err := issuer.NewHMACAuthenticator(testSecret, fixedClock(testEpoch))
	require.NoError(t, err)
	for name, values := range map[string][]string{
		"two sessions":     {"Bearer " + alice, "Bearer " + bob},
		"the same twice":   {"Bearer " + alice, "Bearer " + alice},
		"valid then empty": {"Bearer " + alice, ""},
		"empty then valid": {"", "Bearer " + alice},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header["Authorization"] = values
		user, err := a.Authenticate(r)
		require.ErrorIs(t, err, issuer.ErrUnauthorized, name)
		require.ErrorIs(t, err, issuer.ErrMultipleAuthorization, name)
		require.Empty(t, user, name)
	}
}

// Every refusal names its reason with a sentinel that matches the broader
// ones callers already test for.
func TestAuthenticateReasons(t *testing.T) {
	good, err := issuer.NewSession(testSecret, "alice", time.Hour, testEpoch)
	require.NoError(t, err)
	other, err := issuer.NewSession([]byte("another-secret-of-16+bytes"), "alice", time.Hour, testEpoch)
	require.NoError(t, err)
	parts := strings.Split(good, ".")
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"bob","exp":1795521600}`)) + "." + parts[2]
	a, err := issuer.NewHMACAuthenticator(testSecret, fixedClock(testEpoch.Add(2*time.Hour)))
	require.NoError(t, err)
	fresh, err := issuer.NewHMACAuthenticator(testSecret, fixedClock(testEpoch))
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		auth   *issuer.HMACAuthenticator
		header string
		want   error
	}{
		{"none", fresh, "", issuer.ErrNoCredentials},
		{"basic scheme", fresh, "Basic " + good, issuer.ErrMalformedSession},
		{"no scheme", fresh, good, issuer.ErrMalformedSession},
		{"garbage", fresh, "Bearer x.y.z", issuer.ErrMalformedSession},
		{"other secret", fresh, "Bearer " + other, issuer.ErrBadSignature},
		{"forged payload", fresh, "Bearer " + forged, issuer.ErrBadSignature},
		{"expired", a, "Bearer " + good, issuer.ErrSessionExpired},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		_, err := tc.auth.Authenticate(r)
		require.ErrorIs(t, err, tc.want, tc.name)
		require.ErrorIs(t, err, issuer.ErrUnauthorized, tc.name)
		if errors.Is(tc.want, issuer.ErrInvalidSession) {
			require.ErrorIs(t, err, issuer.ErrInvalidSession, tc.name)
		}
	}
}

func TestSessionLifetimeIsBounded(t *testing.T) {
	_, err := issuer.NewSession(testSecret, "alice", issuer.MaxSessionTTL+time.Second, testEpoch)
	require.ErrorIs(t, err, issuer.ErrInvalidConfig)
	_, err = issuer.NewSession(testSecret, "alice", -time.Hour, testEpoch)
	require.ErrorIs(t, err, issuer.ErrInvalidConfig)
	longest, err := issuer.NewSession(testSecret, "alice", issuer.MaxSessionTTL, testEpoch)
	require.NoError(t, err)
	a, err := issuer.NewHMACAuthenticator(testSecret, fixedClock(testEpoch))
	require.NoError(t, err)
	_, err = a.Verify(longest)
	require.NoError(t, err, "the longest session NewSession mints verifies")

	// A session signed with the secret by other means, living a year, is
	// not one NewSession would mint: refused.
	signed := "v1." + base64.RawURLEncoding.EncodeToString(
		[]byte(`{"sub":"alice","exp":`+strconv.FormatInt(testEpoch.Add(365*24*time.Hour).Unix(), 10)+`}`))
	year := signed + "." + base64.RawURLEncoding.EncodeToString(issuer.MAC(testSecret, signed))
	_, err = a.Verify(year)
	require.ErrorIs(t, err, issuer.ErrMalformedSession)
}
