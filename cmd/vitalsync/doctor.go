package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
)

const doctorSynopsis = `--db FILE [--format table|json]

Reads the file without changing it: whether it and its folder can be written
(as a launch must), the header, the schema version and schema,
PRAGMA integrity_check over every page, the key file (FILE.key) against a
sealed value, row counts, the journal history's size, and the file's kind
(device, issuer, or unsplit: from before the split; one whose both halves
hold rows is a problem, with the split command that fixes it). Exit 0: healthy;
1: problems found (listed) or the file cannot be read; 2: usage.

flags:`

// errUnhealthy is doctor's failure when it found problems (exit 1); the
// problems themselves are in the report.
var errUnhealthy = errors.New("the database has problems")

// splitFix is doctor's advice for a file whose both halves hold rows.
func splitFix(path string) string {
	base := strings.TrimSuffix(path, ".db")
	return fmt.Sprintf("vitalsync split --db %s --device %s --issuer %s", shellQuote(path),
		shellQuote(base+"-device.db"), shellQuote(base+"-issuer.db"))
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func runDoctor(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "doctor", doctorSynopsis)
	dbPath := fs.String("db", "", "database file to check (not created, not changed)")
	format := choiceFlag(fs, "format", "table", "output format", "table", "json")
	if err := parseNoArgs(fs, args, ""); err != nil {
		return err
	}
	if *dbPath == "" {
		return usagef("doctor: --db is required")
	}
	h, err := sqlite.Inspect(ctx, *dbPath)
	if err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	rep := h.Report(func(p sqlite.Problem) string {
		if errors.Is(p.Err, sqlite.ErrMixedFile) {
			return splitFix(h.Path)
		}
		return ""
	})
	if format.String() == "json" {
		err = writeJSONIndent(e.stdout, rep)
	} else {
		err = rep.WriteTable(e.stdout)
	}
	if err != nil {
		return err
	}
	if !rep.Healthy {
		return fmt.Errorf("doctor: %w: %d found", errUnhealthy, len(rep.Problems))
	}
	return nil
}
