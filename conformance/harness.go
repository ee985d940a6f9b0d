package conformance

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/reconcile"
)

// The suites.
const (
	SuitePlan   = "plan"
	SuiteRunner = "runner"
	SuiteCrash  = "crash"
	SuiteFleet  = "fleet"
)

// Suites returns every suite, in the order they run.
func Suites() []string { return []string{SuitePlan, SuiteRunner, SuiteCrash, SuiteFleet} }

//go:embed testdata/vectors/*.json
var embedded embed.FS

// EmbeddedPlan and EmbeddedRunner return the vectors built into the
// binary: the committed export.
func EmbeddedPlan() (PlanFileData, error) {
	var f PlanFileData
	return f, readEmbedded(PlanFile, "#/$defs/planFile", &f)
}

// EmbeddedRunner: see EmbeddedPlan.
func EmbeddedRunner() (RunnerFileData, error) {
	var f RunnerFileData
	return f, readEmbedded(RunnerFile, "#/$defs/runnerFile", &f)
}

func readEmbedded(name, ref string, v any) error {
	data, err := embedded.ReadFile("testdata/vectors/" + name)
	if err != nil {
		return err
	}
	if err := ValidateJSON(data, ref); err != nil {
		return fmt.Errorf("%w: embedded %s: %w", ErrVectors, name, err)
	}
	return json.Unmarshal(data, v)
}

// Config is one run of the harness.
type Config struct {
	// Engine is the engine's command line, split into words.
	Engine []string
	// Suites to run (nil: all).
	Suites []string
	// Plan and Runner are the vectors (zero: the embedded ones).
	Plan   *PlanFileData
	Runner *RunnerFileData
	// Case, when set, runs only the cases whose name matches it exactly
	// (the replay of one case).
	Case string
	// Dir holds the engine's journals (a temporary directory when empty).
	Dir string
	// Fleet is the fleet suite's size and seed.
	Fleet FleetConfig
	// AllowSkip passes cases the engine lacks a capability for.
	AllowSkip bool
	// Report, when set, gets each case's result as it is decided.
	Report func(CaseResult)
	// MessageTimeout bounds the wait for each message of the engine (0:
	// DefaultMessageTimeout).
	MessageTimeout time.Duration
	// ReplayFlags are added to every replay command (the flags that chose
	// the vectors or sized the fleet).
	ReplayFlags []string
}

// The case statuses.
const (
	StatusPass = "pass"
	StatusFail = "fail"
	StatusSkip = "skip"
)

// CaseResult is one case's verdict.
type CaseResult struct {
	Suite  string `json:"suite"`
	Name   string `json:"name"`
	Status string `json:"status"`
	// Detail says why a case failed or was skipped: the case, the calls
	// expected and those made.
	Detail string `json:"detail,omitempty"`
	// Replay is the command that runs this case alone.
	Replay string `json:"replay,omitempty"`
}

// Summary is a run's result.
type Summary struct {
	Engine  Hello        `json:"engine"`
	Cases   []CaseResult `json:"cases"`
	Passed  int          `json:"passed"`
	Failed  int          `json:"failed"`
	Skipped int          `json:"skipped"`
}

// OK reports whether every case passed (skips count as failures unless
// allowed).
func (s *Summary) OK(allowSkip bool) bool {
	return s.Failed == 0 && (allowSkip || s.Skipped == 0) && len(s.Cases) > 0
}

// ErrUsage is matched by a Config the harness cannot run.
var ErrUsage = errors.New("conformance: invalid configuration")

// Run runs the selected suites against the engine.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if len(cfg.Engine) == 0 {
		return nil, fmt.Errorf("%w: no engine command", ErrUsage)
	}
	suites := cfg.Suites
	if len(suites) == 0 {
		suites = Suites()
	}
	for _, s := range suites {
		if !validSuite(s) {
			return nil, fmt.Errorf("%w: unknown suite %q (%s)", ErrUsage, s, strings.Join(Suites(), ", "))
		}
	}
	if cfg.Plan == nil {
		f, err := EmbeddedPlan()
		if err != nil {
			return nil, err
		}
		cfg.Plan = &f
	}
	if cfg.Runner == nil {
		f, err := EmbeddedRunner()
		if err != nil {
			return nil, err
		}
		cfg.Runner = &f
	}
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "vitalsync-conformance-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		cfg.Dir = dir
	}
	h := &harness{cfg: cfg, sum: &Summary{}}
	defer h.stop()
	if err := h.restart(ctx); err != nil {
		return nil, err
	}
	h.sum.Engine = h.eng.Hello()
	for _, s := range suites {
		var err error
		switch s {
		case SuitePlan:
			err = h.planSuite(ctx)
		case SuiteRunner:
			err = h.runnerSuite(ctx)
		case SuiteCrash:
			err = h.crashSuite(ctx)
		case SuiteFleet:
			err = h.fleetSuite(ctx)
		}
		if err != nil {
			return h.sum, err
		}
	}
	return h.sum, nil
}

func validSuite(s string) bool {
	for _, x := range Suites() {
		if x == s {
			return true
		}
	}
	return false
}

type harness struct {
	cfg   Config
	sum   *Summary
	eng   *Engine
	cases int
}

// restart starts a fresh engine process (killing the old one, if any).
func (h *harness) restart(ctx context.Context) error {
	h.stop()
	e, err := StartEngine(ctx, h.cfg.Engine, ScenarioNow, h.cfg.MessageTimeout)
	if err != nil {
		return err
	}
	h.eng = e
	return nil
}

func (h *harness) stop() {
	if h.eng != nil {
		h.eng.Close()
		h.eng = nil
	}
}

// engine returns a live engine, starting one if the last was killed.
func (h *harness) engine(ctx context.Context) (*Engine, error) {
	if h.eng == nil {
		if err := h.restart(ctx); err != nil {
			return nil, err
		}
	}
	return h.eng, nil
}

// journalPath names a journal never used before in the run, so that an
// engine that caches journals by path starts each playback afresh.
func (h *harness) journalPath(kind string, i int) string {
	h.cases++
	return filepath.Join(h.cfg.Dir, fmt.Sprintf("%s-%03d-%d.journal", kind, i, h.cases))
}

func (h *harness) selected(name string) bool { return h.cfg.Case == "" || h.cfg.Case == name }

func (h *harness) report(r CaseResult) {
	if r.Status != StatusPass {
		r.Replay = h.replay(r.Suite, r.Name)
	}
	switch r.Status {
	case StatusPass:
		h.sum.Passed++
	case StatusFail:
		h.sum.Failed++
	case StatusSkip:
		h.sum.Skipped++
	}
	h.sum.Cases = append(h.sum.Cases, r)
	if h.cfg.Report != nil {
		h.cfg.Report(r)
	}
}

// replay is the command line that runs one case alone.
func (h *harness) replay(suite, name string) string {
	words := make([]string, len(h.cfg.Engine))
	for i, w := range h.cfg.Engine {
		words[i] = shellQuote(w)
	}
	flags := ""
	for _, f := range h.cfg.ReplayFlags {
		flags += " " + shellQuote(f)
	}
	return fmt.Sprintf("vitalsync conformance --engine %s%s --suite %s --case %s",
		shellQuote(strings.Join(words, " ")), flags, suite, shellQuote(name))
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:=@,+-]+$`)

func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// planSuite runs the planner vectors.
func (h *harness) planSuite(ctx context.Context) error {
	for _, c := range h.cfg.Plan.Cases {
		if !h.selected(c.Name) {
			continue
		}
		r := CaseResult{Suite: SuitePlan, Name: c.Name, Status: StatusPass}
		eng, err := h.engine(ctx)
		if err != nil {
			return err
		}
		capability := CapPlan
		if c.Decode() {
			capability = CapDecode
		}
		if !eng.Hello().Has(capability) {
			r.Status, r.Detail = StatusSkip, "the engine lacks the "+capability+" capability"
			h.report(r)
			continue
		}
		got, err := planCase(ctx, eng, c)
		switch {
		case err != nil:
			r.Status, r.Detail = StatusFail, describePlanCase(c)+"error: "+err.Error()+stderrTail(eng)
			h.eng.Kill()
			h.eng = nil
		case !reflect.DeepEqual(normalPlanResult(got), normalPlanResult(c.Expect)):
			r.Status = StatusFail
			r.Detail = describePlanCase(c) + "expected: " + c.Expect.String() + "\nmade:     " + got.String() + "\n"
			if c.Expect.String() == got.String() {
				// The difference is in what the rendering leaves out (how
				// an action is applied): show the JSON.
				want, _ := json.Marshal(c.Expect)
				have, _ := json.Marshal(got)
				r.Detail += "expected JSON: " + string(want) + "\nmade JSON:     " + string(have) + "\n"
			}
		}
		h.report(r)
	}
	return nil
}

func planCase(ctx context.Context, eng *Engine, c PlanCase) (PlanResult, error) {
	req := PlanRequest{Observation: c.Observation, ObservationText: c.ObservationText, ProfileOverrides: c.ProfileOverrides}
	res, err := eng.Do(ctx, CmdPlan, req, ScenarioNow, nil)
	if err != nil {
		return PlanResult{}, err
	}
	var got PlanResult
	if err := json.Unmarshal(res, &got); err != nil {
		return got, fmt.Errorf("%w: plan's result: %v", ErrProtocol, err)
	}
	return got, nil
}

func normalPlanResult(r PlanResult) PlanResult {
	if r.Plan != nil {
		p := *r.Plan
		if p.Actions == nil {
			p.Actions = []Action{}
		}
		r.Plan = &p
	}
	return r
}

func describePlanCase(c PlanCase) string {
	var b strings.Builder
	if c.Comment != "" {
		b.WriteString("# " + c.Comment + "\n")
	}
	if c.Decode() {
		b.WriteString("observation (decode): " + *c.ObservationText + "\n")
	} else {
		var compact bytes.Buffer
		if json.Compact(&compact, c.Observation) != nil {
			compact.Reset()
			compact.Write(c.Observation)
		}
		b.WriteString("observation: " + compact.String() + "\n")
	}
	if c.ProfileOverrides != nil {
		data, _ := json.Marshal(c.ProfileOverrides)
		b.WriteString("profile overrides: " + string(data) + "\n")
	}
	return b.String()
}

func stderrTail(eng *Engine) string {
	if eng == nil {
		return ""
	}
	s := strings.TrimSpace(eng.Stderr())
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return "\nengine stderr:\n  " + strings.Join(lines, "\n  ")
}

// runnerSuite runs the runner transcripts.
func (h *harness) runnerSuite(ctx context.Context) error {
	for i, c := range h.cfg.Runner.Cases {
		if !h.selected(c.Name) {
			continue
		}
		r := CaseResult{Suite: SuiteRunner, Name: c.Name, Status: StatusPass}
		eng, err := h.engine(ctx)
		if err != nil {
			return err
		}
		if missing := needs(eng.Hello(), c); missing != "" {
			r.Status, r.Detail = StatusSkip, "the engine lacks the "+missing+" capability"
			h.report(r)
			continue
		}
		p := &playback{h: h, c: c, journal: h.journalPath("runner", i)}
		if err := h.reportPlayed(r, c, p.run(ctx, len(c.Steps), nil)); err != nil {
			return err
		}
	}
	return nil
}

// reportPlayed reports r, the result of playing runner case c, which err
// (a *failure) fails; any other error stops the suite and is returned.
func (h *harness) reportPlayed(r CaseResult, c RunnerCase, err error) error {
	if err != nil {
		var f *failure
		if !errors.As(err, &f) {
			return err
		}
		r.Status, r.Detail = StatusFail, f.detail(c)
	}
	h.report(r)
	return nil
}

// needs returns a capability the case needs and the engine lacks.
func needs(hello Hello, c RunnerCase) string {
	if !hello.Has(CapLaunch) {
		return CapLaunch
	}
	for _, s := range c.Steps {
		if s.Op == OpRecord && !hello.Has(CapRecord) {
			return CapRecord
		}
	}
	return ""
}

// failure is a case's failure: where, and what.
type failure struct {
	line int
	msg  string
}

func (f *failure) Error() string { return f.msg }

func (f *failure) detail(c RunnerCase) string {
	var b strings.Builder
	if c.Comment != "" {
		b.WriteString("# " + c.Comment + "\n")
	}
	fmt.Fprintf(&b, "setup: profile %s, sdk %+v", c.Setup.Profile, c.Setup.SDK)
	if c.Setup.ProfileOverrides != nil {
		data, _ := json.Marshal(c.Setup.ProfileOverrides)
		b.WriteString(", overrides " + string(data))
	}
	b.WriteString("\n")
	if f.line > 0 {
		fmt.Fprintf(&b, "at the step of line %d:\n", f.line)
	}
	b.WriteString(f.msg)
	return b.String()
}

// playback plays one runner case against the engine.
type playback struct {
	h       *harness
	c       RunnerCase
	journal string
	w       *scripted
	// lax plays the steps without checking the transcripts' expectations
	// (the crash suite judges convergence and safety instead).
	lax bool
}

// crashAt is a crash point: the launch step it strikes, the k-th mutating
// call of that launch (from 1), and whether the world applies the call
// before the kill.
type crashAt struct {
	step  int
	k     int
	after bool
	// seen counts the mutating calls of the launch; call names the one
	// struck.
	seen  int
	call  string
	names []string
}

// run plays the case's first n steps. With crash set, the launch at
// crash.step is killed at its crash point and run returns errKilledHere.
func (p *playback) run(ctx context.Context, n int, crash *crashAt) error {
	w, err := newScripted(p.c.Setup)
	if err != nil {
		return err
	}
	p.w = w
	if err := os.Remove(p.journal); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for i, s := range p.c.Steps[:n] {
		var cr *crashAt
		if crash != nil && crash.step == i {
			cr = crash
		}
		if err := p.step(ctx, s, cr); err != nil {
			return err
		}
	}
	return nil
}

// handler answers the engine's calls from the world; with crash set, it
// kills the engine at the crash point.
func (p *playback) handler(crash *crashAt, protoErr *error) CallHandler {
	return func(call string, args json.RawMessage) (any, *WireError, time.Time, bool) {
		if crash != nil && mutating(call) {
			crash.seen++
			crash.names = append(crash.names, call)
			if crash.seen == crash.k {
				crash.call = call
				if crash.after || call == CallJournalSaved {
					p.w.handle(call, args)
				}
				return nil, nil, p.w.now, true
			}
		}
		res, werr, err := p.w.handle(call, args)
		if err != nil {
			*protoErr = err
			return nil, nil, p.w.now, true
		}
		return res, werr, p.w.now, false
	}
}

var errKilledHere = errors.New("conformance: killed at the crash point")

func (p *playback) step(ctx context.Context, s Step, crash *crashAt) error {
	eng, err := p.h.engine(ctx)
	if err != nil {
		return err
	}
	fail := func(format string, args ...any) error {
		return &failure{line: s.Line, msg: fmt.Sprintf(format, args...)}
	}
	var protoErr error
	engineErr := func(err error) error {
		p.h.eng.Kill()
		p.h.eng = nil
		if protoErr != nil {
			err = protoErr
		}
		return fail("%s: the engine failed: %v%s", s.Op, err, stderrTail(eng))
	}
	switch s.Op {
	case OpJournal:
		if _, err := eng.Do(ctx, CmdJournalPut, JournalRequest{Journal: p.journal, Entry: s.Journal}, p.w.now, nil); err != nil {
			return engineErr(err)
		}
		p.w.entry = *s.Journal
		return nil
	case OpRecord:
		n := len(p.w.events)
		_, err := eng.Do(ctx, CmdRecord, RecordRequest{Journal: p.journal, SDKError: s.Record}, p.w.now, p.handler(nil, &protoErr))
		if err != nil {
			return engineErr(err)
		}
		made := JournalExpect{Events: append([]string{}, p.w.events[n:]...), Entry: p.w.entry.Summary()}
		if s.ExpectJournal != nil && !p.lax && !reflect.DeepEqual(made, *s.ExpectJournal) {
			return fail("record %s:\nexpected:\n%smade:\n%s", s.Record, indent(renderJournal(*s.ExpectJournal)), indent(renderJournal(made)))
		}
		return nil
	case OpLaunch:
		n := len(p.w.events)
		p.w.log = p.w.log[:0]
		res, err := eng.Do(ctx, CmdLaunch, p.launchRequest(), p.w.now, p.handler(crash, &protoErr))
		if errors.Is(err, ErrKilled) && crash != nil && protoErr == nil {
			p.h.eng = nil
			return errKilledHere
		}
		if err != nil {
			return engineErr(err)
		}
		var out Outcome
		if err := json.Unmarshal(res, &out); err != nil {
			return engineErr(fmt.Errorf("%w: launch's result: %v", ErrProtocol, err))
		}
		if s.Expect == nil || p.lax {
			return nil // the crash suite's: judged by the caller
		}
		made := madeLaunch(out, p.w, n)
		if !reflect.DeepEqual(normalLaunch(made), normalLaunch(*s.Expect)) {
			return fail("launch:\nexpected:\n%smade:\n%s", indent(RenderLaunch(*s.Expect, p.w.now)),
				indent(RenderLaunch(made, p.w.now)))
		}
		return nil
	}
	return p.w.apply(s)
}

func (p *playback) launchRequest() LaunchRequest {
	b := reconcile.DefaultBackoff
	return LaunchRequest{Journal: p.journal, Profile: p.c.Setup.Profile, ProfileOverrides: p.c.Setup.ProfileOverrides,
		SDK: p.c.Setup.SDK, App: p.w.app,
		Config: LaunchConfig{Backoff: BackoffConfig{BaseMS: b.Base.Milliseconds(), CapMS: b.Cap.Milliseconds(), Jitter: b.Jitter}}}
}

// madeLaunch is what the engine did in a launch, in the transcripts' terms.
func madeLaunch(out Outcome, w *scripted, events int) LaunchExpect {
	e := LaunchExpect{Calls: append([]string{}, w.log...),
		Journal: JournalExpect{Events: append([]string{}, w.events[events:]...), Entry: w.entry.Summary()},
		Result:  out.Result, State: out.State, RetryAt: out.RetryAt, Interrupted: out.Interrupted,
		Divergence: out.Divergence, Error: out.Error}
	for _, p := range out.Passes {
		e.Passes = append(e.Passes, PassExpect{Discrepancy: p.Discrepancy, Plan: p.Plan, Applied: p.Applied})
	}
	return e
}

// normalLaunch makes empty and nil slices equal, times comparable, and
// actions their type and user: the transcripts print no more of them (how
// a token action was applied shows in the calls).
func normalLaunch(e LaunchExpect) LaunchExpect {
	e.Interrupted, e.Journal.Entry.LastAction = e.Interrupted.bare(), e.Journal.Entry.LastAction.bare()
	if e.Error != nil {
		re := *e.Error
		re.Action = re.Action.bare()
		e.Error = &re
	}
	if e.Calls == nil {
		e.Calls = []string{}
	}
	if e.Journal.Events == nil {
		e.Journal.Events = []string{}
	}
	passes := make([]PassExpect, 0, len(e.Passes))
	for _, p := range e.Passes {
		actions := make([]Action, 0, len(p.Plan.Actions))
		for _, a := range p.Plan.Actions {
			actions = append(actions, *a.bare())
		}
		p.Plan.Actions = actions
		applied := make([]StepResult, 0, len(p.Applied))
		for _, st := range p.Applied {
			st.Action = *st.Action.bare()
			applied = append(applied, st)
		}
		p.Applied = applied
		p.Plan.RetryAt = normalTime(p.Plan.RetryAt)
		passes = append(passes, p)
	}
	e.Passes = passes
	e.RetryAt = normalTime(e.RetryAt)
	return e
}

func normalTime(s *string) *string {
	if s == nil {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return s
	}
	return timeString(t)
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}

// WriteText prints a case's result as one line, and a failure's detail
// and replay command below it.
func WriteText(w io.Writer, r CaseResult) {
	fmt.Fprintf(w, "%s %s %s\n", strings.ToUpper(r.Status), r.Suite, r.Name)
	if r.Status == StatusPass {
		return
	}
	if r.Detail != "" {
		fmt.Fprint(w, indent(r.Detail))
	}
	if r.Replay != "" {
		fmt.Fprintf(w, "  replay: %s\n", r.Replay)
	}
}
