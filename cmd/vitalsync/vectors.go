package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/vitalsync/vitalsync/conformance"
)

func runVectors(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "vectors", "--out DIR [--testdata reconcile/testdata]")
	out := fs.String("out", "", "directory to write plan.json, runner.json and profiles.json into (required)")
	testdata := fs.String("testdata", filepath.Join("reconcile", "testdata"),
		"the reconcile package's datadriven files (run from the repository's root)")
	if err := parseNoArgs(fs, args, ""); err != nil {
		return err
	}
	if *out == "" {
		return usagef("vectors needs --out DIR")
	}
	v, err := conformance.Export(*testdata)
	if err != nil {
		return err
	}
	if err := v.Write(*out); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %d planner cases, %d runner transcripts and %d profiles to %s\n",
		len(v.Plan.Cases), len(v.Runner.Cases), len(v.Profiles.Profiles), *out)
	return nil
}
