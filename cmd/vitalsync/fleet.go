package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/vitalsync/vitalsync/adapters/store/postgres"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/audit"
)

const fleetSynopsis = `--installs N --seed S (--db FILE|postgres://… | --csv FILE | --jsonl FILE) [--truth FILE] [--now T]`

func runFleet(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "generate" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprintf(e.stdout, "usage: vitalsync fleet generate %s\n", fleetSynopsis)
			return flag.ErrHelp
		}
		return usagef("usage: vitalsync fleet generate %s", fleetSynopsis)
	}
	fs := newFlagSet(e, "fleet generate", fleetSynopsis)
	installs := fs.Int("installs", 1000, "number of installations")
	seed := fs.Uint64("seed", 1, "seed: the same seed and --now make the same fleet")
	dbPath := fs.String("db", "", "write an issuer database (reports and the user map): a SQLite file, or a postgres:// URL")
	csvPath := fs.String("csv", "", "write CSV")
	jsonlPath := fs.String("jsonl", "", "write JSON Lines")
	truthPath := fs.String("truth", "", "ground-truth file (default: the output file + .truth.json)")
	nowFlag := fs.String("now", "", "the fleet's today, RFC 3339 (default: today 00:00 UTC)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	n := 0
	out := ""
	for _, p := range []string{*dbPath, *csvPath, *jsonlPath} {
		if p != "" {
			n++
			out = p
		}
	}
	if n != 1 || fs.NArg() > 0 {
		return usagef("fleet generate: give exactly one of --db, --csv and --jsonl")
	}
	if *installs < 0 {
		return usagef("fleet generate: --installs must not be negative")
	}
	now := time.Now().UTC().Truncate(24 * time.Hour)
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			return usagef("fleet generate: --now must be an RFC 3339 time")
		}
		now = t
	}
	if *truthPath == "" && isPostgresURL(*dbPath) {
		return usagef("fleet generate: --db postgres://… needs --truth FILE")
	}
	if *truthPath == "" {
		*truthPath = out + ".truth.json"
	}
	opts := audit.FleetOptions{Installs: *installs, Seed: *seed, Now: now}
	var truth audit.Truth
	if *dbPath != "" {
		var load func(ctx context.Context, next func() ([]string, bool)) error
		if isPostgresURL(*dbPath) {
			db, err := postgres.Open(ctx, *dbPath)
			if err != nil {
				return err
			}
			defer db.Close()
			load, out = db.LoadFleet, redactURL(*dbPath)
		} else {
			db, err := sqlite.OpenIssuer(ctx, *dbPath)
			if err != nil {
				return err
			}
			defer db.Close()
			load = db.LoadFleet
		}
		recs := make(chan []string, 1024)
		done := make(chan error, 1)
		go func() {
			var err error
			truth, err = audit.GenerateFleet(opts, func(rec []string) error {
				recs <- append([]string(nil), rec...)
				return nil
			})
			close(recs)
			done <- err
		}()
		loadErr := load(ctx, func() ([]string, bool) {
			rec, ok := <-recs
			return rec, ok
		})
		for range recs { // drain after a failed load
		}
		if err := <-done; err != nil {
			return err
		}
		if loadErr != nil {
			return loadErr
		}
	} else {
		f, err := os.Create(out)
		if err != nil {
			return fmt.Errorf("fleet generate: %w", err)
		}
		defer f.Close()
		var write func([]string) error
		var flush func() error
		if *csvPath != "" {
			w := audit.NewCSVWriter(f)
			write, flush = w.Write, w.Flush
		} else {
			w := audit.NewJSONLWriter(f)
			write, flush = w.Write, w.Flush
		}
		if truth, err = audit.GenerateFleet(opts, write); err != nil {
			return err
		}
		if err := flush(); err != nil {
			return fmt.Errorf("fleet generate: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("fleet generate: %w", err)
		}
	}
	data, err := json.MarshalIndent(truth, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*truthPath, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("fleet generate: %w", err)
	}
	_, err = fmt.Fprintf(e.stdout, "wrote %d installations to %s, ground truth to %s\n", truth.Rows, out, *truthPath)
	return err
}
