package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/vitalsync/vitalsync/installation"
	"github.com/vitalsync/vitalsync/simulations"
)

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "demo", "[--profile P] [--dir DIR] [--format table|json] [--legacy-auth-url U]")
	profile := profileFlag(fs, "android-5.0", "SDK profile of the demo device")
	dir := fs.String("dir", "", "keep the databases in DIR (default: a temporary folder, removed afterwards)")
	format := choiceFlag(fs, "format", "table", "output format (json: one launch report per line)", "table", "json")
	verbose := fs.Bool("v", false, "log each action on stderr")
	var legacyURL urlFlag
	fs.Var(&legacyURL, "legacy-auth-url", "base URL of the legacy Firebase endpoints on legacy profiles (default: the demo's emulator)")
	if err := parseNoArgs(fs, args, ""); err != nil {
		return err
	}
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "vitalsync-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		*dir = tmp
	} else if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	} else if kept := simulations.DemoDatabases(*dir); len(kept) > 0 {
		// The story is a first run's: on databases kept from a run before,
		// what happens differs from what it narrates.
		fmt.Fprintf(e.stderr, "vitalsync demo: warning: %s already holds %s from an earlier run; this run starts from their state, "+
			"so what happens is not the story a first run tells. Use a new --dir, or remove them, for the story.\n",
			display(*dir), strings.Join(kept, " and "))
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = e.log
	}
	s, err := simulations.NewDemoStack(ctx, *dir, log)
	if err != nil {
		return err
	}
	defer s.Close()
	asJSON, p := format.String() == "json", profile.profile
	say := func(line string) {
		if !asJSON {
			fmt.Fprintln(e.stdout, line)
		}
	}
	d := &simulations.Demo{Profile: p, LegacyAuthURL: legacyURL.url, Logger: log, Say: say,
		Launched: func(st simulations.DemoStep) error { return printDemoStep(e.stdout, asJSON, st) }}
	say(fmt.Sprintf("vitalsync demo: profile %s; emulator and issuer in process (%s, %s); databases in %s", p.Name, s.APIURL, s.IssuerURL, display(*dir)))
	if p.LegacyTokenEndpoint {
		say(fmt.Sprintf("(this profile signs in and refreshes through the legacy Firebase endpoints under %s)", display(s.LegacyURL(p, legacyURL.url))))
	}
	n, err := d.Run(ctx, s)
	if err == nil {
		say(fmt.Sprintf("\ndone: %d launches", n))
	}
	return err
}

// printDemoStep prints a launch of the demo: a JSON line, or its number,
// title and launch table.
func printDemoStep(w io.Writer, asJSON bool, st simulations.DemoStep) error {
	if asJSON {
		return json.NewEncoder(w).Encode(map[string]any{"step": st.Step, "title": st.Title, "installation": st.Installation, "launch": st.Launch})
	}
	fmt.Fprintf(w, "\n%d. %s\n", st.Step, st.Title)
	return installation.WriteLaunchTable(w, st.Launch, display)
}
