package reconcile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/fsm"
)

// Scenario files (testdata/*.txt) hold cases of the form
//
//	# comment
//	<directive> key=value ...
//	[input lines]
//	----
//	expected output
//	<blank line>
//
// Directives: "plan" builds an observation from its keys and prints the
// classification and the plan; "decode" reads a JSON observation from the
// input lines and prints its plan or the invalid field. Set
// VITALSYNC_UPDATE_GOLDEN=1 to rewrite the expected output.

var scenarioNow = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

type scenario struct {
	comments  []string // the comment lines just above the case
	pos       string
	directive string
	args      []string
	input     string
	expected  string
}

func parseScenarios(t *testing.T, path string) []scenario {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []scenario
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	var comments []string
	header := true // the file's leading comment block is kept separately
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.HasPrefix(text, "#") {
			if !header {
				comments = append(comments, text)
			}
			continue
		}
		header = false
		if strings.TrimSpace(text) == "" {
			continue
		}
		fields := strings.Fields(text)
		s := scenario{comments: comments, pos: fmt.Sprintf("%s:%d", path, line), directive: fields[0], args: fields[1:]}
		comments = nil
		var in, exp []string
		for sc.Scan() {
			line++
			if sc.Text() == "----" {
				break
			}
			in = append(in, sc.Text())
		}
		for sc.Scan() {
			line++
			if sc.Text() == "" {
				break
			}
			exp = append(exp, sc.Text())
		}
		s.input = strings.Join(in, "\n")
		s.expected = strings.Join(exp, "\n")
		out = append(out, s)
	}
	require.NoError(t, sc.Err())
	return out
}

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	total := 0
	profilesSeen := map[string]bool{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cases := parseScenarios(t, f)
			var rewritten strings.Builder
			data, _ := os.ReadFile(f)
			header := leadingComments(string(data))
			rewritten.WriteString(header)
			for _, c := range cases {
				got := runScenario(t, c, profilesSeen)
				if update {
					writeScenario(&rewritten, c, got)
					continue
				}
				require.Equal(t, c.expected, got, "%s: %s %s", c.pos, c.directive, strings.Join(c.args, " "))
			}
			total += len(cases)
			if update {
				require.NoError(t, os.WriteFile(f, []byte(rewritten.String()), 0o644))
			}
		})
	}
	require.GreaterOrEqual(t, total, 40, "the scenario files hold at least 40 cases")
	for _, p := range fsm.ProfileNames() {
		require.True(t, profilesSeen[p], "no scenario covers profile %s", p)
	}
}

var update = os.Getenv("VITALSYNC_UPDATE_GOLDEN") != ""

// leadingComments keeps a file's comment header when rewriting.
func leadingComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "#") {
			break
		}
		b.WriteString(l + "\n")
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

func writeScenario(b *strings.Builder, c scenario, got string) {
	for _, l := range c.comments {
		b.WriteString(l + "\n")
	}
	fmt.Fprintf(b, "%s %s\n", c.directive, strings.Join(c.args, " "))
	if c.input != "" {
		b.WriteString(c.input + "\n")
	}
	b.WriteString("----\n" + got + "\n\n")
}

func runScenario(t *testing.T, c scenario, seen map[string]bool) string {
	switch c.directive {
	case "plan":
		o, err := observationFromArgs(c.args)
		require.NoError(t, err, c.pos)
		require.NoError(t, o.Validate(), c.pos)
		seen[o.Profile.Name] = true
		return describePlan(&o)
	case "decode":
		o, err := ParseObservation([]byte(c.input))
		if err != nil {
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "%s: %v is not a *FieldError", c.pos, err)
			require.ErrorIs(t, err, ErrInvalidObservation)
			return "invalid: " + fe.Field
		}
		seen[o.Profile.Name] = true
		return describePlan(&o)
	}
	t.Fatalf("%s: unknown directive %q", c.pos, c.directive)
	return ""
}

func describePlan(o *Observation) string {
	p := o.Plan()
	js, _ := p.MarshalJSON()
	return fmt.Sprintf("observed: %s\nclass: %s\nplan: %s\njson: %s", p.Observed, p.Discrepancy, p, js)
}

// observationFromArgs builds an observation from scenario keys:
//
//	profile=P app=signed-out|U|U:V app-env=E/R status=-|flag,flag user=ID
//	sdk-env=E/R last=STATE error=SDKERR next=+DUR allow-api-key
func observationFromArgs(args []string) (Observation, error) {
	o := Observation{Now: scenarioNow}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "profile":
			p, ok := fsm.ParseProfile(v)
			if !ok {
				return o, fmt.Errorf("unknown profile %q", v)
			}
			o.Profile = p
		case "app":
			if v == "signed-out" {
				continue
			}
			o.App.SignedIn = true
			o.App.AppUserID, o.App.VitalUserID, _ = strings.Cut(v, ":")
		case "app-env", "sdk-env":
			e, r, _ := strings.Cut(v, "/")
			if k == "app-env" {
				o.App.Environment, o.App.Region = fsm.Environment(e), fsm.Region(r)
			} else {
				o.SDK.Environment, o.SDK.Region = fsm.Environment(e), fsm.Region(r)
			}
		case "status":
			if v == "-" {
				continue
			}
			s, err := fsm.ParseStatus(strings.Split(v, ","))
			if err != nil {
				return o, err
			}
			o.SDK.Status = s
		case "user":
			o.SDK.CurrentUserID = v
		case "last":
			o.LastObserved = fsm.State(v)
		case "error":
			o.LastError = SDKError(v)
		case "next":
			d, err := time.ParseDuration(strings.TrimPrefix(v, "+"))
			if err != nil {
				return o, err
			}
			o.NextAttemptAt = scenarioNow.Add(d)
		case "allow-api-key":
			o.AllowAPIKey = true
		default:
			return o, fmt.Errorf("unknown key %q", k)
		}
	}
	return o, nil
}
