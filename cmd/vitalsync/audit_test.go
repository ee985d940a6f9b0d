package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/postgres/pgtest"
	"github.com/vitalsync/vitalsync/audit"
	"github.com/vitalsync/vitalsync/emulator"
)

const fleetNowFlag = "2026-11-20T00:00:00Z"

func readTruth(t *testing.T, path string) audit.Truth {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var tr audit.Truth
	require.NoError(t, json.Unmarshal(data, &tr))
	return tr
}

// auditJSON runs "vitalsync audit --format json --stale 720h --now …" with
// args, which must succeed, and returns its summary and output.
func auditJSON(t *testing.T, args ...string) (audit.Summary, string) {
	t.Helper()
	out, errOut, code := runCLI("", append([]string{"audit", "--format", "json", "--stale", "720h", "--now", fleetNowFlag}, args...)...)
	require.Zero(t, code, errOut)
	var sum audit.Summary
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	return sum, out
}

// requireShardsMerge audits the fleet args name in n shards (--shard), none
// of them the whole fleet, and requires their merge (audit merge) to be its
// truth.
func requireShardsMerge(t *testing.T, truth audit.Truth, n int, args ...string) {
	t.Helper()
	dir := t.TempDir()
	merge := []string{"audit", "merge", "--format", "json"}
	for k := range n {
		part, out := auditJSON(t, append(args, "--shard", strconv.Itoa(k)+"/"+strconv.Itoa(n))...)
		require.Less(t, part.Rows, truth.Rows, "shard %d audited everything", k)
		merge = append(merge, writeFile(t, dir, "shard"+strconv.Itoa(k)+".json", out))
	}
	out, errOut, code := runCLI("", merge...)
	require.Zero(t, code, errOut)
	var sum audit.Summary
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	require.Equal(t, truth.Rows, sum.Rows)
	require.Equal(t, truth.Classes, sum.Classes)
}

// fleet generate writes a fleet and its ground truth; audit finds exactly
// that truth from a real SQLite file, CSV and JSONL.
func TestFleetGenerateThenAudit(t *testing.T) {
	dir := t.TempDir()
	for _, kind := range []string{"db", "csv", "jsonl"} {
		t.Run(kind, func(t *testing.T) {
			path := filepath.Join(dir, "fleet."+kind)
			out, errOut, code := runCLI("", "fleet", "generate", "--installs", "3000", "--seed", "4",
				"--now", fleetNowFlag, "--"+kind, path)
			require.Zero(t, code, errOut)
			require.Contains(t, out, "wrote 3000 installations")
			truth := readTruth(t, path+".truth.json")

			findings := filepath.Join(dir, kind+".findings.jsonl")
			out, errOut, code = runCLI("", "audit", "--"+kind, path, "--format", "json", "--stale", "720h",
				"--now", fleetNowFlag, "--out", findings)
			require.Zero(t, code, errOut)
			var sum audit.Summary
			require.NoError(t, json.Unmarshal([]byte(out), &sum))
			require.Equal(t, truth.Rows, sum.Rows)
			require.Equal(t, truth.Classes, sum.Classes)
			require.Equal(t, truth.ByProfile, sum.ByProfile)
			require.Empty(t, errOut, "progress only on a terminal")

			// --out: one JSON object per finding, with the documented keys.
			f, err := os.Open(findings)
			require.NoError(t, err)
			defer f.Close()
			sc := bufio.NewScanner(f)
			var n, wrongUser int64
			for sc.Scan() {
				var fd struct {
					InstallationID string `json:"installation_id"`
					Profile        string `json:"profile"`
					Class          string `json:"class"`
					Actions        []struct {
						Type        string `json:"type"`
						VitalUserID string `json:"vital_user_id"`
					} `json:"actions"`
					Reason string `json:"reason"`
				}
				require.NoError(t, json.Unmarshal(sc.Bytes(), &fd))
				require.NotEmpty(t, fd.Class)
				require.NotEmpty(t, fd.Reason)
				if fd.Class == "wrong-user" {
					wrongUser++
					require.Len(t, fd.Actions, 2)
					require.Equal(t, "sign-out", fd.Actions[0].Type)
					require.NotEmpty(t, fd.Actions[1].VitalUserID)
				}
				n++
			}
			require.NoError(t, sc.Err())
			require.NotZero(t, n)
			require.Equal(t, truth.Classes["wrong-user"], wrongUser)
		})
	}
}

func TestAuditFailOnAndTable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fleet.csv")
	_, errOut, code := runCLI("", "fleet", "generate", "--installs", "2000", "--seed", "9", "--now", fleetNowFlag, "--csv", path)
	require.Zero(t, code, errOut)

	out, errOut, code := runCLI("", "audit", "--csv", path, "--now", fleetNowFlag, "--fail-on", "wrong-user,invalid")
	require.Equal(t, 3, code, errOut)
	require.Contains(t, errOut, "fail-on")
	// The table leads with the worst class.
	classes := out[strings.Index(out, "class"):]
	require.Less(t, strings.Index(classes, "wrong-user"), strings.Index(classes, "consistent"))

	outCSV := filepath.Join(dir, "findings.csv")
	_, _, code = runCLI("", "audit", "--csv", path, "--now", fleetNowFlag, "--fail-on", "diverged", "--out", outCSV)
	require.Zero(t, code)
	f, err := os.Open(outCSV)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"installation_id", "line", "profile", "class", "classes", "actions", "reason"}, recs[0])
	require.Greater(t, len(recs), 100)
	var wrong int
	for _, r := range recs[1:] {
		if r[3] == "wrong-user" {
			wrong++
			require.True(t, strings.HasPrefix(r[5], "sign-out; sign-in:"), r[5])
		}
	}
	require.NotZero(t, wrong)

	out, _, code = runCLI("", "audit", "--csv", path, "--now", fleetNowFlag, "--format", "csv")
	require.Zero(t, code)
	require.True(t, strings.HasPrefix(out, "kind,profile,key,count\nrows,,,2000\n"), out)
	_, _, code = runCLI("", "audit", "--csv", path, "--fail-on", "nonsense")
	require.Equal(t, 2, code)
	_, _, code = runCLI("", "audit", "--csv", path, "--jsonl", path)
	require.Equal(t, 2, code)
	_, _, code = runCLI("", "audit", "--csv", path, "--shard", "3/3")
	require.Equal(t, 2, code)
	_, _, code = runCLI("", "audit", "--csv", filepath.Join(dir, "missing.csv"))
	require.Equal(t, 1, code)
}

// Shards of one fleet merge to the whole audit.
func TestAuditShardsMerge(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fleet.jsonl")
	_, errOut, code := runCLI("", "fleet", "generate", "--installs", "2000", "--seed", "5", "--now", fleetNowFlag, "--jsonl", path)
	require.Zero(t, code, errOut)
	truth := readTruth(t, path+".truth.json")
	requireShardsMerge(t, truth, 4, "--jsonl", path)
}

// A database of a newer schema is refused before the first row.
func TestAuditNewerSchema(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fleet.db")
	_, errOut, code := runCLI("", "fleet", "generate", "--installs", "10", "--db", path)
	require.Zero(t, code, errOut)
	rawSQL(t, path, "PRAGMA user_version = 99")
	out, errOut, code := runCLI("", "audit", "--db", path)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "newer")
	require.Empty(t, out)
}

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

	sum, _ := auditJSON(t, "--db", dbURL)
	require.Equal(t, truth.Rows, sum.Rows)
	require.Equal(t, truth.Classes, sum.Classes)
	require.Equal(t, truth.ByProfile, sum.ByProfile)
	requireShardsMerge(t, truth, 3, "--db", dbURL)

	t.Setenv(envDatabaseURL, dbURL)
	env, _ := auditJSON(t)
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

// --check-api asks the team API about each mapped Vital user once, over
// real HTTP, waits out a 429's Retry-After, and counts the mapped users
// that no longer exist.
func TestAuditCheckAPI(t *testing.T) {
	const key = "sk_us_audit_check_key_3f9"
	emu := emulator.New(emulator.WithAPIKey(key))
	srv := httptest.NewServer(emu)
	defer srv.Close()
	ctx := context.Background()
	team := junction.NewClient(srv.URL, key)
	alive, err := team.CreateUser(ctx, "alice")
	require.NoError(t, err)
	gone, err := team.CreateUser(ctx, "bob")
	require.NoError(t, err)
	require.NoError(t, team.DeleteUser(ctx, gone.UserID))

	path := filepath.Join(t.TempDir(), "reports.csv")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := audit.NewCSVWriter(f)
	row := func(inst, app, vital string) []string {
		return []string{inst, "android", "5.0.2", "", "true", app, vital, "sandbox", "us",
			"configured,signedIn,useSignInToken", vital, "sandbox", "us", "token", "", "", "2026-11-19T10:00:00Z", vital}
	}
	for _, r := range [][]string{
		row("i1", "alice", alive.UserID), row("i2", "alice", alive.UserID), row("i3", "alice", alive.UserID),
		row("i4", "bob", gone.UserID),
	} {
		require.NoError(t, w.Write(r))
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())

	before := emu.Requests(emulator.RouteGetUser)
	emu.RateLimitNext(emulator.RouteGetUser, 1, time.Second)
	t.Setenv(envAPIKey, key)
	start := time.Now()
	out, errOut, code := runCLI("", "audit", "--csv", path, "--check-api", "--api-url", srv.URL,
		"--concurrency", "2", "--format", "json", "--fail-on", "mapped-user-missing")
	require.Equal(t, 3, code, errOut)
	require.GreaterOrEqual(t, time.Since(start), time.Second, "the 429's Retry-After was waited out")
	var sum audit.Summary
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	require.Equal(t, int64(4), sum.Rows)
	require.Equal(t, int64(1), sum.Classes[audit.MappedUserMissing])
	require.Equal(t, int64(4), sum.Classes["consistent"])
	require.Equal(t, 3, emu.Requests(emulator.RouteGetUser)-before, "two users asked once each, plus the rate-limited try")
	require.NotContains(t, out+errOut, key)

	// Without the key the check is a usage error.
	t.Setenv(envAPIKey, "")
	_, _, code = runCLI("", "audit", "--csv", path, "--check-api", "--api-url", srv.URL)
	require.Equal(t, 2, code)
}
