package junction_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
)

func TestAPIBaseURLForKey(t *testing.T) {
	for key, want := range map[string]string{
		"pk_us_x": "https://api.us.junction.com",
		"pk_eu_x": "https://api.eu.junction.com",
		"sk_us_x": "https://api.sandbox.us.junction.com",
		"sk_eu_x": "https://api.sandbox.eu.junction.com",
	} {
		got, ok := junction.APIBaseURLForKey(key)
		require.True(t, ok, key)
		require.Equal(t, want, got, key)
	}
	_, ok := junction.APIBaseURLForKey("xx_us_x")
	require.False(t, ok)
}

func TestMaskKey(t *testing.T) {
	for key, want := range map[string]string{
		"sk_us_emulator_0123456789abcdef0123456789abcdef": "sk_us_…cdef",
		"pk_eu_0123456789abcdef":                          "pk_eu_…cdef",
		"sk_us_short":                                     "sk_us_…",
		"plainkeywithoutunderscores":                      "…ores",
		"":                                                "…",
	} {
		require.Equal(t, want, junction.MaskKey(key), "MaskKey(%q)", key)
	}
}

func TestParseBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:1":        "http://127.0.0.1:1",
		"HTTPS://Example.COM/base/": "https://example.com/base",
		"http://[::1]:8080/auth":    "http://[::1]:8080/auth",
	} {
		got, err := junction.ParseBaseURL(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, "ParseBaseURL(%q)", in)
	}
	for _, bad := range []string{"", "ftp://x", "http://", "127.0.0.1:8080", "http://u:p@host", "http://h/?q=1", "http://h/#f", "http://h/?", "%zz"} {
		_, err := junction.ParseBaseURL(bad)
		require.ErrorIs(t, err, junction.ErrBadBaseURL, "ParseBaseURL(%q)", bad)
		require.NotContains(t, err.Error(), "u:p", "a base URL's credentials are not repeated")
	}
}
