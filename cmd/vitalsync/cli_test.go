package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

func runCLI(stdin string, args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	code = exitCode(err, &errOut)
	return out.String(), errOut.String(), code
}

const switchObservation = `{"profile":"ios-1.8","app":{"signed_in":true,"app_user_id":"u-2","vital_user_id":"v-2"},
"sdk":{"status":["configured","signedIn","useSignInToken"],"current_user_id":"V-1"},"now":"2026-11-24T10:00:00Z"}`

func TestPlanCommand(t *testing.T) {
	out, _, code := runCLI(switchObservation, "plan")
	require.Zero(t, code)
	require.Contains(t, out, "wrong-user")
	require.Contains(t, out, "1. sign-out")
	require.Contains(t, out, "2. sign-in(v-2)")

	out, _, code = runCLI(switchObservation, "plan", "--format", "json")
	require.Zero(t, code)
	var p reconcile.Plan
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	// iOS 1.4+ signs in through identifyExternalUser: the plan says so.
	require.Equal(t, []reconcile.Action{reconcile.SignOut{}, reconcile.SignIn{VitalUser: "v-2", Identify: true}}, p.Actions)
	require.JSONEq(t, `{"actions":[{"type":"sign-out"},{"type":"sign-in","vital_user_id":"v-2","sdk_call":"identifyExternalUser"}],"retry_at":null}`, out)

	// Invalid input is a failure (1) that names the field; flags are usage (2).
	_, stderr, code := runCLI(`{"profile":"ios-1.8","app":{"signed_in":false},"sdk":{"status":["bogus"]},"now":"2026-11-24T10:00:00Z"}`, "plan")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "sdk.status[0]")
	_, _, code = runCLI("", "plan", "--format", "yaml")
	require.Equal(t, 2, code)
	_, _, code = runCLI("", "plan", "extra")
	require.Equal(t, 2, code)
	_, _, code = runCLI("", "plan", "--help")
	require.Zero(t, code)
}

func TestFSMCommand(t *testing.T) {
	out, _, code := runCLI("", "fsm")
	require.Zero(t, code)
	want, err := fsm.Diagram(fsm.Mermaid, nil)
	require.NoError(t, err)
	require.Equal(t, want, out)

	out, _, code = runCLI("", "fsm", "--format", "dot", "--profile", "android-5.0")
	require.Zero(t, code)
	require.True(t, strings.HasPrefix(out, `digraph "android-5.0"`))
	require.NotContains(t, out, "auto-sign-out", "android-5.0 does not sign out on deletion")

	for _, args := range [][]string{{"fsm", "--format", "svg"}, {"fsm", "--profile", "ios-9"}, {"fsm", "x"}} {
		_, _, code = runCLI("", args...)
		require.Equal(t, 2, code, "%v", args)
	}
}

func TestTopLevelUsage(t *testing.T) {
	out, _, code := runCLI("", "--help")
	require.Zero(t, code)
	for name := range commands {
		require.Contains(t, out, name)
	}
	_, stderr, code := runCLI("")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "usage:")
	_, _, code = runCLI("", "frobnicate")
	require.Equal(t, 2, code)
	require.Zero(t, exitCode(flag.ErrHelp, &bytes.Buffer{}))
	require.Equal(t, 1, exitCode(errors.New("boom"), &bytes.Buffer{}))
}

// Every command answers --help with its flags and exit code 0.
func TestEveryCommandHasHelp(t *testing.T) {
	for name := range commands {
		stdout, stderr, code := runCLI("", name, "--help")
		require.Zero(t, code, name)
		require.Contains(t, stdout, "usage: vitalsync "+name, name)
		require.Empty(t, stderr, "help is not an error: %s", name)
		viaHelp, _, code := runCLI("", "help", name)
		require.Zero(t, code, name)
		require.Equal(t, stdout, viaHelp, "vitalsync help %s", name)
	}
}
