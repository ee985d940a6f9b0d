package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/vitalsync/vitalsync/adapters/store/postgres"
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
	out, ok := exactlyOne(*dbPath, *csvPath, *jsonlPath)
	if !ok || fs.NArg() > 0 {
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
	if *truthPath == "" && postgres.IsURL(*dbPath) {
		return usagef("fleet generate: --db postgres://… needs --truth FILE")
	}
	if *truthPath == "" {
		*truthPath = out + ".truth.json"
	}
	opts := audit.FleetOptions{Installs: *installs, Seed: *seed, Now: now}
	var truth audit.Truth
	var err error
	if *dbPath != "" {
		truth, out, err = loadFleet(ctx, opts, *dbPath)
	} else {
		if truth, err = audit.WriteFleetFile(opts, out, *csvPath != ""); err != nil {
			err = fmt.Errorf("fleet generate: %w", err)
		}
	}
	if err != nil {
		return err
	}
	if err := truth.WriteFile(*truthPath); err != nil {
		return fmt.Errorf("fleet generate: %w", err)
	}
	_, err = fmt.Fprintf(e.stdout, "wrote %d installations to %s, ground truth to %s\n", truth.Rows, out, *truthPath)
	return err
}

// loadFleet generates a fleet into the issuer database at spec, SQLite or
// PostgreSQL, and returns its truth and the database's name to print.
func loadFleet(ctx context.Context, opts audit.FleetOptions, spec string) (audit.Truth, string, error) {
	db, name, err := openIssuerDB(ctx, spec)
	if err != nil {
		return audit.Truth{}, "", err
	}
	defer db.Close()
	truth, err := audit.LoadFleet(ctx, opts, db.LoadFleet)
	return truth, name, err
}
