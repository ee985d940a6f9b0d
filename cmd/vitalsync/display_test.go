package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"github.com/vitalsync/vitalsync/installation"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

func TestDisplay(t *testing.T) {
	for in, want := range map[string]string{
		"alice":                 "alice",
		"user@example.com":      "user@example.com",
		"ユーザー":                  "ユーザー",
		"a b":                   "a b",
		"":                      "",
		"a\nb":                  `"a\nb"`,
		"a\r\nfake  line":       `"a\r\nfake  line"`,
		"\x1b[2J\x1b[31mred":    `"\x1b[2J\x1b[31mred"`,
		"tab\there":             `"tab\there"`,
		"nul\x00":               `"nul\x00"`,
		"\xff\xfe":              `"\xff\xfe"`,
		"bidi\u202eevil":        `"bidi\u202eevil"`,
		"nbsp\u00a0":            `"nbsp\u00a0"`,
		`"already quoted"`:      `"\"already quoted\""`,
		"line\u2028separator":   `"line\u2028separator"`,
		"replacement \ufffd ok": "replacement \ufffd ok",
	} {
		require.Equal(t, want, display(in), "display(%q)", in)
	}
}

// hostile IDs: each would forge a line, a column or a colour if printed raw.
var hostileIDs = []string{
	"u-1\nsdk          {} user forged",
	"\x1b[2J\x1b[Hcleared",
	"v\tcolumn",
	"v\r\noverwritten",
}

// assertNoRawControl fails if out holds a control character other than the
// line breaks of its own lines, or more lines than want.
func assertNoRawControl(t *testing.T, out string, lines int) {
	t.Helper()
	require.NotContains(t, out, "\x1b")
	require.NotContains(t, out, "\r")
	require.NotContains(t, out, "\t")
	require.Equal(t, lines, strings.Count(out, "\n"), "output:\n%s", out)
	require.NotContains(t, out, "\nsdk          {} user forged")
}

// plan's table quotes hostile IDs from the observation instead of printing
// them raw, so each row stays one line.
func TestPlanTableQuotesHostileIDs(t *testing.T) {
	for _, id := range hostileIDs {
		obs := map[string]any{
			"profile": "ios-1.8",
			"app":     map[string]any{"signed_in": true, "app_user_id": id, "vital_user_id": id + "-v"},
			"sdk":     map[string]any{"status": []string{"configured", "signedIn", "useSignInToken"}, "current_user_id": id + "-sdk"},
			"now":     "2026-11-24T10:00:00Z",
		}
		in, err := json.Marshal(obs)
		require.NoError(t, err)
		out, stderr, code := runCLI(string(in), "plan")
		require.Zero(t, code, stderr)
		assertNoRawControl(t, out, 8) // profile, app, sdk, observed, discrepancy, 2 actions, retry at
		require.Contains(t, out, display(id))
		require.Contains(t, out, display(id+"-sdk"))
	}
}

// launch's table (and so the demo's narration) quotes hostile values from
// the observation, the plan, the outcome and the journal.
func TestLaunchTableQuotesHostileIDs(t *testing.T) {
	for _, id := range hostileIDs {
		retry := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		plan := reconcile.Plan{Actions: []reconcile.Action{reconcile.SignOut{}, reconcile.SignIn{VitalUser: id}},
			Observed: fsm.Token, Discrepancy: reconcile.WrongUser}
		rep := launchReport{
			Passes: []reconcile.Pass{{
				Observation: reconcile.Observation{
					App: reconcile.AppSession{SignedIn: true, AppUserID: id, VitalUserID: id},
					SDK: reconcile.SDKObservation{Status: fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseSignInToken, CurrentUserID: id},
				},
				Plan: plan,
				Applied: []reconcile.Step{{Action: reconcile.SignOut{}},
					{Action: reconcile.SignIn{VitalUser: id}, Err: errors.New("issuer: " + id), Class: reconcile.ClassTerminal}},
			}},
			Outcome: installation.LaunchOutcome{Result: "failed", Applied: []string{"sign-out"}, State: "token",
				Error: "issuer: " + id, Interrupted: "sign-in(" + id + ")",
				Divergence: &reconcile.Divergence{Expected: fsm.Token, Observed: fsm.Configured}, RetryAt: &retry},
		}
		var out bytes.Buffer
		require.NoError(t, printLaunch(&out, rep))
		assertNoRawControl(t, out.String(), 11)
	}
}
