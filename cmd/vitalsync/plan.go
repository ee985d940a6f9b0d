package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode"

	"github.com/vitalsync/vitalsync/reconcile"
)

// errEmptyInput is matched by the usage error of a command whose input
// holds nothing but white space.
var errEmptyInput = errors.New("the input is empty")

// emptyInput reports whether r holds only white space, without consuming
// anything else.
func emptyInput(r *bufio.Reader) (bool, error) {
	for {
		b, err := r.Peek(1)
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if !unicode.IsSpace(rune(b[0])) {
			return false, nil
		}
		r.ReadByte()
	}
}

func runPlan(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "plan", "[--format table|json] < observation.json")
	format := choiceFlag(fs, "format", "table", "output format", "table", "json")
	if err := parseNoArgs(fs, args, "; it reads the observation from stdin"); err != nil {
		return err
	}
	in := bufio.NewReader(e.stdin)
	if empty, err := emptyInput(in); err != nil {
		return fmt.Errorf("plan: reading stdin: %w", err)
	} else if empty {
		return usageErr(fmt.Errorf("%w: plan reads one observation as JSON from stdin: vitalsync plan < observation.json", errEmptyInput))
	}
	o, err := reconcile.DecodeObservation(in)
	if err != nil {
		return err
	}
	p := o.Plan()
	if format.String() == "json" {
		return json.NewEncoder(e.stdout).Encode(p)
	}
	return reconcile.WritePlanTable(e.stdout, &o, p, display)
}
