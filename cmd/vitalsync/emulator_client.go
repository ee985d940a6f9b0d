package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatorclient"
)

// emulatorCall is a parsed subcommand: one call of the control plane's
// client, and the line that says it is done, for an answer people need
// not read (else it is printed by emulatorclient.WriteText).
type emulatorCall struct {
	do   func(ctx context.Context, c *emulatorclient.Client) (any, error)
	done string
}

// emulatorSubcommand is one "vitalsync emulator SUBCOMMAND".
type emulatorSubcommand struct {
	synopsis, summary string
	reads             bool // needs no control token
	// flags declares the subcommand's flags on fs and returns the call to
	// make once they are parsed (or the usage error of their values).
	flags func(fs *flag.FlagSet) func() (emulatorCall, error)
}

var emulatorSubcommands = map[string]emulatorSubcommand{
	"health": {"", "check that the emulator answers", true, noFlags(emulatorCall{
		func(ctx context.Context, c *emulatorclient.Client) (any, error) { return c.Health(ctx) }, ""})},
	"state": {"[--format table|json]", "list users (deleted ones too), tokens, queued faults and recent requests", true, noFlags(emulatorCall{
		func(ctx context.Context, c *emulatorclient.Client) (any, error) { return c.State(ctx) }, ""})},
	"reset": {"", "forget every user, token and fault and undo every advance (the API key, team and signing key stay)", false, noFlags(emulatorCall{
		func(ctx context.Context, c *emulatorclient.Client) (any, error) { return c.Reset(ctx) },
		"reset: no users, tokens or faults left"})},
	"clear-faults": {"", "drop every queued fault", false, noFlags(emulatorCall{
		func(ctx context.Context, c *emulatorclient.Client) (any, error) { return c.ClearFaults(ctx) },
		"every queued fault dropped"})},
	"fail":       {"--route R --status S [--count N]", "make the next N requests of a route answer an error status", false, faultFlags("fail")},
	"delay":      {"--route R --delay D [--count N]", "make the next N requests of a route wait D first", false, faultFlags("delay")},
	"drop":       {"--route R [--count N]", "make the next N requests of a route lose their connection", false, faultFlags("drop")},
	"rate-limit": {"--route R [--retry-after D] [--count N]", "make the next N requests of a route answer 429", false, faultFlags("rate-limit")},
	"revoke": {"--user ID", "revoke a user's refresh tokens: their next refresh needs reauthentication", false,
		userFlags((*emulatorclient.Client).RevokeRefreshTokens)},
	"expire-access": {"--user ID", "expire a user's access tokens now", false, userFlags((*emulatorclient.Client).ExpireAccessTokens)},
	"delete-user":   {"--user ID", "delete a user, as DELETE /v2/user/{user_id} does", false, userFlags((*emulatorclient.Client).DeleteUser)},
	"undo-delete": {"--user ID", "restore a deleted user within the grace period, as POST /v2/user/undo_delete does", false,
		userFlags((*emulatorclient.Client).UndoDelete)},
	"advance": {"--by D", "move the emulator's clock forward (token expiry, grace periods)", false, advanceFlags},
}

// emulatorSubcommandNames lists the subcommands, sorted.
func emulatorSubcommandNames() []string {
	return slices.Sorted(maps.Keys(emulatorSubcommands))
}

// errNoControlToken is the usage error of a change without a token.
var errNoControlToken = errors.New("no control token")

// runEmulatorClient runs "vitalsync emulator SUBCOMMAND [flags]" against a
// running emulator's control plane.
func runEmulatorClient(ctx context.Context, e *env, name string, args []string) error {
	sub, ok := emulatorSubcommands[name]
	if !ok {
		return usagef("emulator: unknown subcommand %q; use one of %s, or flags to serve", name, strings.Join(emulatorSubcommandNames(), ", "))
	}
	fs := newFlagSet(e, "emulator "+name, strings.TrimSpace("[--url URL] "+sub.synopsis)+"\n  "+sub.summary)
	base := &urlFlag{url: emulatorclient.DefaultURL}
	fs.Var(base, "url", "base URL of the running emulator; when not given, $"+emulatorclient.EnvURL+" if set")
	format := choiceFlag(fs, "format", "table", "output", "table", "json")
	token := newSecretFlag(fs, "control-token", emulatorclient.EnvToken, "the emulator's control token (printed when it started), needed for changes")
	build := sub.flags(fs)
	if err := parseNoArgs(fs, args, ", only flags"); err != nil {
		return err
	}
	if v := os.Getenv(emulatorclient.EnvURL); v != "" && !flagGiven(fs, "url") {
		if err := base.Set(v); err != nil {
			return usageErr(fmt.Errorf("$%s: %w", emulatorclient.EnvURL, err))
		}
	}
	call, err := build()
	if err != nil {
		return err
	}
	tok, _, err := token.load()
	if err != nil {
		return err
	}
	if tok == "" && !sub.reads {
		if tok, ok = emulatorclient.DiscoverToken(base.url); !ok {
			return usageErr(fmt.Errorf("emulator %s changes the emulator: %w: give the one it printed at start with --control-token-file F or $%s "+
				"(an emulator on this machine's loopback leaves it in $%s, $XDG_RUNTIME_DIR/vitalsync or ~/.cache/vitalsync/run for its user)",
				name, errNoControlToken, emulatorclient.EnvToken, emulatorclient.EnvRuntimeDir))
		}
	}
	answer, err := call.do(ctx, emulatorclient.New(base.url, emulatorclient.WithToken(tok)))
	if err != nil {
		return fmt.Errorf("emulator %s: %w", name, err)
	}
	if format.String() == "json" {
		return writeJSONIndent(e.stdout, answer)
	}
	if call.done != "" {
		_, err = fmt.Fprintln(e.stdout, call.done)
		return err
	}
	return emulatorclient.WriteText(e.stdout, answer, display)
}

// noFlags is a subcommand without flags of its own.
func noFlags(call emulatorCall) func(*flag.FlagSet) func() (emulatorCall, error) {
	return func(*flag.FlagSet) func() (emulatorCall, error) {
		return func() (emulatorCall, error) { return call, nil }
	}
}

// faultFlags declares the flags of a fault subcommand; the fault is
// checked before anything is sent.
func faultFlags(kind string) func(*flag.FlagSet) func() (emulatorCall, error) {
	return func(fs *flag.FlagSet) func() (emulatorCall, error) {
		f := emulatorclient.Fault{Kind: kind}
		fs.StringVar(&f.Route, "route", "", "route: a name ("+emulatorclient.RouteNames()+") or \"METHOD /pattern\"")
		fs.IntVar(&f.Count, "count", 1, fmt.Sprintf("how many of the next requests (1 to %d)", emulator.MaxFaultCount))
		switch kind {
		case emulatorclient.FaultFail:
			fs.IntVar(&f.Status, "status", 0, "the error status to answer (400-599)")
		case emulatorclient.FaultDelay:
			durationFlagVar(fs, &f.Delay, "delay", 0, "how long each request waits (up to "+emulator.MaxFaultDelay.String()+")")
		case emulatorclient.FaultRateLimit:
			durationFlagVar(fs, &f.RetryAfter, "retry-after", 0, "the Retry-After to send")
		}
		return func() (emulatorCall, error) {
			if err := f.Check(); err != nil {
				return emulatorCall{}, fieldUsageError("emulator "+kind, err)
			}
			return emulatorCall{func(ctx context.Context, c *emulatorclient.Client) (any, error) { return c.Queue(ctx, f) }, ""}, nil
		}
	}
}

// fieldUsageError is the usage error of a request the client refused
// before sending it, naming the field's flag.
func fieldUsageError(command string, err error) error {
	var fe *emulatorclient.FieldError
	if errors.As(err, &fe) {
		return usagef("%s: --%s %s", command, fe.Field, fe.Reason)
	}
	return usageErr(err)
}

// userFlags declares --user for a user action.
func userFlags(action func(*emulatorclient.Client, context.Context, string) (emulator.UserOverview, error)) func(*flag.FlagSet) func() (emulatorCall, error) {
	return func(fs *flag.FlagSet) func() (emulatorCall, error) {
		user := fs.String("user", "", "the Vital user ID")
		return func() (emulatorCall, error) {
			if *user == "" {
				return emulatorCall{}, usagef("emulator: --user is required")
			}
			return emulatorCall{func(ctx context.Context, c *emulatorclient.Client) (any, error) { return action(c, ctx, *user) }, ""}, nil
		}
	}
}

// advanceFlags declares --by.
func advanceFlags(fs *flag.FlagSet) func() (emulatorCall, error) {
	by := durationFlag(fs, "by", 0, "how far to move the clock, e.g. 1h or 168h")
	return func() (emulatorCall, error) {
		if err := emulatorclient.CheckAdvance(*by); err != nil {
			return emulatorCall{}, fieldUsageError("emulator advance", err)
		}
		return emulatorCall{func(ctx context.Context, c *emulatorclient.Client) (any, error) { return c.Advance(ctx, *by) }, ""}, nil
	}
}
