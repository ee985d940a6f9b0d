package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/store/postgres/pgtest"
	"github.com/vitalsync/vitalsync/audit"
)

// fleet generate writes a fleet to PostgreSQL; audit --db postgres://…
// finds exactly its ground truth, whole, by shards merged, and with the
// URL in $DATABASE_URL.
func TestFleetGenerateThenAuditOnPostgres(t *testing.T) {
	dbURL := pgtest.URL(t)
	dir := t.TempDir()
	truthPath := filepath.Join(dir, "truth.json")
	out, errOut, code := runCLI("", "fleet", "generate", "--installs", "3000", "--seed", "4",
		"--now", fleetNowFlag, "--db", dbURL, "--truth", truthPath)
	require.Zero(t, code, errOut)
	require.Contains(t, out, "wrote 3000 installations")
	truth := readTruth(t, truthPath)

	auditJSON := func(args ...string) audit.Summary {
		t.Helper()
		out, errOut, code := runCLI("", append([]string{"audit", "--format", "json", "--stale", "720h",
			"--now", fleetNowFlag}, args...)...)
		require.Zero(t, code, errOut)
		var sum audit.Summary
		require.NoError(t, json.Unmarshal([]byte(out), &sum))
		return sum
	}
	sum := auditJSON("--db", dbURL)
	require.Equal(t, truth.Rows, sum.Rows)
	require.Equal(t, truth.Classes, sum.Classes)
	require.Equal(t, truth.ByProfile, sum.ByProfile)

	var parts []string
	for k := range 3 {
		out, errOut, code := runCLI("", "audit", "--db", dbURL, "--now", fleetNowFlag, "--stale", "720h",
			"--shard", strconv.Itoa(k)+"/3", "--format", "json")
		require.Zero(t, code, errOut)
		var part audit.Summary
		require.NoError(t, json.Unmarshal([]byte(out), &part))
		require.Less(t, part.Rows, truth.Rows, "shard %d audited everything", k)
		p := filepath.Join(dir, "shard"+strconv.Itoa(k)+".json")
		require.NoError(t, os.WriteFile(p, []byte(out), 0o600))
		parts = append(parts, p)
	}
	out, errOut, code = runCLI("", append([]string{"audit", "merge", "--format", "json"}, parts...)...)
	require.Zero(t, code, errOut)
	var merged audit.Summary
	require.NoError(t, json.Unmarshal([]byte(out), &merged))
	require.Equal(t, truth.Rows, merged.Rows)
	require.Equal(t, truth.Classes, merged.Classes)

	t.Setenv(envDatabaseURL, dbURL)
	env := auditJSON()
	require.Equal(t, truth.Classes, env.Classes)
	// A source named on the command line wins over the environment.
	_, _, code = runCLI("", "audit", "--csv", filepath.Join(dir, "missing.csv"))
	require.Equal(t, 1, code)
}

func TestAuditOnPostgresErrors(t *testing.T) {
	empty := pgtest.URL(t)
	truthPath := filepath.Join(t.TempDir(), "truth.json")

	// Never migrated: refused before the first row.
	out, errOut, code := runCLI("", "audit", "--db", empty)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "predates")
	require.Empty(t, out)

	// The ground truth of a database has no file name to derive.
	_, _, code = runCLI("", "fleet", "generate", "--installs", "10", "--db", empty)
	require.Equal(t, 2, code)
	_, errOut, code = runCLI("", "fleet", "generate", "--installs", "10", "--db", empty, "--truth", truthPath)
	require.Zero(t, code, errOut)

	// A server that does not answer: an error that never shows the password.
	const secret = "pw-5e1c7a2b"
	_, errOut, code = runCLI("", "audit", "--db", "postgres://auditor:"+secret+"@127.0.0.1:1/fleet?connect_timeout=2")
	require.Equal(t, 1, code)
	require.NotEmpty(t, errOut)
	require.NotContains(t, errOut, secret)
}
