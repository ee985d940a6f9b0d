package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
)

// A command checks the kind of each input file before it reads it, so a
// file given to the wrong flag is refused naming the right one (exit 2)
// instead of being read as garbage.

// errWrongKind is matched by the usage error of an input file given to a
// flag that does not read its kind.
var errWrongKind = errors.New("the wrong kind of file")

// flagFor is the flag of audit that reads a kind.
var flagFor = map[sqlite.FileKind]string{sqlite.FileSQLite: "--db", sqlite.FileCSV: "--csv", sqlite.FileJSONL: "--jsonl"}

// checkKind refuses path given as flag (e.g. "--jsonl") unless it holds
// want, naming the flag that reads what it does hold; an empty file is
// named as such.
func checkKind(flag, path string, want sqlite.FileKind) error {
	k, err := sqlite.SniffFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	if k == sqlite.FileEmpty {
		return usageErr(fmt.Errorf("%w: %s %s is empty (not even a header)", errEmptyInput, flag, path))
	}
	if k == want {
		return nil
	}
	hint := ""
	if right, ok := flagFor[k]; ok {
		hint = "; give it as " + right
	}
	return usageErr(fmt.Errorf("%w: %s %s is %s, not %s%s", errWrongKind, flag, path, k, want, hint))
}

// checkNotDeviceFile refuses, for serve, a SQLite file that holds an
// installation's state (launch and device write those): serving it would
// mix the issuer's user map into a device. A file that does not exist yet,
// or is not a vitalsync database, is left to the open.
func checkNotDeviceFile(ctx context.Context, path string) error {
	k, err := sqlite.SniffFile(path)
	switch {
	case err != nil || k == sqlite.FileEmpty:
		return nil // missing or empty: serve creates it
	case k != sqlite.FileSQLite:
		return usageErr(fmt.Errorf("%w: --db %s is %s, not a SQLite database", errWrongKind, path, k))
	}
	if t := sqlite.DeviceTableWithRows(ctx, path); t != "" {
		return usageErr(fmt.Errorf("%w: --db %s is a device file (it holds an installation's launch state, table %s): "+
			"use it with 'vitalsync launch --db' or 'vitalsync device --db'; serve takes the issuer's database, a new file or postgres://",
			errWrongKind, path, t))
	}
	return nil
}

// auditHint points a fleet file or database given to the wrong command at
// the audit, which reads it.
func auditHint(k sqlite.FileKind) string {
	if f, ok := flagFor[k]; ok {
		return "; the audit reads it: vitalsync audit " + f
	}
	return ""
}

// checkDatabaseFile refuses, for a command whose --db is a SQLite file
// (launch, device), a file that exists and is CSV, JSON or anything else
// but SQLite. A missing or empty file is left to the open, which creates
// it.
func checkDatabaseFile(command, path string) error {
	k, err := sqlite.SniffFile(path)
	if err != nil || k == sqlite.FileSQLite || k == sqlite.FileEmpty {
		return nil
	}
	return usageErr(fmt.Errorf("%w: %s --db %s is %s, not a SQLite database%s", errWrongKind, command, path, k, auditHint(k)))
}
