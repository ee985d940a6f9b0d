package emulatorclient_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/emulator/emulatorclient"
)

// A published token is found from a loopback URL on its port, never from
// another host's, and is gone once unpublished; another emulator's token
// on the same port since is left alone.
func TestPublishAndDiscoverToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	t.Setenv(emulatorclient.EnvRuntimeDir, dir)
	unpublish, err := emulatorclient.PublishToken(8799, "tok-1")
	require.NoError(t, err)
	path, err := emulatorclient.TokenPath(8799)
	require.NoError(t, err)
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	for _, base := range []string{"http://127.0.0.1:8799", "http://localhost:8799/", "http://[::1]:8799"} {
		tok, ok := emulatorclient.DiscoverToken(base)
		require.True(t, ok, base)
		require.Equal(t, "tok-1", tok, base)
	}
	for _, base := range []string{"http://evil.example:8799", "http://127.0.0.1:8798", "http://10.0.0.1:8799", "::"} {
		_, ok := emulatorclient.DiscoverToken(base)
		require.False(t, ok, base)
	}
	unpublish()
	_, ok := emulatorclient.DiscoverToken("http://127.0.0.1:8799")
	require.False(t, ok)

	// Another emulator took the port: its token stays.
	_, err = emulatorclient.PublishToken(8799, "tok-1")
	require.NoError(t, err)
	unpublishFirst, err := emulatorclient.PublishToken(8799, "tok-1")
	require.NoError(t, err)
	_, err = emulatorclient.PublishToken(8799, "tok-2")
	require.NoError(t, err)
	unpublishFirst()
	tok, ok := emulatorclient.DiscoverToken("http://127.0.0.1:8799")
	require.True(t, ok)
	require.Equal(t, "tok-2", tok)
}
