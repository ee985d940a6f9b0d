package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/vitalsync/vitalsync/reconcile"
)

// errEmptyInput is matched by the usage error of a command whose input
// holds nothing but white space.
var errEmptyInput = errors.New("the input is empty")

func runPlan(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "plan", "[--format table|json] < observation.json")
	format := choiceFlag(fs, "format", "table", "output format", "table", "json")
	if err := parseNoArgs(fs, args, "; it reads the observation from stdin"); err != nil {
		return err
	}
	o, err := reconcile.DecodeObservation(e.stdin)
	if errors.Is(err, io.EOF) {
		// The decoder found no value: nothing but white space.
		return usageErr(fmt.Errorf("%w: plan reads one observation as JSON from stdin: vitalsync plan < observation.json", errEmptyInput))
	}
	if err != nil {
		return err
	}
	p := o.Plan()
	if format.String() == "json" {
		return json.NewEncoder(e.stdout).Encode(p)
	}
	return reconcile.WritePlanTable(e.stdout, &o, p, display)
}
