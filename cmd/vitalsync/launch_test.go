package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type launchJSON struct {
	Passes []struct {
		Observation map[string]any `json:"observation"`
		Plan        struct {
			Actions  []map[string]string `json:"actions"`
			RetryAt  *string             `json:"retry_at"`
			Terminal bool                `json:"terminal"`
		} `json:"plan"`
		Applied []struct {
			Action map[string]string `json:"action"`
			Error  *struct {
				Class    string `json:"class"`
				SDKError string `json:"sdk_error"`
				Message  string `json:"message"`
			} `json:"error"`
		} `json:"applied"`
	} `json:"passes"`
	Outcome struct {
		Result     string            `json:"result"`
		Applied    []string          `json:"applied"`
		State      string            `json:"state"`
		RetryAt    *string           `json:"retry_at"`
		Class      string            `json:"error_class"`
		Divergence map[string]string `json:"divergence"`
	} `json:"outcome"`
	NetworkCalls *int64 `json:"network_calls"`
	DBWrites     *int64 `json:"db_writes"`
}

// requirePlannedJSON asserts, on a printed launch, that every pass applied
// a prefix of its plan's actions, and that only the last may have failed.
func requirePlannedJSON(t *testing.T, rep launchJSON) {
	t.Helper()
	require.NotEmpty(t, rep.Passes)
	for i, p := range rep.Passes {
		require.LessOrEqual(t, len(p.Applied), len(p.Plan.Actions), "pass %d", i+1)
		for k, st := range p.Applied {
			require.Equal(t, p.Plan.Actions[k], st.Action, "pass %d step %d", i+1, k+1)
			if st.Error != nil {
				require.Equal(t, len(p.Applied)-1, k, "pass %d went on after a failure", i+1)
			}
		}
	}
}

func launchCmd(t *testing.T, args ...string) (launchJSON, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"launch", "--format", "json"}, args...), strings.NewReader(""), &out, &errOut)
	var rep launchJSON
	if out.Len() > 0 {
		require.NoError(t, json.Unmarshal(out.Bytes(), &rep), "stdout: %s", &out)
		requirePlannedJSON(t, rep)
	}
	return rep, errOut.String(), err
}

// TestLaunchCommandEndToEnd drives a device database through launches
// against "vitalsync serve --emulator" over loopback, as a person would.
func TestLaunchCommandEndToEnd(t *testing.T) {
	dir := t.TempDir()
	banner, cancel, done, _ := startServe(t, "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "issuer.db"),
		"--session-secret", testSessionSecret, "--emulator")
	base := bannerValue(t, banner, "issuer listening on")
	device := filepath.Join(dir, "device.db")
	common := []string{"--db", device, "--profile", "android-5.0", "--issuer", base, "--api-url", base, "--auth-url", base + "/auth"}
	alice := mintSession(t, "--secret", testSessionSecret, "--user", "alice")
	bob := mintSession(t, "--secret", testSessionSecret, "--user", "bob")

	rep, _, err := launchCmd(t, append(common, "--session", alice, "--app-user", "alice")...)
	require.NoError(t, err)
	require.Equal(t, "applied", rep.Outcome.Result)
	require.Equal(t, "token", rep.Outcome.State)
	require.Equal(t, "sign-in", rep.Passes[0].Plan.Actions[0]["type"])
	require.NotNil(t, rep.Passes[0].Observation["sdk"])
	require.Nil(t, rep.Passes[0].Applied[0].Error)
	require.Positive(t, *rep.NetworkCalls)
	require.Positive(t, *rep.DBWrites)

	// A relaunch that agrees costs nothing.
	rep, _, err = launchCmd(t, append(common, "--session", alice, "--app-user", "alice")...)
	require.NoError(t, err)
	require.Equal(t, "nothing-to-do", rep.Outcome.Result)
	require.Len(t, rep.Passes, 1)
	require.Empty(t, rep.Passes[0].Plan.Actions)
	require.Zero(t, *rep.NetworkCalls)
	require.Zero(t, *rep.DBWrites)

	rep, _, err = launchCmd(t, append(common, "--session", bob, "--app-user", "bob")...)
	require.NoError(t, err)
	require.Equal(t, []string{"sign-out", "sign-in(from token source)"}, rep.Outcome.Applied)
	require.Equal(t, "token", rep.Outcome.State)

	// A session for alice cannot fetch carol's token: bob's session is ended
	// first (a switch's sign-out is local), then the planner has no rule for
	// the token source's refusal, so the launch ends terminal, with no retry
	// scheduled, and no secret is printed.
	rep, stderr, err := launchCmd(t, append(common, "--session", alice, "--app-user", "carol")...)
	require.Error(t, err)
	require.Equal(t, 1, exitCode(err, &bytes.Buffer{}))
	require.Equal(t, "terminal", rep.Outcome.Result)
	require.Equal(t, "terminal", rep.Outcome.Class)
	require.Nil(t, rep.Outcome.RetryAt, "a terminal error is not retried with backoff")
	last := rep.Passes[len(rep.Passes)-1]
	require.True(t, last.Plan.Terminal)
	require.Equal(t, "unknown", rep.Passes[0].Applied[len(rep.Passes[0].Applied)-1].Error.SDKError)
	require.Equal(t, []string{"sign-out"}, rep.Outcome.Applied)
	require.NotContains(t, stderr+err.Error(), alice)

	// The app signs out too: nothing left to do, and nothing sent.
	rep, _, err = launchCmd(t, append(common, "--signed-out")...)
	require.NoError(t, err)
	require.Empty(t, rep.Outcome.Applied)
	require.Equal(t, "nothing-to-do", rep.Outcome.Result)
	require.Equal(t, "signed-out", rep.Outcome.State)
	require.Zero(t, *rep.NetworkCalls, "signing out is local")

	// Bob again, then signed out: the sign-out is local.
	rep, _, err = launchCmd(t, append(common, "--session", bob, "--app-user", "bob")...)
	require.NoError(t, err)
	require.Equal(t, "token", rep.Outcome.State)
	rep, _, err = launchCmd(t, append(common, "--signed-out")...)
	require.NoError(t, err)
	require.Equal(t, []string{"sign-out"}, rep.Outcome.Applied)
	require.Equal(t, "signed-out", rep.Outcome.State)
	require.Zero(t, *rep.NetworkCalls, "signing out is local")

	cancel()
	require.NoError(t, waitRun(t, done))
}

func TestLaunchCommandUsageErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "d.db")
	for _, args := range [][]string{
		{},
		{"--db", db},
		{"--db", db, "--issuer", "http://127.0.0.1:1", "--profile", "android-5.0"},
		{"--db", db, "--issuer", "http://127.0.0.1:1", "--profile", "android-5.0", "--app-user", "u", "--signed-out", "--session", "s"},
		{"--db", db, "--issuer", "http://127.0.0.1:1", "--profile", "android-5.0", "--app-user", "u"},
		{"--db", db, "--issuer", "http://127.0.0.1:1", "--profile", "ios-9", "--signed-out"},
		{"--db", db, "--issuer", "http://127.0.0.1:1", "--profile", "ios-1.8", "--signed-out", "--format", "xml"},
		{"--db", db, "--issuer", "http://127.0.0.1:1", "--profile", "ios-1.8", "--signed-out", "--region", "ap"},
		{"--bogus"},
	} {
		_, _, err := launchCmd(t, args...)
		require.Error(t, err, "%v", args)
		require.Equal(t, 2, exitCode(err, &bytes.Buffer{}), "%v: %v", args, err)
	}
}

// An unreachable issuer is transient: the launch schedules a retry and the
// next launch before it is due makes no call at all, says it was deferred
// and exits 3.
func TestLaunchCommandBacksOffWhenIssuerIsDown(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--db", filepath.Join(dir, "device.db"), "--profile", "ios-1.8", "--issuer", "http://127.0.0.1:1",
		"--api-url", "http://127.0.0.1:1", "--auth-url", "http://127.0.0.1:1/auth", "--session", "s", "--app-user", "alice"}
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"launch", "--format", "json"}, args...), strings.NewReader(""), &out, &errOut)
	require.Error(t, err)
	require.Equal(t, 1, exitCode(err, io.Discard))
	var first map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &first))
	outcome := first["outcome"].(map[string]any)
	require.Equal(t, "failed", outcome["result"])
	require.Equal(t, "transient", outcome["error_class"])
	require.NotNil(t, outcome["retry_at"])

	rep, _, err := launchCmd(t, args...)
	var de *deferredError
	require.ErrorAs(t, err, &de)
	require.Equal(t, exitDeferred, exitCode(err, io.Discard))
	require.Equal(t, "deferred", rep.Outcome.Result)
	require.NotNil(t, rep.Outcome.RetryAt)
	require.NotNil(t, rep.Passes[0].Plan.RetryAt)
	require.Zero(t, *rep.NetworkCalls)
	require.Zero(t, *rep.DBWrites)
}

// TestLaunchLegacyProfile: a launch on a legacy profile signs in through
// the emulator's legacy Firebase routes, given as --legacy-auth-url; without
// it the device would call the real Google hosts.
func TestLaunchLegacyProfile(t *testing.T) {
	dir := t.TempDir()
	banner, cancel, done, _ := startServe(t, "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "issuer.db"),
		"--session-secret", testSessionSecret, "--emulator")
	defer func() { cancel(); <-done }()
	base := bannerValue(t, banner, "issuer listening on")
	alice := mintSession(t, "--secret", testSessionSecret, "--user", "alice")
	common := []string{"--db", filepath.Join(dir, "device.db"), "--profile", "android-4.2.0", "--issuer", base,
		"--api-url", base, "--auth-url", base + "/auth", "--legacy-auth-url", base, "--session", alice, "--app-user", "alice"}
	rep, _, err := launchCmd(t, common...)
	require.NoError(t, err)
	require.Equal(t, "applied", rep.Outcome.Result)
	require.Equal(t, "token", rep.Outcome.State)
	rep, _, err = launchCmd(t, common...)
	require.NoError(t, err)
	require.Equal(t, "nothing-to-do", rep.Outcome.Result)

	_, _, err = launchCmd(t, append(common[:len(common)-6:len(common)-6], "--legacy-auth-url", "ftp://x", "--session", alice, "--app-user", "alice")...)
	require.Error(t, err, "a bad URL is a usage error")
}
