package issuer

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
)

var (
	testSecret = []byte("0123456789abcdef-test-secret")
	testEpoch  = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestSessionRoundTrip(t *testing.T) {
	for _, user := range []string{"u1", "user@example.com", "ユーザー", strings.Repeat("x", MaxAppUserIDLen)} {
		s, err := NewSession(testSecret, user, time.Hour, testEpoch)
		require.NoError(t, err)
		a, err := NewHMACAuthenticator(testSecret, fixedClock(testEpoch.Add(59*time.Minute)))
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
	s, err := NewSession(testSecret, "u1", time.Hour, testEpoch)
	require.NoError(t, err)
	for _, tc := range []struct {
		at   time.Time
		want error
	}{
		{testEpoch, nil},
		{testEpoch.Add(time.Hour - time.Nanosecond), nil},
		{testEpoch.Add(time.Hour), ErrSessionExpired},
		{testEpoch.Add(48 * time.Hour), ErrSessionExpired},
	} {
		a, err := NewHMACAuthenticator(testSecret, fixedClock(tc.at))
		require.NoError(t, err)
		_, err = a.Verify(s)
		if tc.want == nil {
			require.NoError(t, err, "at %v", tc.at)
			continue
		}
		require.ErrorIs(t, err, tc.want, "at %v", tc.at)
		require.ErrorIs(t, err, ErrUnauthorized)
	}
}

func TestSessionRejected(t *testing.T) {
	good, err := NewSession(testSecret, "alice", time.Hour, testEpoch)
	require.NoError(t, err)
	parts := strings.Split(good, ".")
	require.Len(t, parts, 3)
	forgedPayload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"bob","exp":4102444800}`))
	other, err := NewSession([]byte("another-secret-of-16+bytes"), "alice", time.Hour, testEpoch)
	require.NoError(t, err)
	unsignedJunk := "v1." + base64.RawURLEncoding.EncodeToString([]byte("not json"))
	junkMAC := base64.RawURLEncoding.EncodeToString(mac(testSecret, unsignedJunk))
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
		"signed empty sub":    emptySub + "." + base64.RawURLEncoding.EncodeToString(mac(testSecret, emptySub)),
		"too long":            strings.Repeat("a", 5000),
	}
	a, err := NewHMACAuthenticator(testSecret, fixedClock(testEpoch))
	require.NoError(t, err)
	for name, s := range cases {
		_, err := a.Verify(s)
		require.ErrorIs(t, err, ErrInvalidSession, name)
		require.ErrorIs(t, err, ErrUnauthorized, name)
		if s != "" {
			require.NotContains(t, err.Error(), s, name)
		}
	}
}

func TestAuthenticateHeader(t *testing.T) {
	s, err := NewSession(testSecret, "alice", time.Hour, testEpoch)
	require.NoError(t, err)
	a, err := NewHMACAuthenticator(testSecret, fixedClock(testEpoch))
	require.NoError(t, err)
	for _, tc := range []struct {
		header string
		want   error
	}{
		{"", ErrNoCredentials},
		{"Basic " + s, ErrInvalidSession},
		{"Bearer", ErrInvalidSession},
		{s, ErrInvalidSession},
		{"Bearer " + s + "x", ErrInvalidSession},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		_, err := a.Authenticate(r)
		require.ErrorIs(t, err, tc.want, "header %q", tc.header)
		require.ErrorIs(t, err, ErrUnauthorized)
	}
}

func TestSessionConfigErrors(t *testing.T) {
	_, err := NewSession([]byte("short"), "u", time.Hour, testEpoch)
	require.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewSession(testSecret, "u", 0, testEpoch)
	require.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewHMACAuthenticator(nil, nil)
	require.ErrorIs(t, err, ErrInvalidConfig)
	for _, bad := range []string{"", " u", "u\n", "a\x00b", strings.Repeat("x", MaxAppUserIDLen+1), "\xff"} {
		_, err = NewSession(testSecret, bad, time.Hour, testEpoch)
		require.ErrorIs(t, err, ErrInvalidAppUser, "%q", bad)
	}
}

func TestAuthenticatorCopiesSecret(t *testing.T) {
	secret := append([]byte(nil), testSecret...)
	a, err := NewHMACAuthenticator(secret, fixedClock(testEpoch))
	require.NoError(t, err)
	s, err := NewSession(testSecret, "u", time.Hour, testEpoch)
	require.NoError(t, err)
	secret[0] ^= 0xff
	_, err = a.Verify(s)
	require.NoError(t, err)
}

func FuzzHMACVerify(f *testing.F) {
	good, err := NewSession(testSecret, "alice", time.Hour, testEpoch)
	require.NoError(f, err)
	f.Add(good)
	f.Add("v1..")
	f.Add("v1.e30.")
	f.Add(strings.Replace(good, "v1.", "v2.", 1))
	f.Add(good + "=")
	f.Add(good[:len(good)-1] + "B")
	f.Add(good[:20] + "\n" + good[20:])
	a, err := NewHMACAuthenticator(testSecret, fixedClock(testEpoch))
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, s string) {
		user, err := a.Verify(s)
		if err != nil {
			require.ErrorIs(t, err, ErrUnauthorized)
			require.Empty(t, user)
			return
		}
		require.NoError(t, ValidateAppUserID(user))
		// Anything accepted must be what NewSession would mint for it.
		version, rest, _ := strings.Cut(s, ".")
		payload, _, _ := strings.Cut(rest, ".")
		require.Equal(t, s, version+"."+payload+"."+base64.RawURLEncoding.EncodeToString(mac(testSecret, version+"."+payload)))
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
	good, err := NewSession(testSecret, "alice", time.Hour, testEpoch)
	require.NoError(t, err)
	parts := strings.Split(good, ".")
	require.Len(t, parts, 3)
	a, err := NewHMACAuthenticator(testSecret, fixedClock(testEpoch))
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
				respelled = signed + "." + base64.RawURLEncoding.EncodeToString(mac(testSecret, signed))
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
		require.ErrorIs(t, err, ErrInvalidSession, name)
		require.ErrorIs(t, err, ErrMalformedSession, name)
	}
}

func TestAuthenticateRefusesTwoAuthorizationHeaders(t *testing.T) {
	alice, err := NewSession(testSecret, "alice", time.Hour, testEpoch)
	require.NoError(t, err)
	bob, err := NewSession(testSecret, "bob", time.Hour, testEpoch)
	require.NoError(t, err)
	a, err := NewHMACAuthenticator(testSecret, fixedClock(testEpoch))
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
		require.ErrorIs(t, err, ErrUnauthorized, name)
		require.ErrorIs(t, err, ErrMultipleAuthorization, name)
		require.Empty(t, user, name)
	}
}

// Every refusal names its reason with a sentinel that matches the broader
// ones callers already test for.
func TestAuthenticateReasons(t *testing.T) {
	good, err := NewSession(testSecret, "alice", time.Hour, testEpoch)
	require.NoError(t, err)
	other, err := NewSession([]byte("another-secret-of-16+bytes"), "alice", time.Hour, testEpoch)
	require.NoError(t, err)
	parts := strings.Split(good, ".")
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"bob","exp":1795521600}`)) + "." + parts[2]
	a, err := NewHMACAuthenticator(testSecret, fixedClock(testEpoch.Add(2*time.Hour)))
	require.NoError(t, err)
	fresh, err := NewHMACAuthenticator(testSecret, fixedClock(testEpoch))
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		auth   *HMACAuthenticator
		header string
		want   error
	}{
		{"none", fresh, "", ErrNoCredentials},
		{"basic scheme", fresh, "Basic " + good, ErrMalformedSession},
		{"no scheme", fresh, good, ErrMalformedSession},
		{"garbage", fresh, "Bearer x.y.z", ErrMalformedSession},
		{"other secret", fresh, "Bearer " + other, ErrBadSignature},
		{"forged payload", fresh, "Bearer " + forged, ErrBadSignature},
		{"expired", a, "Bearer " + good, ErrSessionExpired},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		_, err := tc.auth.Authenticate(r)
		require.ErrorIs(t, err, tc.want, tc.name)
		require.ErrorIs(t, err, ErrUnauthorized, tc.name)
		if errors.Is(tc.want, ErrInvalidSession) {
			require.ErrorIs(t, err, ErrInvalidSession, tc.name)
		}
	}
}

func TestSessionLifetimeIsBounded(t *testing.T) {
	_, err := NewSession(testSecret, "alice", MaxSessionTTL+time.Second, testEpoch)
	require.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewSession(testSecret, "alice", -time.Hour, testEpoch)
	require.ErrorIs(t, err, ErrInvalidConfig)
	longest, err := NewSession(testSecret, "alice", MaxSessionTTL, testEpoch)
	require.NoError(t, err)
	a, err := NewHMACAuthenticator(testSecret, fixedClock(testEpoch))
	require.NoError(t, err)
	_, err = a.Verify(longest)
	require.NoError(t, err, "the longest session NewSession mints verifies")

	// A session signed with the secret by other means, living a year, is
	// not one NewSession would mint: refused.
	signed := "v1." + base64.RawURLEncoding.EncodeToString(
		[]byte(`{"sub":"alice","exp":`+strconv.FormatInt(testEpoch.Add(365*24*time.Hour).Unix(), 10)+`}`))
	year := signed + "." + base64.RawURLEncoding.EncodeToString(mac(testSecret, signed))
	_, err = a.Verify(year)
	require.ErrorIs(t, err, ErrMalformedSession)
}
