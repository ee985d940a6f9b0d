package main

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/issuer"
)

func TestSessionPrintsVerifiableToken(t *testing.T) {
	s := mintSession(t, "--secret", testSessionSecret, "--user", "alice", "--ttl", "2h")
	a, err := issuer.NewHMACAuthenticator([]byte(testSessionSecret), time.Now)
	require.NoError(t, err)
	user, err := a.Verify(s)
	require.NoError(t, err)
	require.Equal(t, "alice", user)

	late, err := issuer.NewHMACAuthenticator([]byte(testSessionSecret), func() time.Time { return time.Now().Add(3 * time.Hour) })
	require.NoError(t, err)
	_, err = late.Verify(s)
	require.ErrorIs(t, err, issuer.ErrSessionExpired, "--ttl is honoured")

	other, err := issuer.NewHMACAuthenticator([]byte("a-different-secret-0123456789"), time.Now)
	require.NoError(t, err)
	_, err = other.Verify(s)
	require.ErrorIs(t, err, issuer.ErrInvalidSession)
}

func TestSessionUsageErrors(t *testing.T) {
	t.Setenv(envSessionSecret, "")
	for _, args := range [][]string{
		{"--user", "alice"},                                 // no secret
		{"--secret", testSessionSecret},                     // no user
		{"--secret", "short", "--user", "alice"},            // short secret
		{"--secret", testSessionSecret, "--user", " alice"}, // unusable user ID
		{"--secret", testSessionSecret, "--user", "alice", "--ttl", "0s"},
		{"--secret", testSessionSecret, "--user", "alice", "--ttl", "soon"},
		{"--secret", testSessionSecret, "--user", "alice", "extra"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"session"}, args...), strings.NewReader(""), &out, io.Discard)
		require.Equal(t, 2, exitCode(err, io.Discard), "args %q: %v", args, err)
		require.Empty(t, out.String())
	}
}

// --ttl is bounded: at least a second, at most issuer.MaxSessionTTL (30
// days); zero, negative and absurd values are usage errors.
func TestSessionTTLBounds(t *testing.T) {
	s := mintSession(t, "--secret", testSessionSecret, "--user", "alice", "--ttl", "720h")
	a, err := issuer.NewHMACAuthenticator([]byte(testSessionSecret), func() time.Time { return time.Now().Add(719 * time.Hour) })
	require.NoError(t, err)
	_, err = a.Verify(s)
	require.NoError(t, err, "30 days is allowed")
	for _, ttl := range []string{"0s", "-1h", "500ms", "721h", "8760h", "2562047h"} {
		var out bytes.Buffer
		err := run(context.Background(), []string{"session", "--secret", testSessionSecret, "--user", "alice", "--ttl", ttl},
			strings.NewReader(""), &out, io.Discard)
		require.Equal(t, 2, exitCode(err, io.Discard), "--ttl %s: %v", ttl, err)
		require.Empty(t, out.String(), ttl)
	}
}

// The secret comes from --secret-file or $VITALSYNC_SESSION_SECRET, so it
// need not sit on the command line; --secret still works.
func TestSessionSecretSources(t *testing.T) {
	dir := t.TempDir()
	verify := func(t *testing.T, s string) {
		t.Helper()
		a, err := issuer.NewHMACAuthenticator([]byte(testSessionSecret), time.Now)
		require.NoError(t, err)
		user, err := a.Verify(s)
		require.NoError(t, err)
		require.Equal(t, "alice", user)
	}
	file := writeFile(t, dir, "secret", testSessionSecret+"\n")

	t.Setenv(envSessionSecret, "")
	verify(t, mintSession(t, "--secret-file", file, "--user", "alice"))
	t.Setenv(envSessionSecret, testSessionSecret)
	verify(t, mintSession(t, "--user", "alice"))
	t.Setenv(envSessionSecret, "an-other-secret-from-the-environment")
	verify(t, mintSession(t, "--secret-file", file, "--user", "alice")) // file wins

	t.Setenv(envSessionSecret, " \n")
	err := run(context.Background(), []string{"session", "--user", "alice"}, strings.NewReader(""), io.Discard, io.Discard)
	require.Equal(t, 2, exitCode(err, io.Discard))
	require.ErrorIs(t, err, errEmptySecret, "a blank variable is refused, not taken as no secret")

	for name, tc := range map[string]struct {
		args []string
		is   error
	}{
		"missing file": {[]string{"--secret-file", filepath.Join(dir, "none"), "--user", "alice"}, fs.ErrNotExist},
		"empty file":   {[]string{"--secret-file", writeFile(t, dir, "empty", "\n\n"), "--user", "alice"}, errEmptySecret},
		"both":         {[]string{"--secret", testSessionSecret, "--secret-file", file, "--user", "alice"}, nil},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"session"}, tc.args...), strings.NewReader(""), &out, &errOut)
		require.Equal(t, 2, exitCode(err, io.Discard), name)
		if tc.is != nil {
			require.ErrorIs(t, err, tc.is, name)
		}
		require.Empty(t, out.String(), name)
		require.NotContains(t, errOut.String(), testSessionSecret, name)
	}
}
