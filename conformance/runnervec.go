package conformance

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// RunnerCase is one runner transcript: a scripted world's setup and steps,
// and for each launch and record what the engine must make of it.
type RunnerCase struct {
	// Name is the file and line of the transcript's "new" in
	// reconcile/testdata/runner.
	Name    string      `json:"name"`
	Comment string      `json:"comment,omitempty"`
	Setup   RunnerSetup `json:"setup"`
	Steps   []Step      `json:"steps"`
}

// RunnerSetup is the installation: its profile and the SDK's optional
// calls.
type RunnerSetup struct {
	Profile          string            `json:"profile"`
	ProfileOverrides *ProfileOverrides `json:"profile_overrides,omitempty"`
	SDK              SDKCalls          `json:"sdk"`
}

// SDKCalls says which optional SDK calls the world has (the protocol's
// launch "sdk").
type SDKCalls struct {
	Identify      bool `json:"identify"`
	Initialize    bool `json:"initialize"`
	ProtectedData bool `json:"protected_data"`
}

// The step operations.
const (
	OpApp     = "app"
	OpBackend = "backend"
	OpSDK     = "sdk"
	OpTokens  = "tokens"
	OpJournal = "journal"
	OpAdvance = "advance"
	OpRecord  = "record"
	OpLaunch  = "launch"
)

// Step is one step of a transcript; Op says which fields it uses.
type Step struct {
	Op   string `json:"op"`
	Line int    `json:"line"`
	// app: the app's session.
	App *StepApp `json:"app,omitempty"`
	// backend: app users the token source maps anew.
	Backend map[string]string `json:"backend,omitempty"`
	// sdk: the scripted SDK's state.
	SDK *StepSDK `json:"sdk,omitempty"`
	// tokens: the token source's next call fails.
	Tokens *StepTokens `json:"tokens,omitempty"`
	// journal: the entry the engine starts from (journal.put).
	Journal *JournalEntry `json:"journal,omitempty"`
	// advance: the clock moves on.
	AdvanceMS int64 `json:"advance_ms,omitempty"`
	// record: an SDK error the app met, and the journal it must leave.
	Record        string         `json:"record,omitempty"`
	ExpectJournal *JournalExpect `json:"expect_journal,omitempty"`
	// launch: what the launch must do.
	Expect *LaunchExpect `json:"expect,omitempty"`
}

// StepApp is the app's session.
type StepApp struct {
	SignedIn    bool   `json:"signed_in"`
	AppUserID   string `json:"app_user_id,omitempty"`
	VitalUserID string `json:"vital_user_id,omitempty"`
	Environment string `json:"environment,omitempty"`
	Region      string `json:"region,omitempty"`
}

// StepSDK sets the scripted SDK: its state and user (when State is set),
// its stored external user ID, a session its status hides, an SDK not yet
// initialised, locked protected data, and errors for its next signIn calls.
type StepSDK struct {
	State         string   `json:"state,omitempty"`
	User          string   `json:"user,omitempty"`
	Ext           string   `json:"ext,omitempty"`
	Hidden        bool     `json:"hidden,omitempty"`
	Uninitialized bool     `json:"uninitialized,omitempty"`
	Locked        bool     `json:"locked,omitempty"`
	Fail          []string `json:"fail,omitempty"`
}

// StepTokens makes the token source's next call fail: transiently (with a
// Retry-After) or with Message, an error with no rule.
type StepTokens struct {
	Transient    bool   `json:"transient,omitempty"`
	RetryAfterMS int64  `json:"retry_after_ms,omitempty"`
	Message      string `json:"message"`
}

// JournalExpect is the journal events a step wrote and the entry they left.
type JournalExpect struct {
	Events []string     `json:"events"`
	Entry  EntrySummary `json:"entry"`
}

// EntrySummary is the part of a journal entry the transcripts check.
type EntrySummary struct {
	LastObserved string  `json:"last_observed"`
	VitalUserID  string  `json:"vital_user_id"`
	LastAction   *Action `json:"last_action"`
	LastError    string  `json:"last_error"`
	Attempts     int     `json:"attempts"`
}

// LaunchExpect is a launch's transcript: the calls the world saw, the
// journal, the passes and the outcome.
type LaunchExpect struct {
	Calls       []string      `json:"calls"`
	Journal     JournalExpect `json:"journal"`
	Passes      []PassExpect  `json:"passes"`
	Result      string        `json:"result"`
	State       string        `json:"state"`
	RetryAt     *string       `json:"retry_at"`
	Interrupted *Action       `json:"interrupted"`
	Divergence  *Divergence   `json:"divergence"`
	Error       *RunErr       `json:"error"`
}

// PassExpect is one pass: its class, its plan and the steps applied.
type PassExpect struct {
	Discrepancy string       `json:"discrepancy"`
	Plan        Plan         `json:"plan"`
	Applied     []StepResult `json:"applied"`
}

// StepResult is one applied action and its error (nil: it succeeded).
type StepResult struct {
	Action Action     `json:"action"`
	Error  *StepError `json:"error"`
}

// StepError classifies a failed action.
type StepError struct {
	Class    string `json:"class"`
	SDKError string `json:"sdk_error"`
}

// Divergence is an SDK that did not follow the state machine.
type Divergence struct {
	Expected string `json:"expected"`
	Observed string `json:"observed"`
}

// RunErr is a launch's run error: its class and the action that failed.
type RunErr struct {
	Class  string  `json:"class"`
	Action *Action `json:"action"`
}

// exportRunner turns the runner transcripts into vectors, one case per
// "new".
func exportRunner(dir string) ([]RunnerCase, error) {
	ds, err := readDir(dir)
	if err != nil {
		return nil, err
	}
	var out []RunnerCase
	var c *RunnerCase
	var now time.Time
	var app StepApp
	for _, d := range ds {
		if d.cmd == "_breakpoint" {
			continue
		}
		if d.cmd == "new" {
			out = append(out, RunnerCase{Name: d.pos(), Comment: d.comment, Steps: []Step{}})
			c = &out[len(out)-1]
			now, app = ScenarioNow, StepApp{}
			if c.Setup.Profile, _ = d.get("profile"); c.Setup.Profile == "" {
				return nil, fmt.Errorf("%s: new without a profile", d.pos())
			}
			p, ok := fsm.ParseProfile(c.Setup.Profile)
			if !ok {
				return nil, fmt.Errorf("%s: unknown profile %q", d.pos(), c.Setup.Profile)
			}
			c.Setup.SDK = SDKCalls{Identify: d.has("identify"), Initialize: d.has("initialize"),
				ProtectedData: d.has("protected-data")}
			var ov ProfileOverrides
			if d.has("deletion-undetectable") {
				f := false
				ov.DetectsDeletion = &f
			}
			if p.HasIdentify && !c.Setup.SDK.Identify {
				// A scripted SDK without identify: the runner's profile
				// has none (reconcile's transcripts plan so).
				f := false
				ov.HasIdentify = &f
			}
			if ov != (ProfileOverrides{}) {
				c.Setup.ProfileOverrides = &ov
			}
			continue
		}
		if c == nil {
			return nil, fmt.Errorf("%s: the file does not start with new", d.pos())
		}
		st, err := runnerStep(d, &now, &app)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.pos(), err)
		}
		c.Steps = append(c.Steps, st)
	}
	return out, nil
}

// runnerStep reads one transcript command, keeping the script's clock and
// app session (the journal's default app user is the app's).
func runnerStep(d directive, now *time.Time, app *StepApp) (Step, error) {
	st := Step{Op: d.cmd, Line: d.line}
	if d.cmd != OpLaunch && d.cmd != OpRecord && d.expect != "" {
		return st, fmt.Errorf("%s prints nothing, the file expects %q", d.cmd, d.expect)
	}
	switch d.cmd {
	case OpApp:
		if d.has("signed-out") {
			*app = StepApp{}
		} else {
			user, _ := d.get("user")
			if user == "" {
				return st, fmt.Errorf("app needs user= or signed-out")
			}
			vital, _ := d.get("vital")
			*app = StepApp{SignedIn: true, AppUserID: user, VitalUserID: vital,
				Environment: string(fsm.Sandbox), Region: string(fsm.US)}
		}
		a := *app
		st.App = &a
	case OpBackend:
		st.Backend = map[string]string{}
		for _, a := range d.args {
			st.Backend[a.key] = a.val
		}
	case OpSDK:
		s := &StepSDK{Hidden: d.has("hidden"), Uninitialized: d.has("uninitialized"), Locked: d.has("locked")}
		s.State, _ = d.get("state")
		s.User, _ = d.get("user")
		s.Ext, _ = d.get("ext")
		if s.State != "" {
			if _, ok := fsm.ParseState(s.State); !ok {
				return st, fmt.Errorf("unknown state %q", s.State)
			}
		}
		if f, ok := d.get("fail"); ok {
			for _, n := range strings.Split(f, ",") {
				if e, ok := reconcile.ParseSDKError(n); !ok || e == reconcile.NoSDKError {
					return st, fmt.Errorf("unknown SDK error %q", n)
				}
				s.Fail = append(s.Fail, n)
			}
		}
		st.SDK = s
	case OpTokens:
		fail, _ := d.get("fail")
		t := &StepTokens{Message: fail}
		if fail == "transient" {
			t.Transient, t.Message = true, "503 from the issuer"
			if after, ok := d.get("after"); ok {
				dur, err := time.ParseDuration(after)
				if err != nil {
					return st, err
				}
				t.RetryAfterMS = dur.Milliseconds()
			}
		}
		if t.Message == "" {
			return st, fmt.Errorf("tokens needs fail=")
		}
		st.Tokens = t
	case OpJournal:
		e := JournalEntry{AppUserID: app.AppUserID}
		e.LastObserved, _ = d.get("last")
		e.LastError, _ = d.get("error")
		if u, ok := d.get("app-user"); ok {
			e.AppUserID = u
		}
		e.VitalUserID, _ = d.get("vital")
		if f, ok := d.get("in-flight"); ok {
			a, ok := reconcile.ParseAction(f)
			if !ok {
				return st, fmt.Errorf("bad action %q", f)
			}
			e.InFlight = ActionOf(a)
		}
		if _, err := e.Reconcile(); err != nil {
			return st, err
		}
		st.Journal = &e
	case OpAdvance:
		if len(d.args) != 1 {
			return st, fmt.Errorf("advance takes one duration")
		}
		dur, err := time.ParseDuration(d.args[0].key)
		if err != nil {
			return st, err
		}
		*now = now.Add(dur)
		st.AdvanceMS = dur.Milliseconds()
	case OpRecord:
		st.Record, _ = d.get("error")
		lines := strings.Split(strings.TrimSuffix(d.expect, "\n"), "\n")
		j, rest, err := parseJournalSection(lines)
		if err != nil {
			return st, err
		}
		if len(rest) > 0 {
			return st, fmt.Errorf("unexpected output after the journal: %q", rest[0])
		}
		st.ExpectJournal = &j
		if got := renderJournal(j); got != d.expect {
			return st, fmt.Errorf("the parsed journal renders as\n%s\nnot as the file's\n%s", got, d.expect)
		}
	case OpLaunch:
		e, err := parseLaunch(d.expect, *now)
		if err != nil {
			return st, err
		}
		if got := RenderLaunch(e, *now); got != d.expect {
			return st, fmt.Errorf("the parsed launch renders as\n%s\nnot as the file's\n%s", got, d.expect)
		}
		st.Expect = &e
	default:
		return st, fmt.Errorf("unknown command %q", d.cmd)
	}
	return st, nil
}

// parseLaunch reads a launch's transcript as TestRunnerTranscripts prints it.
func parseLaunch(s string, now time.Time) (LaunchExpect, error) {
	e := LaunchExpect{Calls: []string{}, Passes: []PassExpect{}}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) == 0 || lines[0] != "calls:" {
		return e, errors.New("a launch's output does not start with \"calls:\"")
	}
	lines = lines[1:]
	for len(lines) > 0 && strings.HasPrefix(lines[0], "  ") {
		e.Calls = append(e.Calls, strings.TrimPrefix(lines[0], "  "))
		lines = lines[1:]
	}
	var err error
	if e.Journal, lines, err = parseJournalSection(lines); err != nil {
		return e, err
	}
	if len(lines) == 0 || lines[0] != "passes:" {
		return e, fmt.Errorf("passes: expected after the journal")
	}
	lines = lines[1:]
	for len(lines) > 0 && strings.HasPrefix(lines[0], "  ") {
		l := strings.TrimSpace(lines[0])
		lines = lines[1:]
		_, rest, ok := strings.Cut(l, ": plan ")
		i := strings.LastIndex(rest, " [")
		if !ok || i < 0 || !strings.HasSuffix(rest, "]") {
			return e, fmt.Errorf("pass line %q", l)
		}
		p := PassExpect{Discrepancy: rest[i+2 : len(rest)-1], Applied: []StepResult{}}
		if p.Plan, err = parsePlanString(rest[:i]); err != nil {
			return e, err
		}
		for len(lines) > 0 && strings.HasPrefix(lines[0], "     ") {
			sr, err := parseStepLine(strings.TrimSpace(lines[0]))
			if err != nil {
				return e, err
			}
			p.Applied = append(p.Applied, sr)
			lines = lines[1:]
		}
		e.Passes = append(e.Passes, p)
	}
	if len(lines) == 0 {
		return e, fmt.Errorf("no result line")
	}
	if err := parseResultLine(&e, lines[0], now); err != nil {
		return e, err
	}
	lines = lines[1:]
	if len(lines) > 0 {
		rest, ok := strings.CutPrefix(lines[0], "error: ")
		if !ok {
			return e, fmt.Errorf("unexpected line %q", lines[0])
		}
		class, act, _ := strings.Cut(rest, " ")
		a, err := parseActionString(act)
		if err != nil {
			return e, err
		}
		e.Error = &RunErr{Class: class, Action: a}
		lines = lines[1:]
	}
	if len(lines) > 0 {
		return e, fmt.Errorf("unexpected line %q", lines[0])
	}
	return e, nil
}

// parseJournalSection reads "journal:", its events and its "→" entry line.
func parseJournalSection(lines []string) (JournalExpect, []string, error) {
	j := JournalExpect{Events: []string{}}
	if len(lines) == 0 || lines[0] != "journal:" {
		return j, lines, fmt.Errorf("journal: expected")
	}
	lines = lines[1:]
	for len(lines) > 0 && strings.HasPrefix(lines[0], "  ") && !strings.HasPrefix(lines[0], "  → ") {
		j.Events = append(j.Events, strings.TrimPrefix(lines[0], "  "))
		lines = lines[1:]
	}
	if len(lines) == 0 {
		return j, lines, fmt.Errorf("no journal entry line")
	}
	entry, ok := strings.CutPrefix(lines[0], "  → ")
	if !ok {
		return j, lines, fmt.Errorf("journal entry line %q", lines[0])
	}
	for _, f := range strings.Fields(entry) {
		k, v, _ := strings.Cut(f, "=")
		if v == "-" {
			v = ""
		}
		switch k {
		case "last":
			j.Entry.LastObserved = v
		case "vital":
			j.Entry.VitalUserID = v
		case "last-action":
			a, ok := reconcile.ParseAction(v)
			if !ok {
				return j, lines, fmt.Errorf("journal entry action %q", v)
			}
			j.Entry.LastAction = ActionOf(a)
		case "error":
			j.Entry.LastError = v
		case "attempts":
			n, err := strconv.Atoi(v)
			if err != nil {
				return j, lines, err
			}
			j.Entry.Attempts = n
		default:
			return j, lines, fmt.Errorf("journal entry key %q", k)
		}
	}
	return j, lines[1:], nil
}

// parseStepLine reads "ACTION ok" or "ACTION failed: CLASS (SDKERR)".
func parseStepLine(l string) (StepResult, error) {
	var sr StepResult
	if act, ok := strings.CutSuffix(l, " ok"); ok {
		a, err := parseActionString(act)
		if err != nil || a == nil {
			return sr, fmt.Errorf("step %q", l)
		}
		sr.Action = *a
		return sr, nil
	}
	act, rest, ok := strings.Cut(l, " failed: ")
	if !ok {
		return sr, fmt.Errorf("step %q", l)
	}
	a, err := parseActionString(act)
	if err != nil || a == nil {
		return sr, fmt.Errorf("step %q", l)
	}
	class, sdk, ok := strings.Cut(rest, " (")
	if !ok || !strings.HasSuffix(sdk, ")") {
		return sr, fmt.Errorf("step %q", l)
	}
	sdk = strings.TrimSuffix(sdk, ")")
	if sdk == "-" {
		sdk = ""
	}
	sr.Action, sr.Error = *a, &StepError{Class: class, SDKError: sdk}
	return sr, nil
}

// parseResultLine reads "result: R, state S[, retry in D][, interrupted
// A][, diverged: expected X, observed Y]".
func parseResultLine(e *LaunchExpect, l string, now time.Time) error {
	rest, ok := strings.CutPrefix(l, "result: ")
	if !ok {
		return fmt.Errorf("result line %q", l)
	}
	if e.Result, rest, ok = strings.Cut(rest, ", state "); !ok {
		return fmt.Errorf("result line %q", l)
	}
	e.State, rest, _ = strings.Cut(rest, ", ")
	if r, ok := strings.CutPrefix(rest, "retry in "); ok {
		var d string
		d, rest, _ = strings.Cut(r, ", ")
		dur, err := time.ParseDuration(d)
		if err != nil {
			return fmt.Errorf("result line %q: %w", l, err)
		}
		e.RetryAt = timeString(now.Add(dur))
	}
	if r, ok := strings.CutPrefix(rest, "interrupted "); ok {
		act, tail, _ := strings.Cut(r, ", diverged: ")
		a, err := parseActionString(act)
		if err != nil {
			return fmt.Errorf("result line %q: %w", l, err)
		}
		e.Interrupted = a
		rest = ""
		if tail != "" {
			rest = "diverged: " + tail
		}
	}
	if r, ok := strings.CutPrefix(rest, "diverged: expected "); ok {
		exp, obs, ok := strings.Cut(r, ", observed ")
		if !ok {
			return fmt.Errorf("result line %q", l)
		}
		if exp == "(no path in the table)" {
			exp = ""
		}
		e.Divergence = &Divergence{Expected: exp, Observed: obs}
		rest = ""
	}
	if rest != "" {
		return fmt.Errorf("result line %q: unread %q", l, rest)
	}
	return nil
}

// parsePlanString reads reconcile.Plan.String's rendering.
func parsePlanString(s string) (Plan, error) {
	p := Plan{Actions: []Action{}}
	switch {
	case s == "(nothing)":
		return p, nil
	case s == "(terminal: no rule after the last error)":
		p.Terminal = true
		return p, nil
	case s == "(deferred to a later launch)":
		p.Deferred = true
		return p, nil
	}
	if t, ok := strings.CutPrefix(s, "(wait until "); ok {
		return p, setRetry(&p, strings.TrimSuffix(t, ")"))
	}
	if acts, t, ok := strings.Cut(s, ", then wait until "); ok {
		if err := setRetry(&p, t); err != nil {
			return p, err
		}
		s = acts
	}
	for _, part := range strings.Split(s, ", ") {
		a, err := parseActionString(part)
		if err != nil || a == nil {
			return p, fmt.Errorf("plan %q: action %q", s, part)
		}
		p.Actions = append(p.Actions, *a)
	}
	return p, nil
}

func setRetry(p *Plan, s string) error {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return err
	}
	p.RetryAt = timeString(t)
	return nil
}

// parseActionString reads reconcile.Action.String's rendering; "(no
// action)" is nil.
func parseActionString(s string) (*Action, error) {
	if s == "(no action)" {
		return nil, nil
	}
	if s == string(reconcile.TypeSignOut) {
		return &Action{Type: s}, nil
	}
	name, user, ok := strings.Cut(s, "(")
	if !ok || !strings.HasSuffix(user, ")") {
		return nil, fmt.Errorf("action %q", s)
	}
	user = strings.TrimSuffix(user, ")")
	t, ok := reconcile.ParseActionType(name)
	if !ok {
		return nil, fmt.Errorf("action %q", s)
	}
	switch t {
	case reconcile.TypeResolve:
		u, ok := strings.CutPrefix(user, "app user ")
		if !ok {
			return nil, fmt.Errorf("action %q", s)
		}
		return &Action{Type: string(t), AppUserID: u}, nil
	case reconcile.TypeSignIn:
		if user == "from token source" {
			user = ""
		}
	}
	return &Action{Type: string(t), VitalUserID: user}, nil
}

// RenderLaunch prints a launch's transcript as TestRunnerTranscripts does;
// now is the clock at the launch (retry times print relative to it).
func RenderLaunch(e LaunchExpect, now time.Time) string {
	var b strings.Builder
	b.WriteString("calls:\n")
	for _, c := range e.Calls {
		b.WriteString("  " + c + "\n")
	}
	b.WriteString(renderJournal(e.Journal))
	b.WriteString("passes:\n")
	for i, p := range e.Passes {
		fmt.Fprintf(&b, "  %d: plan %s [%s]\n", i+1, p.Plan, p.Discrepancy)
		for _, st := range p.Applied {
			if st.Error != nil {
				fmt.Fprintf(&b, "     %s failed: %s (%s)\n", st.Action.String(), st.Error.Class, orNone(st.Error.SDKError))
			} else {
				fmt.Fprintf(&b, "     %s ok\n", st.Action.String())
			}
		}
	}
	fmt.Fprintf(&b, "result: %s, state %s", e.Result, e.State)
	if e.RetryAt != nil {
		if t, err := time.Parse(time.RFC3339Nano, *e.RetryAt); err == nil {
			fmt.Fprintf(&b, ", retry in %s", t.Sub(now))
		} else {
			fmt.Fprintf(&b, ", retry at %s", *e.RetryAt)
		}
	}
	if e.Interrupted != nil {
		fmt.Fprintf(&b, ", interrupted %s", e.Interrupted.String())
	}
	if e.Divergence != nil {
		exp := e.Divergence.Expected
		if exp == "" {
			exp = "(no path in the table)"
		}
		fmt.Fprintf(&b, ", diverged: expected %s, observed %s", exp, e.Divergence.Observed)
	}
	b.WriteString("\n")
	if e.Error != nil {
		fmt.Fprintf(&b, "error: %s %s\n", e.Error.Class, e.Error.Action.String())
	}
	return b.String()
}

func renderJournal(j JournalExpect) string {
	var b strings.Builder
	b.WriteString("journal:\n")
	for _, ev := range j.Events {
		b.WriteString("  " + ev + "\n")
	}
	la := ""
	if j.Entry.LastAction != nil {
		if a, err := j.Entry.LastAction.Reconcile(); err == nil {
			la = reconcile.FormatAction(a)
		}
	}
	fmt.Fprintf(&b, "  → last=%s vital=%s last-action=%s error=%s attempts=%d\n", orNone(j.Entry.LastObserved),
		orNone(j.Entry.VitalUserID), orNone(la), orNone(j.Entry.LastError), j.Entry.Attempts)
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
