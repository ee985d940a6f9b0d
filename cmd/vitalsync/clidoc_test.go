package main

import (
	"flag"
	"os"
	"sort"
	"strings"
	"testing"
)

// updateCLIDoc rewrites docs/reference/cli.md from the commands' help text
// (go generate ./cmd/vitalsync runs it).
var updateCLIDoc = flag.Bool("update-cli-doc", false, "rewrite docs/reference/cli.md from the commands' help text")

// cliDocPath is the CLI reference page, relative to this package.
const cliDocPath = "../../docs/reference/cli.md"

// cliDocIntro is the page's hand-written part: what holds for every
// command. The rest is the help text.
const cliDocIntro = `# The command line

<!-- Generated from the commands' own help text by TestCLIReference in cmd/vitalsync:
     edit the help text, then run go generate ./cmd/vitalsync. A test fails when this page is stale. -->

Every command has ` + "`--help`" + ` (and ` + "`vitalsync help CMD`" + `), printed on stdout; errors and logs go to
stderr. Exit code 0 is success, 2 a usage error, 1 a failure; ` + "`launch`" + ` exits 3 for a launch
deferred by backoff, and ` + "`audit --fail-on`" + ` 3 when an installation falls in a chosen class. Flags
come before a command's arguments, where Go's flag parsing stops: a command's flag given after an
argument is a usage error that says so. Flags are written here as the flag package prints them
(` + "`-db`" + `); ` + "`--db`" + ` is the same flag.

The guides say what the commands are for: [the launch task](../guides/launch-task.md) (` + "`plan`" + `,
` + "`launch`" + `, ` + "`device`" + `, ` + "`session`" + `), [the issuer](../guides/issuer.md) (` + "`serve`" + `), [the
emulator](../guides/emulator.md), [audits](../guides/audit.md) (` + "`audit`" + `, ` + "`fleet`" + `),
[simulations](../guides/simulations.md) (` + "`simulate`" + `), and [reliability](../reliability.md)
(` + "`doctor`" + `).
`

// cliSubcommands lists, per command, the subcommands whose help the page
// shows after the command's own.
func cliSubcommands() map[string][]string {
	return map[string][]string{
		"audit":    {"merge"},
		"fleet":    {"generate"},
		"emulator": emulatorSubcommandNames(),
	}
}

// cliReference renders the CLI reference page from the help text.
func cliReference(t *testing.T) string {
	t.Helper()
	help := func(args ...string) string {
		stdout, stderr, code := runCLI("", args...)
		if code != 0 || stderr != "" {
			t.Fatalf("vitalsync %s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
		}
		return strings.TrimRight(stdout, "\n")
	}
	var b strings.Builder
	b.WriteString(cliDocIntro)
	b.WriteString("\n## Commands\n\n```text\n" + help("help") + "\n```\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	subs := cliSubcommands()
	for _, n := range names {
		b.WriteString("\n## `vitalsync " + n + "`\n\n" + commands[n].summary + ".\n\n```text\n" + help(n, "--help") + "\n```\n")
		for _, s := range subs[n] {
			b.WriteString("\n### `vitalsync " + n + " " + s + "`\n\n```text\n" + help(n, s, "--help") + "\n```\n")
		}
	}
	return b.String()
}

// TestCLIReference fails when docs/reference/cli.md is not what the
// commands' help text makes of it; -update-cli-doc rewrites it.
func TestCLIReference(t *testing.T) {
	want := cliReference(t)
	if *updateCLIDoc {
		if err := os.WriteFile(cliDocPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(cliDocPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(want, "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("docs/reference/cli.md is stale from line %d:\n  page: %q\n  help: %q\nrun: go generate ./cmd/vitalsync", i+1, g, w)
			}
		}
	}
}

// TestCLIReferenceCoversEveryCommand checks the rendering itself: each
// command and listed subcommand has its section with its usage line, so a
// command added to the table reaches the page.
func TestCLIReferenceCoversEveryCommand(t *testing.T) {
	page := cliReference(t)
	for n := range commands {
		require := "## `vitalsync " + n + "`"
		if !strings.Contains(page, require) || !strings.Contains(page, "usage: vitalsync "+n) {
			t.Errorf("the CLI reference lacks %s or its usage line", require)
		}
	}
	for n, subs := range cliSubcommands() {
		for _, s := range subs {
			if !strings.Contains(page, "usage: vitalsync "+n+" "+s) {
				t.Errorf("the CLI reference lacks the usage of %s %s", n, s)
			}
			if strings.Contains(page, "usage: vitalsync "+n+" "+s+" "+s+" ") {
				t.Errorf("the usage of %s %s names the subcommand twice", n, s)
			}
		}
	}
}
