package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatorclient"
)

// defaultEmulatorURL is where "vitalsync emulator" listens by default.
const defaultEmulatorURL = emulatorclient.DefaultURL

// envControlToken holds the emulator's control token for the subcommands
// that change it, when --control-token-file is not given.
const envControlToken = "VITALSYNC_EMULATOR_TOKEN"

// envEmulatorURL names the running emulator for the control subcommands
// when --url is not given.
const envEmulatorURL = "VITALSYNC_EMULATOR_URL"

// emulatorSubcommand is one "vitalsync emulator SUBCOMMAND".
type emulatorSubcommand struct {
	synopsis string
	summary  string
	// flags declares the subcommand's flags on fs and returns the request
	// to send once they are parsed: method, path under /_emulator/, body.
	flags func(fs *flag.FlagSet) func() (method, path string, body any, err error)
	// print prints a successful answer.
	print func(e *env, body []byte) error
}

var emulatorSubcommands = map[string]emulatorSubcommand{
	"health": {"", "check that the emulator answers",
		noFlags(http.MethodGet, "health"), printHealth},
	"state": {"[--format table|json]", "list users (deleted ones too), tokens, queued faults and recent requests",
		noFlags(http.MethodGet, "state"), printState},
	"reset": {"", "forget every user, token and fault and undo every advance (the API key, team and signing key stay)",
		noFlags(http.MethodPost, "reset"), printDone("reset: no users, tokens or faults left")},
	"clear-faults": {"", "drop every queued fault",
		noFlags(http.MethodDelete, "faults"), printDone("every queued fault dropped")},
	"fail": {"--route R --status S [--count N]", "make the next N requests of a route answer an error status",
		faultFlags("fail"), printFaults},
	"delay": {"--route R --delay D [--count N]", "make the next N requests of a route wait D first",
		faultFlags("delay"), printFaults},
	"drop": {"--route R [--count N]", "make the next N requests of a route lose their connection",
		faultFlags("drop"), printFaults},
	"rate-limit": {"--route R [--retry-after D] [--count N]", "make the next N requests of a route answer 429",
		faultFlags("rate-limit"), printFaults},
	"revoke": {"--user ID", "revoke a user's refresh tokens: their next refresh needs reauthentication",
		userFlags(http.MethodPost, "revoke-refresh-tokens"), printUser},
	"expire-access": {"--user ID", "expire a user's access tokens now",
		userFlags(http.MethodPost, "expire-access-tokens"), printUser},
	"delete-user": {"--user ID", "delete a user, as DELETE /v2/user/{user_id} does",
		userFlags(http.MethodDelete, ""), printUser},
	"undo-delete": {"--user ID", "restore a deleted user within the grace period, as POST /v2/user/undo_delete does",
		userFlags(http.MethodPost, "undo-delete"), printUser},
	"advance": {"--by D", "move the emulator's clock forward (token expiry, grace periods)",
		advanceFlags, printAdvance},
}

// emulatorSubcommandNames lists the subcommands, sorted.
func emulatorSubcommandNames() []string {
	names := make([]string, 0, len(emulatorSubcommands))
	for n := range emulatorSubcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// runEmulatorClient runs "vitalsync emulator SUBCOMMAND [flags]" against a
// running emulator's control plane.
func runEmulatorClient(ctx context.Context, e *env, name string, args []string) error {
	sub, ok := emulatorSubcommands[name]
	if !ok {
		return usagef("emulator: unknown subcommand %q; use one of %s, or flags to serve", name, strings.Join(emulatorSubcommandNames(), ", "))
	}
	fs := newFlagSet(e, "emulator "+name, strings.TrimSpace("[--url URL] "+sub.synopsis)+"\n  "+sub.summary)
	base := &urlFlag{url: defaultEmulatorURL}
	fs.Var(base, "url", "base URL of the running emulator; when not given, $"+envEmulatorURL+" if set")
	format := fs.String("format", "table", "output: table|json")
	token := newSecretFlag(fs, "control-token", envControlToken, "the emulator's control token (printed when it started), needed for changes")
	build := sub.flags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("emulator %s takes no arguments, only flags", name)
	}
	if v := os.Getenv(envEmulatorURL); v != "" && !flagGiven(fs, "url") {
		if err := base.Set(v); err != nil {
			return usageErr(fmt.Errorf("$%s: %w", envEmulatorURL, err))
		}
	}
	if err := oneOf("format", *format, "table", "json"); err != nil {
		return err
	}
	method, path, body, err := build()
	if err != nil {
		return err
	}
	tok, _, err := token.load()
	if err != nil {
		return err
	}
	if tok == "" && method != http.MethodGet {
		var ok bool
		if tok, ok = discoverControlToken(base.url); !ok {
			return noControlTokenError(name)
		}
	}
	answer, err := emulatorclient.New(base.url, emulatorclient.WithToken(tok)).Do(ctx, method, path, body)
	if err != nil {
		return fmt.Errorf("emulator %s: %w", name, err)
	}
	if *format == "json" {
		var out bytes.Buffer
		if err := json.Indent(&out, answer, "", "  "); err != nil {
			return fmt.Errorf("emulator %s: the answer is not JSON: %w", name, err)
		}
		_, err := e.stdout.Write(out.Bytes())
		return err
	}
	return sub.print(e, answer)
}

// noFlags is a subcommand without flags of its own.
func noFlags(method, path string) func(*flag.FlagSet) func() (string, string, any, error) {
	return func(*flag.FlagSet) func() (string, string, any, error) {
		return func() (string, string, any, error) { return method, path, nil, nil }
	}
}

// faultFlags declares the flags of a fault subcommand and checks them
// before anything is sent.
func faultFlags(kind string) func(*flag.FlagSet) func() (string, string, any, error) {
	return func(fs *flag.FlagSet) func() (string, string, any, error) {
		route := fs.String("route", "", "route: a name ("+routeNameList()+") or \"METHOD /pattern\"")
		count := fs.Int("count", 1, fmt.Sprintf("how many of the next requests (1 to %d)", emulator.MaxFaultCount))
		var status *int
		var delay, retryAfter *time.Duration
		switch kind {
		case "fail":
			status = fs.Int("status", 0, "the error status to answer (400-599)")
		case "delay":
			delay = durationFlag(fs, "delay", 0, "how long each request waits (up to "+emulator.MaxFaultDelay.String()+")")
		case "rate-limit":
			retryAfter = durationFlag(fs, "retry-after", 0, "the Retry-After to send")
		}
		return func() (string, string, any, error) {
			if _, ok := emulator.ParseRoute(*route); !ok {
				return "", "", nil, usagef("emulator %s: --route must be one of %s (or \"METHOD /pattern\"), not %q", kind, routeNameList(), *route)
			}
			if *count < 1 || *count > emulator.MaxFaultCount {
				return "", "", nil, usagef("emulator %s: --count must be between 1 and %d, not %d", kind, emulator.MaxFaultCount, *count)
			}
			body := map[string]any{"route": *route, "count": *count}
			switch {
			case status != nil:
				if *status < 400 || *status > 599 {
					return "", "", nil, usagef("emulator fail: --status must be between 400 and 599, not %d", *status)
				}
				body["status"] = *status
			case delay != nil:
				if *delay <= 0 || *delay > emulator.MaxFaultDelay {
					return "", "", nil, usagef("emulator delay: --delay must be positive and at most %v, not %v", emulator.MaxFaultDelay, *delay)
				}
				body["delay"] = delay.String()
			case retryAfter != nil:
				if *retryAfter < 0 || *retryAfter > emulator.MaxRetryAfter {
					return "", "", nil, usagef("emulator rate-limit: --retry-after must be between 0s and %v, not %v", emulator.MaxRetryAfter, *retryAfter)
				}
				body["retry_after"] = retryAfter.String()
			}
			return http.MethodPost, "faults/" + kind, body, nil
		}
	}
}

// routeNameList lists the routes' short names.
func routeNameList() string {
	names := make([]string, 0, len(emulator.Routes()))
	for _, r := range emulator.Routes() {
		names = append(names, r.Name())
	}
	return strings.Join(names, ", ")
}

// userFlags declares --user for a user action.
func userFlags(method, action string) func(*flag.FlagSet) func() (string, string, any, error) {
	return func(fs *flag.FlagSet) func() (string, string, any, error) {
		user := fs.String("user", "", "the Vital user ID")
		return func() (string, string, any, error) {
			if *user == "" {
				return "", "", nil, usagef("emulator: --user is required")
			}
			path := "users/" + url.PathEscape(*user)
			if action != "" {
				path += "/" + action
			}
			return method, path, nil, nil
		}
	}
}

// advanceFlags declares --by.
func advanceFlags(fs *flag.FlagSet) func() (string, string, any, error) {
	by := durationFlag(fs, "by", 0, "how far to move the clock, e.g. 1h or 168h")
	return func() (string, string, any, error) {
		if *by <= 0 || *by > emulator.MaxAdvance {
			return "", "", nil, usagef("emulator advance: --by must be positive and at most %v, not %v", emulator.MaxAdvance, *by)
		}
		return http.MethodPost, "clock/advance", map[string]string{"by": by.String()}, nil
	}
}

func printDone(msg string) func(*env, []byte) error {
	return func(e *env, _ []byte) error {
		_, err := fmt.Fprintln(e.stdout, msg)
		return err
	}
}

func printHealth(e *env, body []byte) error {
	var h struct {
		Status string    `json:"status"`
		Time   time.Time `json:"time"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return fmt.Errorf("emulator health: %w", err)
	}
	_, err := fmt.Fprintf(e.stdout, "%s, emulator clock %s\n", display(h.Status), h.Time.Format(time.RFC3339))
	return err
}

func printAdvance(e *env, body []byte) error {
	var a struct {
		Time        time.Time `json:"time"`
		ClockOffset string    `json:"clock_offset"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("emulator advance: %w", err)
	}
	_, err := fmt.Fprintf(e.stdout, "emulator clock %s (advanced %s in all)\n", a.Time.Format(time.RFC3339), display(a.ClockOffset))
	return err
}

func printUser(e *env, body []byte) error {
	var u emulator.UserOverview
	if err := json.Unmarshal(body, &u); err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER ID\tCLIENT USER ID\tSTATUS\tACCESS TOKENS\tREFRESH SESSIONS")
	printUserRow(tw, u)
	return tw.Flush()
}

func printUserRow(w io.Writer, u emulator.UserOverview) {
	status := "active"
	if u.Deleted {
		status = "deleted"
	}
	access := fmt.Sprintf("%d valid, %d expired", u.AccessTokens.Valid, u.AccessTokens.Expired)
	states := make([]string, 0, len(u.RefreshSessions))
	for s, n := range u.RefreshSessions {
		states = append(states, fmt.Sprintf("%s %d", display(s), n))
	}
	sort.Strings(states)
	refresh := strings.Join(states, ", ")
	if refresh == "" {
		refresh = "none"
	}
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", display(u.UserID), display(u.ClientUserID), status, access, refresh)
}

func printFaults(e *env, body []byte) error {
	var f emulator.FaultOverview
	if err := json.Unmarshal(body, &f); err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	return printFaultList(e.stdout, []emulator.FaultOverview{f})
}

func printFaultList(w io.Writer, faults []emulator.FaultOverview) error {
	for _, f := range faults {
		var parts []string
		for _, d := range f.Delays {
			parts = append(parts, fmt.Sprintf("%d× delay %s", d.Count, display(d.Delay)))
		}
		for _, o := range f.Outcomes {
			s := fmt.Sprintf("%d× %s", o.Count, display(o.Kind))
			if o.Status != 0 {
				s += fmt.Sprintf(" %d", o.Status)
			}
			if o.RetryAfter != "" {
				s += " retry after " + display(o.RetryAfter)
			}
			parts = append(parts, s)
		}
		if len(parts) == 0 {
			parts = []string{"nothing queued"}
		}
		if _, err := fmt.Fprintf(w, "%s (%s): %s\n", display(f.Name), display(f.Route), strings.Join(parts, ", ")); err != nil {
			return err
		}
	}
	return nil
}

func printState(e *env, body []byte) error {
	var o emulator.Overview
	if err := json.Unmarshal(body, &o); err != nil {
		return fmt.Errorf("emulator state: %w", err)
	}
	fmt.Fprintf(e.stdout, "Clock:    %s (advanced %s)\nTeam:     %s (%s %s)\nRequests: %d\n\n",
		o.Time.Format(time.RFC3339), display(o.ClockOffset), display(o.TeamID), display(o.Environment), display(o.Region), o.TotalRequests)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER ID\tCLIENT USER ID\tSTATUS\tACCESS TOKENS\tREFRESH SESSIONS")
	for _, u := range o.Users {
		printUserRow(tw, u)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\n%d Sign-In Tokens minted\n", len(o.SignInTokens))
	if len(o.Faults) > 0 {
		fmt.Fprintln(e.stdout, "\nQueued faults:")
		return printFaultList(e.stdout, o.Faults)
	}
	return nil
}

// flagGiven reports whether the command line set the flag.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
