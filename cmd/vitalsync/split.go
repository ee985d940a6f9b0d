package main

import (
	"context"
	"fmt"

	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
)

const splitSynopsis = `--db FILE --device NEW --issuer NEW

Writes the halves of a database from before the split (one schema for every
file, schema version 10 or older) to two new files: --device gets the
device's tables and rows, --issuer the issuer's, each with a copy of
FILE.key. FILE is left as it was: remove it once both halves open. doctor
names a file that needs it, with this command.

flags:`

func runSplit(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "split", splitSynopsis)
	dbPath := fs.String("db", "", "the database to split (not changed)")
	devicePath := fs.String("device", "", "the device database to write (must not exist)")
	issuerPath := fs.String("issuer", "", "the issuer database to write (must not exist)")
	if err := parseNoArgs(fs, args, ""); err != nil {
		return err
	}
	switch {
	case *dbPath == "" || *devicePath == "" || *issuerPath == "":
		return usagef("split: --db, --device and --issuer are required")
	case *devicePath == *issuerPath || *devicePath == *dbPath || *issuerPath == *dbPath:
		return usagef("split: --db, --device and --issuer must be three different files")
	}
	if err := sqlite.Split(ctx, *dbPath, *devicePath, *issuerPath); err != nil {
		return fmt.Errorf("split: %w", err)
	}
	fmt.Fprintf(e.stdout, "device database  %s\nissuer database  %s\n", display(*devicePath), display(*issuerPath))
	return nil
}
