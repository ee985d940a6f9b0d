package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
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

func runAudit(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "merge" {
		return runAuditMerge(e, args[1:])
	}
	fs := newFlagSet(e, "audit", auditSynopsis)
	dbPath := fs.String("db", "", "the issuer's database, a SQLite file or a postgres:// URL (reports joined with each app user's active mapping); default $"+envDatabaseURL+" when no other source is given")
	csvPath := fs.String("csv", "", "reports as CSV (docs/reference/report-schema.md)")
	jsonlPath := fs.String("jsonl", "", "reports as JSON Lines (docs/reference/report-schema.md)")
	format := choiceFlag(fs, "format", "table", "summary format", "table", "json", "csv")
	out := fs.String("out", "", "write the installations that need action or are invalid to FILE (.csv: CSV, else JSONL)")
	stale := durationFlag(fs, "stale", 0, "count reports older than this as stale (0: off)")
	now := fs.String("now", "", "audit as of this RFC 3339 time (default: now)")
	checkAPI := fs.Bool("check-api", false, "verify the mapped Vital users with the team API (GET /v2/user/{id})")
	apiURL := fs.String("api-url", "", "team API base URL for --check-api (the key is read from $"+envAPIKey+")")
	concurrency := fs.Int("concurrency", 8, "concurrent team API requests for --check-api")
	noDuplicates := fs.Bool("no-duplicate-check", false, "for a file known to hold each installation once: keep no set of the installations read (memory stays flat; a duplicate is then audited again)")
	failOn := classesFlag(fs, "exit 3 when any installation falls in these classes (comma-separated)")
	shard := fs.String("shard", "", "audit shard K of N (K from 0): a hash partition of the installations")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("audit takes no arguments (did you mean 'audit merge FILE…'?)")
	}
	if *dbPath == "" && *csvPath == "" && *jsonlPath == "" {
		// A URL with a password belongs in the environment, not in ps.
		*dbPath = os.Getenv(envDatabaseURL)
	}
	var src audit.Source
	n := 0
	for _, p := range []string{*dbPath, *csvPath, *jsonlPath} {
		if p != "" {
			n++
		}
	}
	if n != 1 {
		return usagef("audit: give exactly one of --db, --csv and --jsonl")
	}
	opener := func(path string) func() (io.ReadCloser, error) {
		return func() (io.ReadCloser, error) { return os.Open(path) }
	}
	switch {
	case isPostgresURL(*dbPath):
		dbURL := *dbPath
		src = audit.RecordSource{Label: redactURL(dbURL), UnixNanos: true, Unique: true, Records: func(ctx context.Context, fn func(string) error) error {
			return postgres.EachReportRecord(ctx, dbURL, 0, fn)
		}}
	case *dbPath != "":
		path := *dbPath
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		if err := checkKind("--db", path, kindSQLite); err != nil {
			return err
		}
		src = audit.RecordSource{Label: path, UnixNanos: true, Unique: true, Records: func(ctx context.Context, fn func(string) error) error {
			return sqlite.EachReportRecord(ctx, path, fn)
		}}
	case *csvPath != "":
		if err := checkKind("--csv", *csvPath, kindCSV); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		src = audit.CSVSource{Label: *csvPath, Open: opener(*csvPath)}
	default:
		if err := checkKind("--jsonl", *jsonlPath, kindJSONL); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		src = audit.JSONLSource{Label: *jsonlPath, Open: opener(*jsonlPath)}
	}
	opts := audit.Options{Stale: *stale, Concurrency: *concurrency, NoDuplicateCheck: *noDuplicates}
	if *now != "" {
		t, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			return usagef("audit: --now must be an RFC 3339 time")
		}
		opts.Now = t
	}
	if *shard != "" {
		k, nn, ok := parseShard(*shard)
		if !ok {
			return usagef("audit: --shard must be K/N with 0 ≤ K < N")
		}
		opts.Shard, opts.Shards = k, nn
	}
	if *checkAPI {
		key := os.Getenv(envAPIKey)
		if *apiURL == "" || key == "" {
			return usagef("audit: --check-api needs --api-url and $%s", envAPIKey)
		}
		team := junction.NewClient(*apiURL, key)
		opts.Checker = audit.UserCheckerFunc(func(ctx context.Context, id string) (bool, error) {
			_, err := team.GetUser(ctx, id)
			if errors.Is(err, junction.ErrNotFound) {
				return false, nil
			}
			return err == nil, err
		})
	}
	if isTerminal(e.stderr) {
		opts.Progress = func(rows int64) { fmt.Fprintf(e.stderr, "\raudited %d rows", rows) }
		defer fmt.Fprintln(e.stderr)
	}
	var sink audit.Sink
	outFlush := func() error { return nil }
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		defer f.Close()
		w, flush := findingWriter(f, strings.HasSuffix(*out, ".csv"))
		sink = w
		outFlush = func() error {
			if err := flush(); err != nil {
				return fmt.Errorf("audit: --out: %w", err)
			}
			return f.Close()
		}
	}
	sum, err := audit.Run(ctx, src, sink, opts)
	if err != nil {
		return err
	}
	if err := outFlush(); err != nil {
		return err
	}
	if err := printSummary(e.stdout, format.String(), sum); err != nil {
		return err
	}
	return failOn.check(sum)
}

func parseShard(s string) (int, int, bool) {
	a, b, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 0 || k >= n {
		return 0, 0, false
	}
	return k, n, true
}

// findingWriter writes findings as JSONL, or CSV with a header, buffered;
// the returned flush writes out the rest.
func findingWriter(w io.Writer, asCSV bool) (audit.Sink, func() error) {
	if !asCSV {
		bw := bufio.NewWriterSize(w, 64<<10)
		enc := json.NewEncoder(bw)
		return func(f *audit.Finding) error { return enc.Encode(f) }, bw.Flush
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"installation_id", "line", "profile", "class", "classes", "actions", "reason"})
	return func(f *audit.Finding) error {
			classes := make([]string, len(f.Classes))
			for i, c := range f.Classes {
				classes[i] = string(c)
			}
			return cw.Write([]string{f.InstallationID, strconv.FormatInt(f.Line, 10), f.Profile, string(f.Class),
				strings.Join(classes, ","), audit.ActionsString(f.Actions), f.Reason})
		}, func() error {
			cw.Flush()
			return cw.Error()
		}
}

// printSummary prints a summary as a table for people (classes worst
// first, then per profile and per action), as JSON, or as CSV rows of
// kind,key,count.
func printSummary(w io.Writer, format string, s audit.Summary) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"kind", "profile", "key", "count"})
		_ = cw.Write([]string{"rows", "", "", strconv.FormatInt(s.Rows, 10)})
		for _, c := range audit.Classes() {
			if v := s.Classes[c]; v > 0 {
				_ = cw.Write([]string{"class", "", string(c), strconv.FormatInt(v, 10)})
			}
		}
		for _, p := range sortedKeys(s.ByProfile) {
			for _, c := range audit.Classes() {
				if v := s.ByProfile[p][c]; v > 0 {
					_ = cw.Write([]string{"class", p, string(c), strconv.FormatInt(v, 10)})
				}
			}
		}
		for _, a := range sortedKeys(s.Actions) {
			_ = cw.Write([]string{"action", "", string(a), strconv.FormatInt(s.Actions[a], 10)})
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "rows\t%d\t\n", s.Rows)
	fmt.Fprintf(tw, "\t\t\n")
	fmt.Fprintf(tw, "class\tinstallations\t\n")
	for _, c := range audit.Classes() {
		if v := s.Classes[c]; v > 0 {
			fmt.Fprintf(tw, "%s\t%d\t\n", c, v)
		}
	}
	fmt.Fprintf(tw, "\t\t\n")
	fmt.Fprintf(tw, "profile\tclass\tinstallations\t\n")
	for _, p := range sortedKeys(s.ByProfile) {
		for _, c := range audit.Classes() {
			if v := s.ByProfile[p][c]; v > 0 {
				fmt.Fprintf(tw, "%s\t%s\t%d\t\n", p, c, v)
			}
		}
	}
	fmt.Fprintf(tw, "\t\t\n")
	fmt.Fprintf(tw, "action\tplanned\t\n")
	for _, a := range sortedKeys(s.Actions) {
		fmt.Fprintf(tw, "%s\t%d\t\n", a, s.Actions[a])
	}
	fmt.Fprintf(tw, "\t\t\n")
	fmt.Fprintf(tw, "seconds\t%.2f\t\n", s.Seconds)
	fmt.Fprintf(tw, "rows/s\t%.0f\t\n", s.RowsPerSecond)
	return tw.Flush()
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
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
		var fields map[string]json.RawMessage
		if json.Unmarshal(data, &fields) == nil && fields["seed"] != nil {
			return usageErr(fmt.Errorf("%w: audit merge: %s is a ground-truth file (fleet generate writes it beside a fleet); "+
				"merge takes the summaries of 'audit --format json', one per --shard", errWrongKind, path))
		}
		if k, err := sniffKind(path); err == nil && k == kindEmpty {
			return usageErr(fmt.Errorf("%w: audit merge: %s is empty, not an audit summary (audit --format json)", errEmptyInput, path))
		} else if err == nil && k != kindJSONDoc && k != kindJSONL {
			return usageErr(fmt.Errorf("%w: audit merge: %s is %s, not an audit summary (audit --format json); audit it with %s",
				errWrongKind, path, k, orWord(flagFor[k], "--db, --csv or --jsonl")))
		}
		var s audit.Summary
		if err := json.Unmarshal(data, &s); err != nil || fields["rows"] == nil {
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
	*l = nil
	if v == "" {
		return nil
	}
	for _, name := range strings.Split(v, ",") {
		c, ok := audit.ParseClass(strings.TrimSpace(name))
		if !ok {
			return fmt.Errorf("unknown class %q: use %s", name, choices(audit.Classes()))
		}
		*l = append(*l, c)
	}
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
