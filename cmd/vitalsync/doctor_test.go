package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/reconcile"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
)

// doctorDB makes a device database with a sealed secret and one journal
// event, closed.
func doctorDB(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "device.db")
	db, err := sqlite.OpenDevice(ctx, path)
	require.NoError(t, err)
	require.NoError(t, db.SaveDevice(ctx, vitalsdk.DeviceState{Installation: "default",
		Strategy: vitalsdk.StrategyAPIKey, APIKey: "sk_us_doctor_secret", APIKeyUserID: "u"}))
	require.NoError(t, db.Journal("default", "").Save(ctx, reconcile.JournalEntry{}, "observed"))
	require.NoError(t, db.Close())
	return path
}

func rawSQL(t *testing.T, path, stmt string) {
	t.Helper()
	raw, err := sql.Open("sqlite3", path)
	require.NoError(t, err)
	defer raw.Close()
	_, err = raw.Exec(stmt)
	require.NoError(t, err)
}

func TestDoctorHealthy(t *testing.T) {
	path := doctorDB(t)
	out, stderr, code := runCLI("", "doctor", "--db", path)
	require.Zero(t, code, stderr)
	require.Contains(t, out, "healthy")
	require.Contains(t, out, "journal_events 1")
	require.NotContains(t, out, "sk_us_doctor_secret")

	out, _, code = runCLI("", "doctor", "--db", path, "--format", "json")
	require.Zero(t, code)
	var rep sqlite.HealthReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.True(t, rep.Healthy)
	require.Equal(t, "ok", rep.Key)
	require.Equal(t, rep.KnownVersion, rep.SchemaVersion)
	require.Equal(t, int64(1), rep.Rows["devices"])
	require.Equal(t, int64(1), rep.History.Events)
	require.Equal(t, sqlite.HistoryMaxEvents, rep.History.LimitPerInstallation)
	require.NotNil(t, rep.History.Oldest)
	require.Empty(t, rep.Problems)
}

func TestDoctorFindsProblems(t *testing.T) {
	tests := []struct {
		name        string
		damage      func(t *testing.T, path string)
		check, kind string
	}{
		{"missing key", func(t *testing.T, path string) {
			require.NoError(t, os.Remove(path+".key"))
		}, "key", "missing-key"},
		{"wrong key", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path+".key", make([]byte, sqlite.KeySize), 0o600))
		}, "key", "bad-key"},
		{"negative schema version", func(t *testing.T, path string) {
			rawSQL(t, path, "PRAGMA user_version = -1")
		}, "schema-version", "corrupt"},
		{"newer schema", func(t *testing.T, path string) {
			rawSQL(t, path, "PRAGMA user_version = 999")
		}, "schema-version", "newer-schema"},
		{"truncated", func(t *testing.T, path string) {
			require.NoError(t, os.Truncate(path, 0))
		}, "file", "corrupt"},
		{"not a database", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte("hello\n"), 0o600))
		}, "header", "not-a-database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := doctorDB(t)
			tt.damage(t, path)
			out, stderr, code := runCLI("", "doctor", "--db", path, "--format", "json")
			require.Equal(t, 1, code, stderr)
			var rep sqlite.HealthReport
			require.NoError(t, json.Unmarshal([]byte(out), &rep))
			require.False(t, rep.Healthy)
			found := false
			for _, p := range rep.Problems {
				found = found || (p.Check == tt.check && p.Kind == tt.kind)
			}
			require.True(t, found, "want %s/%s in %+v", tt.check, tt.kind, rep.Problems)
			require.NotContains(t, out+stderr, "sk_us_doctor_secret")

			out, _, code = runCLI("", "doctor", "--db", path)
			require.Equal(t, 1, code)
			require.Contains(t, out, "problem")
		})
	}
}

func TestDoctorUsage(t *testing.T) {
	path := doctorDB(t)
	for _, args := range [][]string{
		{"doctor"},
		{"doctor", "--db", path, "extra"},
		{"doctor", "--db", path, "--format", "csv"},
		{"doctor", "--nope"},
	} {
		_, _, code := runCLI("", args...)
		require.Equal(t, 2, code, "%v", args)
	}
	stdout, _, code := runCLI("", "doctor", "--help")
	require.Zero(t, code)
	require.Contains(t, stdout, "usage: vitalsync doctor --db FILE")
	// A file that does not exist is a failure, not a usage error, and
	// doctor does not create it.
	missing := filepath.Join(t.TempDir(), "none.db")
	_, _, code = runCLI("", "doctor", "--db", missing)
	require.Equal(t, 1, code)
	require.NoFileExists(t, missing)
}

func TestNegativeSchemaVersionExitsOne(t *testing.T) {
	// It used to panic (a slice with a negative bound): exit 2, like a
	// usage error.
	path := doctorDB(t)
	rawSQL(t, path, "PRAGMA user_version = -1")
	_, stderr, code := runCLI("", "device", "--db", path, "--profile", "ios-1.8", "status")
	require.Equal(t, 1, code, stderr)
}

// doctor reports what launch would meet (issue: "healthy" on a file every
// write fails on, with the header's write version flipped, and a directory
// in place of the file called "not an SQLite database").
func TestDoctorReportsWhatLaunchWouldMeet(t *testing.T) {
	kinds := func(path string) []string {
		t.Helper()
		out, _, code := runCLI("", "doctor", "--db", path, "--format", "json")
		require.Equal(t, 1, code, out)
		var rep sqlite.HealthReport
		require.NoError(t, json.Unmarshal([]byte(out), &rep))
		require.False(t, rep.Healthy)
		var ks []string
		for _, p := range rep.Problems {
			ks = append(ks, p.Check+"/"+p.Kind)
		}
		return ks
	}
	dir := filepath.Join(t.TempDir(), "device.db")
	require.NoError(t, os.Mkdir(dir, 0o700))
	require.Equal(t, []string{"file/not-a-file"}, kinds(dir))

	flipped := doctorDB(t)
	f, err := os.OpenFile(flipped, os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{0xfd}, 18)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Equal(t, []string{"header/corrupt"}, kinds(flipped))

	immutable := doctorDB(t)
	if out, err := exec.Command("chattr", "+i", immutable).CombinedOutput(); err != nil {
		t.Skipf("chattr +i unavailable here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", immutable).Run() })
	require.Equal(t, []string{"writable/not-writable"}, kinds(immutable))
}
