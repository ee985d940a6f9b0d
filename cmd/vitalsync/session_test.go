package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/issuer"
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
