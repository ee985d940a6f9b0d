package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
)

// mixedDB writes a file from before the split whose both halves hold rows:
// a device database's tables and rows, and an issuer database's, in one
// file at schema version 10, as every file was before the split.
func mixedDB(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := doctorDB(t) // a device database with a sealed secret
	iss := filepath.Join(t.TempDir(), "issuer.db")
	idb, err := sqlite.OpenIssuer(ctx, iss)
	require.NoError(t, err)
	_, err = idb.PutUser(ctx, "alice", "v-alice")
	require.NoError(t, err)
	require.NoError(t, idb.Close())

	raw, err := sql.Open("sqlite3", path)
	require.NoError(t, err)
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	exec := func(q string, args ...any) {
		t.Helper()
		_, err := raw.Exec(q, args...)
		require.NoError(t, err, q)
	}
	exec("ATTACH DATABASE ? AS iss", iss)
	rows, err := raw.Query(`SELECT type, name, sql FROM iss.sqlite_schema WHERE sql IS NOT NULL ORDER BY type = 'index', name`)
	require.NoError(t, err)
	var stmts, tables []string
	for rows.Next() {
		var typ, name, stmt string
		require.NoError(t, rows.Scan(&typ, &name, &stmt))
		stmts = append(stmts, stmt)
		if typ == "table" {
			tables = append(tables, name)
		}
	}
	require.NoError(t, rows.Err())
	rows.Close()
	for _, s := range stmts {
		exec(s)
	}
	for _, tbl := range tables {
		exec("INSERT INTO " + tbl + " SELECT * FROM iss." + tbl)
	}
	exec("DETACH DATABASE iss")
	exec("PRAGMA application_id = 0")
	exec("PRAGMA user_version = 10")
	return path
}

// doctor names a file whose both halves hold rows and prints the command
// that splits it; that command writes two files that open as their kinds,
// each healthy, and leaves the file as it was.
func TestDoctorThenSplit(t *testing.T) {
	path := mixedDB(t)
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	_, errOut, code := runCLI("", "launch", "--db", path, "--profile", "ios-1.8", "--issuer", "http://127.0.0.1:1", "--signed-out")
	require.Equal(t, 1, code, "a launch refuses the mixed file")
	require.Contains(t, errOut, "holds both a device's rows and an issuer's")

	out, _, code := runCLI("", "doctor", "--db", path, "--format", "json")
	require.Equal(t, 1, code)
	var rep sqlite.HealthReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Equal(t, "unsplit", rep.DBKind)
	require.Len(t, rep.Problems, 1)
	require.Equal(t, "mixed", rep.Problems[0].Kind)
	fix := rep.Problems[0].Fix
	require.True(t, strings.HasPrefix(fix, "vitalsync split --db "), fix)
	table, _, _ := runCLI("", "doctor", "--db", path)
	require.Contains(t, table, "fix       "+fix)

	// Run the fix as doctor prints it.
	args := strings.Fields(strings.TrimPrefix(fix, "vitalsync "))
	out, errOut, code = runCLI("", args...)
	require.Zero(t, code, errOut)
	require.Contains(t, out, "device database")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, before, after, "split leaves the file as it was")

	base := strings.TrimSuffix(path, ".db")
	for half, kind := range map[string]string{base + "-device.db": "device", base + "-issuer.db": "issuer"} {
		out, errOut, code := runCLI("", "doctor", "--db", half, "--format", "json")
		require.Zero(t, code, errOut)
		var rep sqlite.HealthReport
		require.NoError(t, json.Unmarshal([]byte(out), &rep))
		require.Equal(t, kind, rep.DBKind)
	}
	dev, err := sqlite.OpenDevice(context.Background(), base+"-device.db")
	require.NoError(t, err)
	st, ok, err := dev.LoadDevice(context.Background(), "default")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, vitalsdk.StrategyAPIKey, st.Strategy)
	require.Equal(t, "sk_us_doctor_secret", st.APIKey)
	require.NoError(t, dev.Close())
	iss, err := sqlite.OpenIssuer(context.Background(), base+"-issuer.db")
	require.NoError(t, err)
	m, ok, err := iss.LookupUser(context.Background(), "alice")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "v-alice", m.VitalUserID)
	require.NoError(t, iss.Close())

	// Again: the halves exist now, and split refuses to overwrite them.
	_, errOut, code = runCLI("", args...)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "exists")
}

func TestSplitUsage(t *testing.T) {
	for _, args := range [][]string{
		{"split"},
		{"split", "--db", "a.db", "--device", "b.db"},
		{"split", "--db", "a.db", "--device", "b.db", "--issuer", "b.db"},
		{"split", "--db", "a.db", "--device", "b.db", "--issuer", "c.db", "extra"},
	} {
		_, _, code := runCLI("", args...)
		require.Equal(t, 2, code, args)
	}
	// A file that already has a kind is not split.
	dev := doctorDB(t)
	dir := t.TempDir()
	_, errOut, code := runCLI("", "split", "--db", dev, "--device", filepath.Join(dir, "d.db"), "--issuer", filepath.Join(dir, "i.db"))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "already a device database")
}
