package conformance

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// ScenarioNow is the time of every planner scenario and the start of every
// runner transcript.
var ScenarioNow = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// exportPlans turns the planner scenario files (plan and decode
// directives) into vectors.
func exportPlans(dir string) ([]PlanCase, error) {
	ds, err := readDir(dir)
	if err != nil {
		return nil, err
	}
	var out []PlanCase
	for _, d := range ds {
		c := PlanCase{Name: d.pos(), Comment: d.comment}
		switch d.cmd {
		case "plan":
			o, ov, err := observationFromArgs(d.args)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.pos(), err)
			}
			if c.Observation, err = json.Marshal(o); err != nil {
				return nil, fmt.Errorf("%s: %w", d.pos(), err)
			}
			c.ProfileOverrides = ov
		case "decode":
			text := strings.TrimSpace(d.input)
			c.ObservationText = &text
		case "_breakpoint":
			continue
		default:
			return nil, fmt.Errorf("%s: unknown command %q", d.pos(), d.cmd)
		}
		if c.Expect, err = parsePlanExpect(d.expect); err != nil {
			return nil, fmt.Errorf("%s: %w", d.pos(), err)
		}
		out = append(out, c)
	}
	return out, nil
}

// parsePlanExpect reads a scenario's expected output: "invalid: FIELD", or
// the observed state, the class, the plan and its JSON. The plan line must
// be the JSON's rendering.
func parsePlanExpect(s string) (PlanResult, error) {
	var r PlanResult
	if f, ok := strings.CutPrefix(strings.TrimSpace(s), "invalid: "); ok {
		r.Invalid = &Invalid{Field: f}
		return r, nil
	}
	fields := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			return r, fmt.Errorf("expected output line %q is not KEY: VALUE", l)
		}
		fields[k] = v
	}
	for _, k := range []string{"observed", "class", "plan", "json"} {
		if _, ok := fields[k]; !ok {
			return r, fmt.Errorf("expected output has no %q line", k)
		}
	}
	var p reconcile.Plan
	if err := json.Unmarshal([]byte(fields["json"]), &p); err != nil {
		return r, fmt.Errorf("expected plan JSON: %w", err)
	}
	wp := PlanOf(p)
	if got := wp.String(); got != fields["plan"] {
		return r, fmt.Errorf("expected plan line %q is not its JSON's %q", fields["plan"], got)
	}
	r.Observed, r.Discrepancy, r.Plan = fields["observed"], fields["class"], &wp
	return r, nil
}

// observationFromArgs builds an observation from the planner scenarios'
// keys (reconcile/scenario_test.go documents them):
//
//	profile=P app=signed-out|U|U:V app-env=E/R status=-|flag,flag user=ID
//	sdk-env=E/R last=STATE error=SDKERR next=+DUR allow-api-key
//	last-action=ACTION attempts=N issued=V unused-token=V session=U
//	resolved=-DUR deletion-undetectable protected-data=unavailable
func observationFromArgs(args []arg) (reconcile.Observation, *ProfileOverrides, error) {
	o := reconcile.Observation{Now: ScenarioNow}
	var ov *ProfileOverrides
	for _, a := range args {
		k, v := a.key, a.val
		switch k {
		case "profile":
			p, ok := fsm.ParseProfile(v)
			if !ok {
				return o, nil, fmt.Errorf("unknown profile %q", v)
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
				return o, nil, err
			}
			o.SDK.Status = s
		case "user":
			o.SDK.CurrentUserID = v
		case "last":
			o.LastObserved = fsm.State(v)
		case "error":
			o.LastError = reconcile.SDKError(v)
		case "next":
			d, err := time.ParseDuration(strings.TrimPrefix(v, "+"))
			if err != nil {
				return o, nil, err
			}
			o.NextAttemptAt = ScenarioNow.Add(d)
		case "last-action":
			act, ok := reconcile.ParseAction(v)
			if !ok {
				return o, nil, fmt.Errorf("bad action %q", v)
			}
			o.LastAction = act
		case "attempts":
			n, err := strconv.Atoi(v)
			if err != nil {
				return o, nil, err
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
				return o, nil, err
			}
			o.LastResolvedAt = ScenarioNow.Add(-d)
		case "deletion-undetectable":
			f := false
			ov = &ProfileOverrides{DetectsDeletion: &f}
		case "protected-data":
			o.ProtectedDataUnavailable = v == "unavailable"
		case "allow-api-key":
			o.AllowAPIKey = true
		default:
			return o, nil, fmt.Errorf("unknown key %q", k)
		}
	}
	if err := o.Validate(); err != nil {
		return o, nil, err
	}
	return o, ov, nil
}
