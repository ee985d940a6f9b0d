package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/fsm"
)

// TestDemoEveryProfile runs the README's main command on every profile and
// checks the story it tells, launch by launch.
func TestDemoEveryProfile(t *testing.T) {
	for _, p := range fsm.ProfileNames() {
		t.Run(p, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), []string{"demo", "--profile", p, "--format", "json", "--dir", t.TempDir()},
				strings.NewReader(""), &out, &errOut)
			require.NoError(t, err, "stderr: %s", &errOut)
			type step struct {
				Installation string     `json:"installation"`
				Launch       launchJSON `json:"launch"`
			}
			var steps []step
			sc := bufio.NewScanner(&out)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var s step
				require.NoError(t, json.Unmarshal(sc.Bytes(), &s))
				steps = append(steps, s)
			}
			require.Len(t, steps, 6)
			type launch struct{ result, first, state string }
			want := []launch{
				{"applied", "sign-in(", "token"},
				{"nothing-to-do", "", "token"},
				{"applied", "sign-out", "token"},
				{"applied", "sign-in(", "token"},
				{"applied", "migrate(", "token"},
				{"applied", "sign-out", "signed-out"},
			}
			prof, _ := fsm.ParseProfile(p)
			// Flutter on iOS has only the deprecated signIn, whose session
			// the status hides until the next launch (reference §1.2,
			// §10.10): a launch that signs in ends observing {configured},
			// off the state machine's path, and the relaunch finds the
			// session (and writes it into the startup params once).
			hidden := prof.SignInNeedsRelaunch && !prof.HasIdentify
			if !prof.DetectsDeletion {
				// Android 4.2.1–4.2.2 never detect the deletion (§10.1): a
				// day later bob's launch asks the issuer again, finds his new
				// Vital user and switches to it.
				want[3] = launch{"applied", "resolve(app user bob)", "token"}
			}
			for i, w := range want {
				o := steps[i].Launch.Outcome
				require.Equal(t, w.result, o.Result, "step %d", i+1)
				requirePlannedJSON(t, steps[i].Launch)
				if w.first != "" {
					require.True(t, strings.HasPrefix(o.Applied[0], w.first), "step %d: %v", i+1, o.Applied)
				}
				if hidden && w.state == "token" && w.result == "applied" {
					require.Equal(t, "configured", o.State, "step %d", i+1)
					require.NotNil(t, o.Divergence, "step %d", i+1)
					continue
				}
				require.Equal(t, w.state, o.State, "step %d", i+1)
				require.Nil(t, o.Divergence, "step %d: the SDK core follows the profile's state machine", i+1)
			}
			require.Zero(t, *steps[1].Launch.NetworkCalls)
			if hidden {
				require.EqualValues(t, 1, *steps[1].Launch.DBWrites, "the record becomes startup params")
			} else {
				require.Zero(t, *steps[1].Launch.DBWrites)
			}
			require.Contains(t, steps[4].Launch.Outcome.Applied[0], "migrate(")
			require.NotContains(t, out.String()+errOut.String(), "sk_us_demo_", "the API key never reaches output")
			if !prof.DetectsDeletion {
				del := steps[3].Launch
				require.Equal(t, "resolve", del.Passes[0].Plan.Actions[0]["type"])
				require.Equal(t, []string{"resolve(app user bob)", "sign-out"}, del.Outcome.Applied[:2])
				return
			}
			// Step 4 plans a sign-in as bob's deleted Vital user; the token
			// source names a new one, and the next pass plans and applies
			// that: what is applied is always what a pass planned.
			del := steps[3].Launch
			require.GreaterOrEqual(t, len(del.Passes), 2)
			require.Equal(t, "stale", del.Passes[0].Applied[0].Error.Class)
			require.NotEqual(t, del.Passes[0].Plan.Actions[0]["vital_user_id"], del.Passes[1].Plan.Actions[0]["vital_user_id"])
		})
	}
}
