package conformance

import (
	"encoding/json"
	"fmt"
	"os"
)

// LoadVectors reads the vector file at path (a plan.json or runner.json in
// the exported format) by its kind into cfg, instead of the built-in
// vectors; with no Suites set, the suites of the file's kind alone run.
func LoadVectors(cfg *Config, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var head struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrVectors, path, err)
	}
	var suites []string
	switch head.Kind {
	case KindPlan:
		f, err := ReadPlanFile(path)
		if err != nil {
			return err
		}
		cfg.Plan, suites = &f, []string{SuitePlan}
	case KindRunner:
		f, err := ReadRunnerFile(path)
		if err != nil {
			return err
		}
		cfg.Runner, suites = &f, []string{SuiteRunner, SuiteCrash}
	default:
		return fmt.Errorf("%w: %s: kind %q is not plan or runner", ErrVectors, path, head.Kind)
	}
	if cfg.Suites == nil {
		cfg.Suites = suites
	}
	return nil
}
