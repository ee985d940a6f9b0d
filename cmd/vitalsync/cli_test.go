package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/installation"
	"github.com/vitalsync/vitalsync/reconcile"
)

const switchObservation = `{"profile":"ios-1.8","app":{"signed_in":true,"app_user_id":"u-2","vital_user_id":"v-2"},
"sdk":{"status":["configured","signedIn","useSignInToken"],"current_user_id":"V-1"},"now":"2026-11-24T10:00:00Z"}`

func TestPlanCommand(t *testing.T) {
	out, _, code := runCLI(switchObservation, "plan")
	require.Zero(t, code)
	require.Contains(t, out, "wrong-user")
	require.Contains(t, out, "1. sign-out")
	require.Contains(t, out, "2. sign-in(v-2)")

	out, _, code = runCLI(switchObservation, "plan", "--format", "json")
	require.Zero(t, code)
	var p reconcile.Plan
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	// iOS 1.4+ signs in through identifyExternalUser: the plan says so.
	require.Equal(t, []reconcile.Action{reconcile.SignOut{}, reconcile.SignIn{VitalUser: "v-2", Identify: true}}, p.Actions)
	require.JSONEq(t, `{"actions":[{"type":"sign-out"},{"type":"sign-in","vital_user_id":"v-2","sdk_call":"identifyExternalUser"}],"retry_at":null}`, out)

	// Invalid input is a failure (1) that names the field; flags are usage (2).
	_, stderr, code := runCLI(`{"profile":"ios-1.8","app":{"signed_in":false},"sdk":{"status":["bogus"]},"now":"2026-11-24T10:00:00Z"}`, "plan")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "sdk.status[0]")
	_, _, code = runCLI("", "plan", "--format", "yaml")
	require.Equal(t, 2, code)
	_, _, code = runCLI("", "plan", "extra")
	require.Equal(t, 2, code)
	_, _, code = runCLI("", "plan", "--help")
	require.Zero(t, code)
}

func TestFSMCommand(t *testing.T) {
	out, _, code := runCLI("", "fsm")
	require.Zero(t, code)
	want, err := fsm.Diagram(fsm.Mermaid, nil)
	require.NoError(t, err)
	require.Equal(t, want, out)

	out, _, code = runCLI("", "fsm", "--format", "dot", "--profile", "android-5.0")
	require.Zero(t, code)
	require.True(t, strings.HasPrefix(out, `digraph "android-5.0"`))
	require.NotContains(t, out, "auto-sign-out", "android-5.0 does not sign out on deletion")

	for _, args := range [][]string{{"fsm", "--format", "svg"}, {"fsm", "--profile", "ios-9"}, {"fsm", "x"}} {
		_, _, code = runCLI("", args...)
		require.Equal(t, 2, code, "%v", args)
	}
}

func TestTopLevelUsage(t *testing.T) {
	out, _, code := runCLI("", "--help")
	require.Zero(t, code)
	for name := range commands {
		require.Contains(t, out, name)
	}
	_, stderr, code := runCLI("")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "usage:")
	_, _, code = runCLI("", "frobnicate")
	require.Equal(t, 2, code)
	require.Zero(t, exitCode(flag.ErrHelp, &bytes.Buffer{}))
	require.Equal(t, 1, exitCode(errors.New("boom"), &bytes.Buffer{}))
}

// Every command answers --help with its flags and exit code 0.
func TestEveryCommandHasHelp(t *testing.T) {
	for name := range commands {
		stdout, stderr, code := runCLI("", name, "--help")
		require.Zero(t, code, name)
		require.Contains(t, stdout, "usage: vitalsync "+name, name)
		require.Empty(t, stderr, "help is not an error: %s", name)
		viaHelp, _, code := runCLI("", "help", name)
		require.Zero(t, code, name)
		require.Equal(t, stdout, viaHelp, "vitalsync help %s", name)
	}
}

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

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90s": 90 * time.Second, "15m": 15 * time.Minute, "2h": 2 * time.Hour, "0": 0,
		"30d": 30 * 24 * time.Hour, "1.5d": 36 * time.Hour, "1d12h": 36 * time.Hour, "-1d": -24 * time.Hour,
		"720h": 720 * time.Hour, "1h30m": 90 * time.Minute,
	} {
		got, err := parseDuration(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, "parseDuration(%q)", in)
	}
	for _, in := range []string{"", "5", "30", "2.5", "d", "30 d", "1d-1h", "1dd", "xd", "1e3d", "infd", "soon", "1d1"} {
		_, err := parseDuration(in)
		require.ErrorIs(t, err, errBadDuration, "parseDuration(%q)", in)
		require.Contains(t, err.Error(), "30d", "%q: the message says the accepted forms", in)
	}
}

// A duration flag takes days, and a bad one names the accepted forms, not
// "parse error" and the whole flag list.
func TestDurationFlagsTakeDaysAndSayTheForms(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "fleet.csv")
	_, errOut, code := runCLI("", "fleet", "generate", "--installs", "20", "--seed", "1", "--csv", csv)
	require.Zero(t, code, errOut)
	out30d, errOut, code := runCLI("", "audit", "--csv", csv, "--stale", "30d", "--now", fleetNowFlag, "--format", "json")
	require.Zero(t, code, errOut)
	out720h, _, _ := runCLI("", "audit", "--csv", csv, "--stale", "720h", "--now", fleetNowFlag, "--format", "json")
	require.Equal(t, dropSeconds(out720h), dropSeconds(out30d), "30d is 720h")

	for _, args := range [][]string{
		{"audit", "--csv", csv, "--stale", "thirty"},
		{"serve", "--shutdown-timeout", "5"},
		{"emulator", "--token-ttl", "1"},
	} {
		_, errOut, code := runCLI("", args...)
		require.Equal(t, 2, code, "%v", args)
		require.Contains(t, errOut, "e.g. 90s, 15m, 2h, 30d", "%v: %s", args, errOut)
		require.NotContains(t, errOut, "parse error")
		require.Contains(t, errOut, "Run 'vitalsync help "+args[0]+"' for its flags.")
		require.Less(t, strings.Count(errOut, "\n"), 7, "%v: no flag list after an error:\n%s", args, errOut)
		require.Equal(t, 1, strings.Count(errOut, "not a duration"), "the error once")
	}
	help, _, code := runCLI("", "help", "audit")
	require.Zero(t, code)
	require.Contains(t, help, "-stale duration")
	require.Contains(t, help, "a duration such as 90s, 15m, 2h or 30d")
}

// dropSeconds removes the timing lines of an audit's JSON summary.
func dropSeconds(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, `"seconds"`) && !strings.Contains(l, `"rows_per_second"`) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestExitCodeTable checks docs/reference/exit-codes.md: every command has
// a row, every command exits 2 on an unknown flag, and the table's
// examples exit as it says.
func TestExitCodeTable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "reference", "exit-codes.md"))
	require.NoError(t, err)
	for name := range commands {
		require.Contains(t, string(doc), "| `"+name+"` |", "the table has a row for %s", name)
		_, errOut, code := runCLI("", name, "--no-such-flag")
		require.Equal(t, 2, code, "%s --no-such-flag: %s", name, errOut)
	}
	require.Contains(t, string(doc), "| `audit merge` |")

	dir := t.TempDir()
	csv := filepath.Join(dir, "fleet.csv")
	_, errOut, code := runCLI("", "fleet", "generate", "--installs", "40", "--seed", "3", "--csv", csv)
	require.Zero(t, code, errOut)
	jsonl := filepath.Join(dir, "fleet.jsonl")
	_, errOut, code = runCLI("", "fleet", "generate", "--installs", "5", "--seed", "3", "--jsonl", jsonl)
	require.Zero(t, code, errOut)
	summary := filepath.Join(dir, "summary.json")
	out, errOut, code := runCLI("", "audit", "--csv", csv, "--format", "json", "--now", fleetNowFlag, "--stale", "30d")
	require.Zero(t, code, errOut)
	require.NoError(t, os.WriteFile(summary, []byte(out), 0o600))
	secret := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secret, []byte(testSessionSecret), 0o600))
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))

	for _, tc := range []struct {
		code    int
		args    []string
		message string // in stderr
	}{
		{0, []string{"--version"}, ""},
		{0, []string{"help", "help"}, ""},
		{1, []string{"audit", "--csv", filepath.Join(dir, "missing.csv")}, "no such file"},
		{1, []string{"audit", "merge", filepath.Join(dir, "missing.json")}, "no such file"},
		{1, []string{"emulator", "--import", filepath.Join(dir, "missing.json"), "--addr", "127.0.0.1:0"}, "no such file"},
		{2, []string{"audit", "--jsonl", csv}, "give it as --csv"},
		{2, []string{"audit", "--csv", jsonl}, "give it as --jsonl"},
		{2, []string{"audit", "--db", csv}, "give it as --csv"},
		{2, []string{"audit", "merge", csv + ".truth.json"}, "ground-truth file"},
		{2, []string{"audit", "merge", csv}, "audit it with --csv"},
		{2, []string{"serve", "--emulator", "--db", csv, "--session-secret-file", secret}, "not a SQLite database"},
		{2, []string{"serve", "--emulator", "--db", filepath.Join(dir, "i.db"), "--session-secret-file", secret, "--addr", "nonsense"}, "give HOST:PORT"},
		{2, []string{"emulator", "--addr", "127.0.0.1:99999"}, "give HOST:PORT"},
		{2, []string{"plan"}, "the input is empty"},
		{2, []string{"audit", "--csv", empty}, "is empty"},
		{2, []string{"audit", "--jsonl", empty}, "is empty"},
		{2, []string{"audit", "merge", empty}, "is empty"},
		{2, []string{"emulator", "--import", empty, "--addr", "127.0.0.1:0"}, "is empty"},
		{2, []string{"device", "--db", csv, "--profile", "ios-1.8", "status"}, "the audit reads it: vitalsync audit --csv"},
		{2, []string{"emulator", "--import", csv, "--addr", "127.0.0.1:0"}, "not an emulator state"},
		{2, []string{"audit", "--csv", csv, "--stale", "30"}, "30d"},
		{3, []string{"audit", "--csv", csv, "--now", fleetNowFlag, "--fail-on", "consistent"}, "consistent"},
		// Flags after the files, as the docs' Job writes it.
		{3, []string{"audit", "merge", summary, summary, "--fail-on", "consistent"}, "consistent"},
		{0, []string{"audit", "merge", summary, "--format", "json", summary}, ""},
	} {
		_, errOut, code := runCLI("", tc.args...)
		require.Equal(t, tc.code, code, "%v: %s", tc.args, errOut)
		require.Contains(t, errOut, tc.message, "%v", tc.args)
	}
}

func TestVersionFlagAndHelp(t *testing.T) {
	v, _, code := runCLI("", "version")
	require.Zero(t, code)
	out, _, code := runCLI("", "--version")
	require.Zero(t, code)
	require.Equal(t, v, out)

	out, _, code = runCLI("", "help", "help")
	require.Zero(t, code)
	require.Contains(t, out, "usage: vitalsync <command> [flags]")
	require.Contains(t, out, "docs/reference/exit-codes.md")

	// help CMD SUB is CMD SUB --help: the subcommand's flags.
	out, _, code = runCLI("", "help", "fleet", "generate")
	require.Zero(t, code)
	require.Contains(t, out, "usage: vitalsync fleet generate --installs N")
	require.Contains(t, out, "-installs int")
	out, _, code = runCLI("", "fleet", "generate", "--help")
	require.Zero(t, code)
	require.NotContains(t, out, "generate generate")
	out, _, code = runCLI("", "help", "audit", "merge")
	require.Zero(t, code)
	require.Contains(t, out, "usage: vitalsync audit merge [--format table|json|csv] [--fail-on CLASS,…] FILE…", "flags first, as the parser reads them")
	require.Contains(t, out, "-fail-on")
}

func TestDemoTwiceInOneDirWarns(t *testing.T) {
	dir := t.TempDir()
	_, errOut, code := runCLI("", "demo", "--dir", dir)
	require.Zero(t, code, errOut)
	require.NotContains(t, errOut, "warning")
	_, errOut, code = runCLI("", "demo", "--dir", dir)
	require.Zero(t, code, errOut)
	require.Contains(t, errOut, "already holds issuer.db and device.db from an earlier run")

	// The demo's device file is not an issuer database: serve refuses it,
	// naming the commands that read it; the issuer's file passes the check.
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte(testSessionSecret), 0o600))
	_, errOut, code = runCLI("", "serve", "--emulator", "--db", filepath.Join(dir, "device.db"), "--session-secret-file", secret)
	require.Equal(t, 2, code, errOut)
	require.Contains(t, errOut, "is a device file")
	require.Contains(t, errOut, "vitalsync launch --db")
	require.NoError(t, checkNotDeviceFile(context.Background(), filepath.Join(dir, "issuer.db")))
	require.NoError(t, checkNotDeviceFile(context.Background(), filepath.Join(dir, "new.db")), "a new file is fine")
}

// TestBinaryLinksNoTesting: the shipped binary links no testing package
// (the simulations' clock and transport are product code, package
// virtual, not the test kit's), as `go list -deps ./cmd/vitalsync` lists it.
func TestBinaryLinksNoTesting(t *testing.T) {
	// go test puts its own toolchain's bin first on the test's PATH.
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the go tool is missing")
		}
		t.Skip("the go tool is missing")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 || !slices.Contains(deps, "github.com/vitalsync/vitalsync/reconcile") {
		t.Fatalf("go list -deps listed %d packages, not the binary's", len(deps))
	}
	for _, p := range deps {
		if p == "testing" || strings.HasPrefix(p, "testing/") || (strings.HasSuffix(p, "test") && strings.Contains(p, "vitalsync/")) {
			t.Errorf("the binary links %s", p)
		}
	}
}

func TestDisplay(t *testing.T) {
	for in, want := range map[string]string{
		"alice":                 "alice",
		"user@example.com":      "user@example.com",
		"ユーザー":                  "ユーザー",
		"a b":                   "a b",
		"":                      "",
		"a\nb":                  `"a\nb"`,
		"a\r\nfake  line":       `"a\r\nfake  line"`,
		"\x1b[2J\x1b[31mred":    `"\x1b[2J\x1b[31mred"`,
		"tab\there":             `"tab\there"`,
		"nul\x00":               `"nul\x00"`,
		"\xff\xfe":              `"\xff\xfe"`,
		"bidi\u202eevil":        `"bidi\u202eevil"`,
		"nbsp\u00a0":            `"nbsp\u00a0"`,
		`"already quoted"`:      `"\"already quoted\""`,
		"line\u2028separator":   `"line\u2028separator"`,
		"replacement \ufffd ok": "replacement \ufffd ok",
	} {
		require.Equal(t, want, display(in), "display(%q)", in)
	}
}

// hostile IDs: each would forge a line, a column or a colour if printed raw.
var hostileIDs = []string{
	"u-1\nsdk          {} user forged",
	"\x1b[2J\x1b[Hcleared",
	"v\tcolumn",
	"v\r\noverwritten",
}

// assertNoRawControl fails if out holds a control character other than the
// line breaks of its own lines, or more lines than want.
func assertNoRawControl(t *testing.T, out string, lines int) {
	t.Helper()
	require.NotContains(t, out, "\x1b")
	require.NotContains(t, out, "\r")
	require.NotContains(t, out, "\t")
	require.Equal(t, lines, strings.Count(out, "\n"), "output:\n%s", out)
	require.NotContains(t, out, "\nsdk          {} user forged")
}

// plan's table quotes hostile IDs from the observation instead of printing
// them raw, so each row stays one line.
func TestPlanTableQuotesHostileIDs(t *testing.T) {
	for _, id := range hostileIDs {
		obs := map[string]any{
			"profile": "ios-1.8",
			"app":     map[string]any{"signed_in": true, "app_user_id": id, "vital_user_id": id + "-v"},
			"sdk":     map[string]any{"status": []string{"configured", "signedIn", "useSignInToken"}, "current_user_id": id + "-sdk"},
			"now":     "2026-11-24T10:00:00Z",
		}
		in, err := json.Marshal(obs)
		require.NoError(t, err)
		out, stderr, code := runCLI(string(in), "plan")
		require.Zero(t, code, stderr)
		assertNoRawControl(t, out, 8) // profile, app, sdk, observed, discrepancy, 2 actions, retry at
		require.Contains(t, out, display(id))
		require.Contains(t, out, display(id+"-sdk"))
	}
}

// launch's table (and so the demo's narration) quotes hostile values from
// the observation, the plan, the outcome and the journal.
func TestLaunchTableQuotesHostileIDs(t *testing.T) {
	for _, id := range hostileIDs {
		retry := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		plan := reconcile.Plan{Actions: []reconcile.Action{reconcile.SignOut{}, reconcile.SignIn{VitalUser: id}},
			Observed: fsm.Token, Discrepancy: reconcile.WrongUser}
		rep := installation.LaunchRecord{
			Passes: []reconcile.Pass{{
				Observation: reconcile.Observation{
					App: reconcile.AppSession{SignedIn: true, AppUserID: id, VitalUserID: id},
					SDK: reconcile.SDKObservation{Status: fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseSignInToken, CurrentUserID: id},
				},
				Plan: plan,
				Applied: []reconcile.Step{{Action: reconcile.SignOut{}},
					{Action: reconcile.SignIn{VitalUser: id}, Err: errors.New("issuer: " + id), Class: reconcile.ClassTerminal}},
			}},
			Outcome: installation.LaunchOutcome{Result: "failed", Applied: []string{"sign-out"}, State: "token",
				Error: "issuer: " + id, Interrupted: "sign-in(" + id + ")",
				Divergence: &reconcile.Divergence{Expected: fsm.Token, Observed: fsm.Configured}, RetryAt: &retry},
		}
		var out bytes.Buffer
		require.NoError(t, installation.WriteLaunchTable(&out, rep, display))
		assertNoRawControl(t, out.String(), 11)
	}
}
