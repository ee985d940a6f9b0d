package issuer_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/issuer"
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
