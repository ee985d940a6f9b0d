package conformance

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

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
			o, ov, err := observationFromArgs(d)
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

// observationFromArgs builds an observation from a plan directive's keys
// with reconcile.ScenarioObservation and validates it. The vectors carry the
// profile by name, so deletion-undetectable becomes a profile override.
func observationFromArgs(d directive) (reconcile.Observation, *ProfileOverrides, error) {
	o, err := reconcile.ScenarioObservation(ScenarioNow, func(yield func(string, string) bool) {
		for _, a := range d.args {
			if !yield(a.key, a.val) {
				return
			}
		}
	})
	if err != nil {
		return o, nil, err
	}
	if err := o.Validate(); err != nil {
		return o, nil, err
	}
	var ov *ProfileOverrides
	if d.has("deletion-undetectable") {
		f := false
		ov = &ProfileOverrides{DetectsDeletion: &f}
	}
	return o, ov, nil
}
