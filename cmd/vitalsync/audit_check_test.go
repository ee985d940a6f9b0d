package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/audit"
	"github.com/vitalsync/vitalsync/emulator"
)

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
