package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
)

func TestSniffFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		body string
		want sqlite.FileKind
	}{
		{"", sqlite.FileEmpty},
		{" \n\n", sqlite.FileEmpty},
		{"a,b,c\n1,2,3\n", sqlite.FileCSV},
		{`{"a":1}` + "\n" + `{"a":2}` + "\n", sqlite.FileJSONL},
		{"{\n  \"a\": 1\n}\n", sqlite.FileJSONDoc},
		{"[1, 2]\n", sqlite.FileJSONDoc},
		{"hello\n", sqlite.FileOther},
		{"SQLite format 3\x00" + strings.Repeat("\x00", 84), sqlite.FileSQLite},
		{"{" + strings.Repeat(`"a":1,`, 20000) + `"b":2}` + "\n", sqlite.FileJSONL},
	} {
		p := filepath.Join(dir, "f")
		require.NoError(t, os.WriteFile(p, []byte(tc.body), 0o600))
		got, err := sqlite.SniffFile(p)
		require.NoError(t, err)
		require.Equal(t, tc.want, got, "%.40q", tc.body)
	}
	_, err := sqlite.SniffFile(filepath.Join(dir, "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// A device file with an installation's state names a device table; an
// issuer file, an empty device file and a file that is no database name
// none.
func TestDeviceTableWithRows(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dev := filepath.Join(dir, "device.db")
	db, err := sqlite.OpenDevice(ctx, dev)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	require.Empty(t, sqlite.DeviceTableWithRows(ctx, dev), "no rows yet")

	iss := filepath.Join(dir, "issuer.db")
	idb, err := sqlite.OpenIssuer(ctx, iss)
	require.NoError(t, err)
	require.NoError(t, idb.Close())
	require.Empty(t, sqlite.DeviceTableWithRows(ctx, iss))

	db, err = sqlite.OpenDevice(ctx, dev)
	require.NoError(t, err)
	_, err = db.RememberEndpoints(ctx, sqlite.Endpoints{APIBaseURL: "http://a.test", AuthBaseURL: "http://a.test/auth"}, false)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	require.Equal(t, "endpoints", sqlite.DeviceTableWithRows(ctx, dev))

	other := filepath.Join(dir, "x.txt")
	require.NoError(t, os.WriteFile(other, []byte("hello"), 0o600))
	require.Empty(t, sqlite.DeviceTableWithRows(ctx, other))
}
