package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/vitalsync/vitalsync/conformance"
)

func runConformance(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "conformance", "--engine 'CMD ARGS' [--suite plan,runner,crash,fleet] [--vectors FILE] [--case NAME] [--format text|json]")
	engine := fs.String("engine", "", "the engine's command line (required); e.g. 'vitalsync conformance-engine'")
	suites := fs.String("suite", "", "comma-separated suites: "+strings.Join(conformance.Suites(), ", ")+
		" (default: all; with --vectors, the suites of the file's kind)")
	vectors := fs.String("vectors", "", "a plan.json or runner.json in the exported format, instead of the built-in vectors")
	only := fs.String("case", "", "run only the case of this name (the replay command of a failure)")
	format := choiceFlag(fs, "format", "text", "output format (text: a line per case)", "text", "json")
	allowSkip := fs.Bool("allow-skip", false, "pass cases the engine lacks a capability for")
	seed := fs.Uint64("fleet-seed", 1, "the fleet suite's seed")
	installs := fs.Int("fleet-installs", 8, "the fleet suite's installations")
	launches := fs.Int("fleet-launches", 12, "the fleet suite's launches per installation")
	if err := parseNoArgs(fs, args, "; give the engine with --engine"); err != nil {
		return err
	}
	if *engine == "" {
		return usagef("conformance needs --engine 'CMD ARGS'")
	}
	argv, err := conformance.SplitCommand(*engine)
	if err != nil {
		return usageErr(err)
	}
	cfg := conformance.Config{Engine: argv, Case: *only, AllowSkip: *allowSkip,
		Fleet: conformance.FleetConfig{Seed: *seed, Installs: *installs, Launches: *launches}}
	if *suites != "" {
		cfg.Suites = strings.Split(*suites, ",")
	}
	if *vectors != "" {
		if err := conformance.LoadVectors(&cfg, *vectors); err != nil {
			return err
		}
		cfg.ReplayFlags = append(cfg.ReplayFlags, "--vectors", *vectors)
	}
	fs.Visit(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "fleet-") || f.Name == "allow-skip" {
			cfg.ReplayFlags = append(cfg.ReplayFlags, "--"+f.Name+"="+f.Value.String())
		}
	})
	if format.String() == "text" {
		cfg.Report = func(r conformance.CaseResult) { conformance.WriteText(e.stdout, r) }
	}
	sum, err := conformance.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if format.String() == "json" {
		if err := writeJSONIndent(e.stdout, sum); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "%s %s: %d passed, %d failed, %d skipped\n", sum.Engine.Name, sum.Engine.Version,
			sum.Passed, sum.Failed, sum.Skipped)
	}
	return sum.Err(*allowSkip)
}

func runConformanceEngine(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "conformance-engine", "(speaks the protocol of docs/conformance/protocol.md on stdin/stdout)")
	if err := parseNoArgs(fs, args, ""); err != nil {
		return err
	}
	return conformance.ServeEngine(ctx, e.stdin, e.stdout, conformance.EngineOptions{Version: buildVersion(debug.ReadBuildInfo()).Version})
}
