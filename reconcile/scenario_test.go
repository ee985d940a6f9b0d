package reconcile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/fsm"
)

// Scenario files (testdata/plan/*.txt) are cockroachdb/datadriven files.
// Commands: "plan" builds an observation from its arguments and prints the
// classification and the plan; "decode" reads a JSON observation from the
// input and prints its plan or the invalid field. Run with -rewrite to
// regenerate the expected output.

var scenarioNow = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func TestScenarios(t *testing.T) {
	total := 0
	profilesSeen := map[string]bool{}
	datadriven.Walk(t, "testdata/plan", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			total++
			return runScenario(t, d, profilesSeen)
		})
	})
	require.GreaterOrEqual(t, total, 40, "the scenario files hold at least 40 cases")
	for _, p := range fsm.ProfileNames() {
		require.True(t, profilesSeen[p], "no scenario covers profile %s", p)
	}
}

func runScenario(t *testing.T, d *datadriven.TestData, seen map[string]bool) string {
	switch d.Cmd {
	case "plan":
		// Example: plan profile=ios-1.8 app=alice:v-1 status=configured
		o, err := observationFromArgs(d.CmdArgs)
		require.NoError(t, err, d.Pos)
		require.NoError(t, o.Validate(), d.Pos)
		seen[o.Profile.Name] = true
		return describePlan(&o)
	case "decode":
		// Example: decode
		// {"profile":"ios-1.8", …}
		o, err := ParseObservation([]byte(d.Input))
		if err != nil {
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "%s: %v is not a *FieldError", d.Pos, err)
			require.ErrorIs(t, err, ErrInvalidObservation)
			return "invalid: " + fe.Field + "\n"
		}
		seen[o.Profile.Name] = true
		return describePlan(&o)
	case "_breakpoint":
		// Example: _breakpoint (stop here under a debugger)
		return ""
	}
	d.Fatalf(t, "unknown command %q", d.Cmd)
	return ""
}

func describePlan(o *Observation) string {
	p := o.Plan()
	js, _ := p.MarshalJSON()
	return fmt.Sprintf("observed: %s\nclass: %s\nplan: %s\njson: %s\n", p.Observed, p.Discrepancy, p, js)
}

// observationFromArgs builds an observation from a plan directive's keys
// (ScenarioObservation documents them); a (v1,v2) list is read as "v1,v2".
func observationFromArgs(args []datadriven.CmdArg) (Observation, error) {
	return ScenarioObservation(scenarioNow, func(yield func(string, string) bool) {
		for _, a := range args {
			if !yield(a.Key, strings.Join(a.Vals, ",")) {
				return
			}
		}
	})
}
