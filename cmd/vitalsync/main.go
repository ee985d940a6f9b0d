// Command vitalsync keeps an app's user lifecycle and the Vital (Junction)
// Mobile SDK's sign-in state in agreement. Its commands (vitalsync help
// lists them; vitalsync help CMD shows one's flags):
//
//   - demo: a whole app lifecycle on an in-process emulator and issuer;
//   - plan, launch, device: plan one observation, run a launch reconcile of
//     a device database, drive its SDK core by hand;
//   - serve, session: the backend's sign-in token issuer and the bearer
//     sessions it accepts;
//   - emulator: the Junction API emulator, its control plane's clients and
//     its state files;
//   - fsm, doctor, version: the state machine's diagrams, a database check,
//     the build's versions.
//
// Help goes to stdout, errors and logs to stderr; exit code 2 is a usage
// error, 1 a failure. The commands are one table (commands), each run in
// its own file; run(ctx, args, stdin, stdout, stderr) is the whole program, so
// tests call it end to end. This package only wires; see docs/reference/cli.md.
package main

//go:generate go test -run ^TestCLIReference$ -update-cli-doc .

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// env is what a command may touch of the outside world.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
}

// command is one subcommand. run parses its own flags from args.
type command struct {
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands is the table of subcommands; each one's run is in the file of
// its name.
var commands = map[string]command{
	"audit":              {"audit a fleet's installation reports with the planner (and 'audit merge' shard summaries)", runAudit},
	"conformance":        {"check an engine process against the vectors and the simulated world", runConformance},
	"conformance-engine": {"serve vitalsync's own engine over the conformance protocol on stdio", runConformanceEngine},
	"demo":               {"walk an app's lifecycle end to end on a local emulator and issuer", runDemo},
	"device":             {"operate one emulated SDK installation stored in a device database", runDevice},
	"doctor":             {"check a database file fully: integrity, schema, key, rows, history", runDoctor},
	"emulator":           {"serve the Junction API emulator, or steer a running one (state, fail, revoke, advance, …)", runEmulator},
	"fleet":              {"generate a synthetic fleet of installation reports ('fleet generate')", runFleet},
	"fsm":                {"print the SDK auth state machine as a diagram", runFSM},
	"launch":             {"run one launch reconcile of a device database against an issuer", runLaunch},
	"plan":               {"plan the reconcile actions for one observation (JSON on stdin)", runPlan},
	"serve":              {"run the backend's sign-in token issuer (optionally with an embedded emulator)", runServe},
	"session":            {"print a bearer session token for an app user, for 'serve'", runSession},
	"simulate":           {"simulate a fleet of installations under faults and compare strategies", runSimulate},
	"split":              {"split a database from before the split into a device file and an issuer file", runSplit},
	"vectors":            {"export the planner cases, runner transcripts and profiles as JSON vectors", runVectors},
	"version":            {"print the module version, VCS revision and time, Go and SQLite versions", runVersion},
}

// usageError marks a usage mistake: exit code 2. errors.Is/As see its
// cause.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }

func (e *usageError) Unwrap() error { return e.err }

// usageErr marks err as a usage mistake, keeping it for errors.Is/As.
func usageErr(err error) error { return &usageError{err: err} }

func usagef(format string, args ...any) error { return usageErr(fmt.Errorf(format, args...)) }

// exitCode maps run's error to the process exit code: 0 success or --help,
// 2 usage errors, the code of an error with an exitCode method (launch's 3
// for a deferred launch), 3 an audit's --fail-on classes, 1 any other
// failure.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "vitalsync:", err)
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	var coded interface{ exitCode() int }
	if errors.As(err, &coded) {
		return coded.exitCode()
	}
	if errors.Is(err, errFailOn) {
		return 3
	}
	return 1
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	if len(args) == 0 {
		printUsage(stderr)
		return usagef("no command given")
	}
	name := args[0]
	if name == "--version" || name == "-version" {
		// As most tools answer it: "vitalsync version".
		name, args = "version", []string{"version"}
	}
	if name == "help" && len(args) > 1 && args[1] != "help" {
		// "vitalsync help CMD [SUB]" is "vitalsync CMD [SUB] --help".
		if _, ok := commands[args[1]]; !ok {
			printUsage(stderr)
			return usagef("unknown command %q", args[1])
		}
		name, args = args[1], append(slices.Clone(args[1:]), "--help")
	}
	if name == "-h" || name == "--help" || name == "help" {
		// "vitalsync help help" too: the list of commands is help's help.
		printUsage(stdout)
		return nil
	}
	c, ok := commands[name]
	if !ok {
		printUsage(stderr)
		return usagef("unknown command %q", name)
	}
	return c.run(ctx, e, args[1:])
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: vitalsync <command> [flags]\n\ncommands:")
	names := slices.Sorted(maps.Keys(commands))
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nExit codes: 0 success, 1 failure, 2 usage, 3 a launch deferred or an audit's --fail-on (docs/reference/exit-codes.md).")
	fmt.Fprintln(w, "\nRun 'vitalsync help <command>' (or 'vitalsync <command> --help') for a command's flags.")
}

// newFlagSet returns a flag set that reports errors instead of exiting. Its
// usage goes to the command's stdout when asked for (--help) and to stderr
// after a flag error.
func newFlagSet(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	errs := &flagErrors{w: e.stderr}
	fs.SetOutput(errs)
	fs.Usage = func() {
		// The flag package prints an error before the usage, never before
		// the usage of -h/--help. After an error, the synopsis and where
		// the flags are: the error is the point, not the whole list.
		if errs.wrote {
			fmt.Fprintf(e.stderr, "usage: vitalsync %s %s\nRun 'vitalsync help %s' for its flags.\n", name, synopsis, name)
			return
		}
		fmt.Fprintf(e.stdout, "usage: vitalsync %s %s\n", name, synopsis)
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		fs.SetOutput(errs)
	}
	return fs
}

// flagErrors is a flag set's output, remembering that an error was
// written. It drops the error: parseFlags returns it, and the command's
// error line (exitCode) says it once, after the usage.
type flagErrors struct {
	w     io.Writer
	wrote bool
}

func (f *flagErrors) Write(p []byte) (int, error) {
	f.wrote = true
	return len(p), nil
}

// errFlagAfterArgument is matched by the usage error of a command's flag
// given after one of its arguments, where the flag package stops reading
// flags.
var errFlagAfterArgument = errors.New("a flag after an argument")

// parseFlags parses args, turning flag errors into usage errors and leaving
// flag.ErrHelp as is. A flag of this set given after an argument is a usage
// error matching errFlagAfterArgument that names the flag (never the
// arguments, which may be secrets).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageErr(err)
	}
	for _, a := range fs.Args() {
		if a == "--" {
			break
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name != "" && fs.Lookup(name) != nil {
			return usageErr(fmt.Errorf("%w: -%s comes after an argument, where flags are no longer read; "+
				"give it before the arguments (vitalsync %s [flags] ARGS)", errFlagAfterArgument, "-"+name, fs.Name()))
		}
	}
	return nil
}
