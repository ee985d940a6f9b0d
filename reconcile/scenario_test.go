package reconcile

import (
	"errors"
	"fmt"
	"strconv"
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

// observationFromArgs builds an observation from scenario keys:
//
//	profile=P app=signed-out|U|U:V app-env=E/R status=-|flag,flag user=ID
//	sdk-env=E/R last=STATE error=SDKERR next=+DUR allow-api-key
//	last-action=ACTION attempts=N issued=V unused-token=V session=U
//	resolved=-DUR deletion-undetectable protected-data=unavailable
func observationFromArgs(args []datadriven.CmdArg) (Observation, error) {
	o := Observation{Now: scenarioNow}
	for _, a := range args {
		k, v := a.Key, strings.Join(a.Vals, ",")
		switch k {
		case "profile":
			p, ok := fsm.ParseProfile(v)
			if !ok {
				return o, fmt.Errorf("unknown profile %q", v)
			}
			o.Profile = p
		case "app":
			if v == "signed-out" {
				continue
			}
			o.App.SignedIn = true
			o.App.AppUserID, o.App.VitalUserID, _ = strings.Cut(v, ":")
		case "app-env", "sdk-env":
			e, r, _ := strings.Cut(v, "/")
			if k == "app-env" {
				o.App.Environment, o.App.Region = fsm.Environment(e), fsm.Region(r)
			} else {
				o.SDK.Environment, o.SDK.Region = fsm.Environment(e), fsm.Region(r)
			}
		case "status":
			if v == "-" {
				continue
			}
			s, err := fsm.ParseStatus(strings.Split(v, ","))
			if err != nil {
				return o, err
			}
			o.SDK.Status = s
		case "user":
			o.SDK.CurrentUserID = v
		case "last":
			o.LastObserved = fsm.State(v)
		case "error":
			o.LastError = SDKError(v)
		case "next":
			d, err := time.ParseDuration(strings.TrimPrefix(v, "+"))
			if err != nil {
				return o, err
			}
			o.NextAttemptAt = scenarioNow.Add(d)
		case "last-action":
			act, ok := ParseAction(v)
			if !ok {
				return o, fmt.Errorf("bad action %q", v)
			}
			o.LastAction = act
		case "attempts":
			n, err := strconv.Atoi(v)
			if err != nil {
				return o, err
			}
			o.Attempts = n
		case "issued":
			o.IssuedVitalUserID = v
		case "unused-token":
			o.UnusedToken = v
		case "session":
			o.SessionAppUserID = v
		case "resolved":
			d, err := time.ParseDuration(strings.TrimPrefix(v, "-"))
			if err != nil {
				return o, err
			}
			o.LastResolvedAt = scenarioNow.Add(-d)
		case "deletion-undetectable":
			// The profile's SDK never detects a deleted user (Android
			// 4.2.1–4.2.2, §10.1).
			o.Profile.DetectsDeletion = false
		case "protected-data":
			o.ProtectedDataUnavailable = v == "unavailable"
		case "allow-api-key":
			o.AllowAPIKey = true
		default:
			return o, fmt.Errorf("unknown key %q", k)
		}
	}
	return o, nil
}
