package httpops_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/httpops"
)

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, contents string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(contents), 0o600))
		return p
	}
	got, err := httpops.ReadSecretFile(write("key", "\n  sk_us_secret_value \n"))
	require.NoError(t, err)
	require.Equal(t, "sk_us_secret_value", got)
	for path, want := range map[string]error{
		write("blank", " \n\t\n"):                                    httpops.ErrEmptySecret,
		write("large", strings.Repeat("x", httpops.MaxSecretFile+1)): httpops.ErrSecretTooLarge,
		filepath.Join(dir, "missing"):                                fs.ErrNotExist,
	} {
		_, err := httpops.ReadSecretFile(path)
		require.ErrorIs(t, err, want, path)
		require.NotContains(t, err.Error(), path, "the caller names the file")
		require.NotContains(t, err.Error(), "xxxx", "never the contents")
	}
}

func TestLookupSecretEnv(t *testing.T) {
	const name = "HTTPOPS_TEST_SECRET"
	t.Setenv(name, "")
	_, ok, err := httpops.LookupSecretEnv(name)
	require.NoError(t, err)
	require.False(t, ok, "empty is unset")
	t.Setenv(name, "  \n")
	_, ok, err = httpops.LookupSecretEnv(name)
	require.ErrorIs(t, err, httpops.ErrEmptySecret)
	require.False(t, ok)
	t.Setenv(name, " s3cret\n")
	v, ok, err := httpops.LookupSecretEnv(name)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "s3cret", v)
}
