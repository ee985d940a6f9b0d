package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/postgres"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/audit"
)

const auditSynopsis = `(--db FILE|postgres://… | $` + envDatabaseURL + ` | --csv FILE | --jsonl FILE) [--format table|json|csv] [--out FILE]
                       [--stale D] [--check-api --api-url U [--concurrency N]] [--fail-on CLASS,…] [--shard K/N]
       vitalsync audit merge [--format table|json|csv] [--fail-on CLASS,…] FILE…`

// errFailOn is returned when installations fall in a --fail-on class: exit 3.
var errFailOn = errors.New("audit: installations in --fail-on classes")

// auditFlags are audit's flags, parsed.
type auditFlags struct {
	db, csv, jsonl, out, apiURL string
	format                      *choice
	failOn                      *classList
	opts                        audit.Options
	checkAPI                    bool
}

func parseAuditFlags(e *env, args []string) (*auditFlags, error) {
	fs := newFlagSet(e, "audit", auditSynopsis)
	f := &auditFlags{}
	fs.StringVar(&f.db, "db", "", "the issuer's database, a SQLite file or a postgres:// URL (reports joined with each app user's active mapping); default $"+envDatabaseURL+" when no other source is given")
	fs.StringVar(&f.csv, "csv", "", "reports as CSV (docs/reference/report-schema.md)")
	fs.StringVar(&f.jsonl, "jsonl", "", "reports as JSON Lines (docs/reference/report-schema.md)")
	f.format = choiceFlag(fs, "format", "table", "summary format", "table", "json", "csv")
	fs.StringVar(&f.out, "out", "", "write the installations that need action or are invalid to FILE (.csv: CSV, else JSONL)")
	durationFlagVar(fs, &f.opts.Stale, "stale", 0, "count reports older than this as stale (0: off)")
	now := fs.String("now", "", "audit as of this RFC 3339 time (default: now)")
	fs.BoolVar(&f.checkAPI, "check-api", false, "verify the mapped Vital users with the team API (GET /v2/user/{id})")
	fs.StringVar(&f.apiURL, "api-url", "", "team API base URL for --check-api (the key is read from $"+envAPIKey+")")
	fs.IntVar(&f.opts.Concurrency, "concurrency", 8, "concurrent team API requests for --check-api")
	fs.BoolVar(&f.opts.NoDuplicateCheck, "no-duplicate-check", false, "for a file known to hold each installation once: keep no set of the installations read (memory stays flat; a duplicate is then audited again)")
	f.failOn = classesFlag(fs, "exit 3 when any installation falls in these classes (comma-separated)")
	shard := fs.String("shard", "", "audit shard K of N (K from 0): a hash partition of the installations")
	if err := parseNoArgs(fs, args, " (did you mean 'audit merge FILE…'?)"); err != nil {
		return nil, err
	}
	if f.db == "" && f.csv == "" && f.jsonl == "" {
		// A URL with a password belongs in the environment, not in ps.
		f.db = os.Getenv(envDatabaseURL)
	}
	if _, ok := exactlyOne(f.db, f.csv, f.jsonl); !ok {
		return nil, usagef("audit: give exactly one of --db, --csv and --jsonl")
	}
	if *now != "" {
		t, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			return nil, usagef("audit: --now must be an RFC 3339 time")
		}
		f.opts.Now = t
	}
	if *shard != "" {
		k, n, ok := audit.ParseShard(*shard)
		if !ok {
			return nil, usagef("audit: --shard must be K/N with 0 ≤ K < N")
		}
		f.opts.Shard, f.opts.Shards = k, n
	}
	return f, nil
}

// source is the reports the flags name, each file checked for its kind.
func (f *auditFlags) source() (audit.Source, error) {
	switch {
	case postgres.IsURL(f.db):
		dbURL := f.db
		return audit.RecordSource{Label: postgres.Redacted(dbURL), UnixNanos: true, Unique: true, Records: func(ctx context.Context, fn func(string) error) error {
			return postgres.EachReportRecord(ctx, dbURL, 0, fn)
		}}, nil
	case f.db != "":
		path := f.db
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		if err := checkKind("--db", path, sqlite.FileSQLite); err != nil {
			return nil, err
		}
		return audit.RecordSource{Label: path, UnixNanos: true, Unique: true, Records: func(ctx context.Context, fn func(string) error) error {
			return sqlite.EachReportRecord(ctx, path, fn)
		}}, nil
	case f.csv != "":
		if err := checkKind("--csv", f.csv, sqlite.FileCSV); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return audit.CSVFile(f.csv), nil
	}
	if err := checkKind("--jsonl", f.jsonl, sqlite.FileJSONL); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return audit.JSONLFile(f.jsonl), nil
}

// checker verifies the mapped Vital users with the team API.
func (f *auditFlags) checker() (audit.UserChecker, error) {
	key := os.Getenv(envAPIKey)
	if f.apiURL == "" || key == "" {
		return nil, usagef("audit: --check-api needs --api-url and $%s", envAPIKey)
	}
	return junction.NewClient(f.apiURL, key), nil
}

func runAudit(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "merge" {
		return runAuditMerge(e, args[1:])
	}
	f, err := parseAuditFlags(e, args)
	if err != nil {
		return err
	}
	src, err := f.source()
	if err != nil {
		return err
	}
	if f.checkAPI {
		if f.opts.Checker, err = f.checker(); err != nil {
			return err
		}
	}
	if isTerminal(e.stderr) {
		f.opts.Progress = func(rows int64) { fmt.Fprintf(e.stderr, "\raudited %d rows", rows) }
		defer fmt.Fprintln(e.stderr)
	}
	var sink audit.Sink
	closeOut := func() error { return nil }
	if f.out != "" {
		if sink, closeOut, err = audit.CreateFindingFile(f.out); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		defer closeOut()
	}
	sum, err := audit.Run(ctx, src, sink, f.opts)
	if err == nil {
		if err = closeOut(); err != nil {
			err = fmt.Errorf("audit: --out: %w", err)
		}
	}
	if err == nil {
		err = printSummary(e.stdout, f.format.String(), sum)
	}
	if err != nil {
		return err
	}
	return f.failOn.check(sum)
}

// exactlyOne returns the one of values that is not empty, and false
// unless there is exactly one.
func exactlyOne(values ...string) (string, bool) {
	one, n := "", 0
	for _, v := range values {
		if v != "" {
			one, n = v, n+1
		}
	}
	return one, n == 1
}

// printSummary prints a summary as a table for people, as JSON, or as CSV.
func printSummary(w io.Writer, format string, s audit.Summary) error {
	switch format {
	case "json":
		return writeJSONIndent(w, s)
	case "csv":
		return audit.WriteSummaryCSV(w, s)
	}
	return audit.WriteSummaryTable(w, s)
}

// runAuditMerge sums the JSON summaries of shards (audit --format json).
// Flags and files may come in any order ("audit merge summary-*.json
// --fail-on wrong-user", as a shell glob puts them).
func runAuditMerge(e *env, args []string) error {
	fs := newFlagSet(e, "audit merge", "[--format table|json|csv] [--fail-on CLASS,…] FILE…")
	format := choiceFlag(fs, "format", "table", "summary format", "table", "json", "csv")
	failOn := classesFlag(fs, "exit 3 when the merged summary has installations in any of these classes (comma-separated)")
	var files []string
	for {
		if err := parseFlags(fs, args); err != nil && !errors.Is(err, errFlagAfterArgument) {
			return err
		}
		rest := fs.Args()
		i := 0
		for i < len(rest) && (!strings.HasPrefix(rest[i], "-") || rest[i] == "-") {
			i++
		}
		files = append(files, rest[:i]...)
		if i == len(rest) {
			break
		}
		if rest[i] == "--" {
			files = append(files, rest[i+1:]...)
			break
		}
		args = rest[i:]
	}
	if len(files) == 0 {
		return usagef("audit merge needs the shard summaries (audit --format json)")
	}
	var total audit.Summary
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("audit merge: %w", err)
		}
		s, err := audit.ParseSummary(data)
		if errors.Is(err, audit.ErrTruthFile) {
			return usageErr(fmt.Errorf("%w: audit merge: %s is a ground-truth file (fleet generate writes it beside a fleet); "+
				"merge takes the summaries of 'audit --format json', one per --shard", errWrongKind, path))
		}
		if k, err := sqlite.SniffFile(path); err == nil && k == sqlite.FileEmpty {
			return usageErr(fmt.Errorf("%w: audit merge: %s is empty, not an audit summary (audit --format json)", errEmptyInput, path))
		} else if err == nil && k != sqlite.FileJSONDoc && k != sqlite.FileJSONL {
			return usageErr(fmt.Errorf("%w: audit merge: %s is %s, not an audit summary (audit --format json); audit it with %s",
				errWrongKind, path, k, orWord(flagFor[k], "--db, --csv or --jsonl")))
		}
		if err != nil {
			return fmt.Errorf("audit merge: %s: not a JSON summary of audit --format json", path)
		}
		total.Merge(s)
	}
	if err := printSummary(e.stdout, format.String(), total); err != nil {
		return err
	}
	return failOn.check(total)
}

// classList is a flag.Value holding a comma list of audit classes.
type classList []audit.Class

// classesFlag defines --fail-on.
func classesFlag(fs *flag.FlagSet, usage string) *classList {
	l := &classList{}
	fs.Var(l, "fail-on", usage+": "+choices(audit.Classes()))
	return l
}

func (l *classList) String() string {
	if l == nil {
		return ""
	}
	return choices(*l)
}

func (l *classList) Set(v string) error {
	cs, err := audit.ParseClasses(v)
	if err != nil {
		return fmt.Errorf("%w: use %s", err, choices(audit.Classes()))
	}
	*l = cs
	return nil
}

// check returns errFailOn when s counts installations in a class of l.
func (l *classList) check(s audit.Summary) error {
	for _, c := range *l {
		if s.Count(c) > 0 {
			return fmt.Errorf("%w: %d %s", errFailOn, s.Count(c), c)
		}
	}
	return nil
}

// orWord is s, or else when s is empty.
func orWord(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}
