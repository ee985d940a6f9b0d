package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/fsm"
	"pgregory.net/rapid"
)

// Fact scenarios (testdata/observe/*.txt) hold Observe's rules: "observe"
// builds a journal entry and a reading from its arguments, prints the facts
// Observe derives, and the plan the planner makes from them. Journal
// scenarios (testdata/journal/*.txt) hold the journal's transitions: each
// command applies one to the file's current entry and prints the event and
// the entry it leads to. Run with -rewrite to regenerate the output.

func TestObserveScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata/observe", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "observe" {
				d.Fatalf(t, "unknown command %q", d.Cmd)
			}
			e, r := readingFromArgs(t, d)
			o := Observe(&e, &r)
			require.NoError(t, o.Validate(), d.Pos)
			return describeFacts(&o) + describePlan(&o)
		})
	})
}

// readingFromArgs builds a journal entry and a reading from scenario keys:
//
//	profile=P app=signed-out|U|U:V app-env=E/R status=-|flag,… user=ID
//	sdk-env=E/R journal=U|U:V last=STATE error=SDKERR attempts=N next=+DUR
//	resolved=-DUR last-action=ACTION answer=U:V answered=-DUR unused
//	protected-data=unavailable
func readingFromArgs(t *testing.T, d *datadriven.TestData) (JournalEntry, Reading) {
	var e JournalEntry
	r := Reading{Now: scenarioNow}
	for _, a := range d.CmdArgs {
		k, v := a.Key, strings.Join(a.Vals, ",")
		switch k {
		case "profile":
			p, ok := fsm.ParseProfile(v)
			require.True(t, ok, "%s: profile %q", d.Pos, v)
			r.Profile = p
		case "app":
			if v != "signed-out" {
				r.App.SignedIn = true
				r.App.AppUserID, r.App.VitalUserID, _ = strings.Cut(v, ":")
			}
		case "app-env":
			env, region, _ := strings.Cut(v, "/")
			r.App.Environment, r.App.Region = fsm.Environment(env), fsm.Region(region)
		case "status":
			if v != "-" {
				s, err := fsm.ParseStatus(strings.Split(v, ","))
				require.NoError(t, err, d.Pos)
				r.SDK.Status = s
			}
		case "user":
			r.SDK.CurrentUserID = v
		case "sdk-env":
			env, region, _ := strings.Cut(v, "/")
			r.SDK.Environment, r.SDK.Region = fsm.Environment(env), fsm.Region(region)
		case "journal":
			e.AppUserID, e.VitalUserID, _ = strings.Cut(v, ":")
		case "last", "error", "attempts", "next", "resolved":
			entryArg(t, d, &e, k, v)
		case "last-action":
			act, ok := ParseAction(v)
			require.True(t, ok, "%s: action %q", d.Pos, v)
			r.LastAction = act
		case "answer":
			r.Answer.AppUser, r.Answer.VitalUser, _ = strings.Cut(v, ":")
			if r.Answer.At.IsZero() {
				r.Answer.At = scenarioNow
			}
		case "answered":
			r.Answer.At = scenarioNow.Add(scenarioDuration(t, d, v))
		case "unused":
			r.Answer.Unused = true
		case "protected-data":
			r.ProtectedDataUnavailable = v == "unavailable"
		default:
			d.Fatalf(t, "unknown key %q", k)
		}
	}
	return e, r
}

// entryArg sets the journal entry field that key k names (last=STATE
// error=SDKERR attempts=N next=+DUR resolved=-DUR) from v.
func entryArg(t *testing.T, d *datadriven.TestData, e *JournalEntry, k, v string) {
	switch k {
	case "last":
		e.LastObserved = fsm.State(v)
	case "error":
		e.LastError = SDKError(v)
	case "attempts":
		n, err := strconv.Atoi(v)
		require.NoError(t, err, d.Pos)
		e.Attempts = n
	case "next":
		e.NextAttemptAt = scenarioNow.Add(scenarioDuration(t, d, v))
	case "resolved":
		e.LastResolvedAt = scenarioNow.Add(scenarioDuration(t, d, v))
	default:
		d.Fatalf(t, "unknown journal key %q", k)
	}
}

func scenarioDuration(t *testing.T, d *datadriven.TestData, v string) time.Duration {
	dur, err := time.ParseDuration(strings.TrimPrefix(v, "+"))
	require.NoError(t, err, d.Pos)
	return dur
}

// describeFacts prints the facts Observe derives.
func describeFacts(o *Observation) string {
	app := "signed-out"
	if o.App.SignedIn {
		app = o.App.AppUserID + " vital=" + orNone(o.App.VitalUserID)
	}
	return fmt.Sprintf("app: %s\nissued: %s\nunused-token: %s\nsession: %s\nresolved: %s\n", app,
		orNone(o.IssuedVitalUserID), orNone(o.UnusedToken), orNone(o.SessionAppUserID), scenarioTime(o.LastResolvedAt))
}

func scenarioTime(at time.Time) string {
	if at.IsZero() {
		return "-"
	}
	return at.Sub(scenarioNow).String()
}

func TestJournalScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata/journal", func(t *testing.T, path string) {
		var cur, loaded JournalEntry
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			var event string
			write := true
			switch d.Cmd {
			case "entry":
				// Example: entry app-user=alice vital=v-alice last=token [in-flight=A]
				//          [last-action=A error=E attempts=N next=+DUR resolved=-DUR]
				cur = entryFromArgs(t, d)
				loaded = cur
			case "resume":
				// Example: resume
				cur = cur.resumed()
			case "start":
				// Example: start action=sign-in:v-bob app=bob
				var app string
				a := scanAction(t, d)
				d.MaybeScanArgs(t, "app", &app)
				cur, event = cur.started(a, app)
			case "end":
				// Example: end action=sign-in app=bob result=ok|stale|cancelled|transient|terminal
				//          [error=E retry-after=DUR draw=R] [answer=U:V]
				var app, result, sdkErr, retryAfter, answer string
				draw := 0.5
				a := scanAction(t, d)
				d.MaybeScanArgs(t, "app", &app)
				d.ScanArgs(t, "result", &result)
				d.MaybeScanArgs(t, "error", &sdkErr)
				d.MaybeScanArgs(t, "retry-after", &retryAfter)
				d.MaybeScanArgs(t, "draw", &draw)
				d.MaybeScanArgs(t, "answer", &answer)
				end := actionEnd{sdkErr: SDKError(sdkErr), at: scenarioNow, draw: draw}
				if result != "ok" {
					end.class = ErrorClass(result)
				}
				if result == "transient" && end.sdkErr == NoSDKError {
					end.sdkErr = ErrNetwork
				}
				if retryAfter != "" {
					end.retryAfter = scenarioDuration(t, d, retryAfter)
				}
				var ans Answer
				if answer != "" {
					ans.AppUser, ans.VitalUser, _ = strings.Cut(answer, ":")
					ans.At = scenarioNow
				}
				cur, event = cur.ended(a, end, ans, app, DefaultBackoff)
			case "terminal":
				// Example: terminal
				cur, event = cur.terminal()
			case "settle":
				// Example: settle state=token [app=U:V] [issued=V] [sdk-env=E/R] [acted]
				var st, app, issued, env string
				d.ScanArgs(t, "state", &st)
				d.MaybeScanArgs(t, "app", &app)
				d.MaybeScanArgs(t, "issued", &issued)
				d.MaybeScanArgs(t, "sdk-env", &env)
				var o Observation
				if app != "" {
					o.App.SignedIn = true
					o.App.AppUserID, o.App.VitalUserID, _ = strings.Cut(app, ":")
					o.IssuedVitalUserID = issued
				}
				e, r, _ := strings.Cut(env, "/")
				o.SDK.Environment, o.SDK.Region = fsm.Environment(e), fsm.Region(r)
				cur, event, write = cur.settled(loaded, &o, fsm.State(st), d.HasArg("acted"))
			case "record":
				// Example: record error=needsReauthentication
				var name string
				d.ScanArgs(t, "error", &name)
				cur, event, write = cur.recorded(SDKError(name))
			default:
				d.Fatalf(t, "unknown command %q", d.Cmd)
			}
			if event != "" {
				require.NoError(t, cur.Validate(event), d.Pos)
			}
			var b strings.Builder
			if event != "" {
				fmt.Fprintf(&b, "event: %s\n", event)
			}
			if !write {
				b.WriteString("(nothing written)\n")
			}
			b.WriteString(describeEntry(cur))
			return b.String()
		})
	})
}

func scanAction(t *testing.T, d *datadriven.TestData) Action {
	var s string
	d.ScanArgs(t, "action", &s)
	a, ok := ParseAction(s)
	require.True(t, ok && a != nil, "%s: action %q", d.Pos, s)
	return a
}

func entryFromArgs(t *testing.T, d *datadriven.TestData) JournalEntry {
	var e JournalEntry
	for _, a := range d.CmdArgs {
		k, v := a.Key, strings.Join(a.Vals, ",")
		switch k {
		case "app-user":
			e.AppUserID = v
		case "vital":
			e.VitalUserID = v
		case "in-flight", "last-action":
			act, ok := ParseAction(v)
			require.True(t, ok, "%s: action %q", d.Pos, v)
			if k == "in-flight" {
				e.InFlight = act
			} else {
				e.LastAction = act
			}
		case "last", "error", "attempts", "next", "resolved":
			entryArg(t, d, &e, k, v)
		case "env":
			env, region, _ := strings.Cut(v, "/")
			e.Environment, e.Region = fsm.Environment(env), fsm.Region(region)
		default:
			d.Fatalf(t, "unknown key %q", k)
		}
	}
	return e
}

// describeEntry prints every field of an entry, times relative to the
// scenarios' now.
func describeEntry(e JournalEntry) string {
	env := "-"
	if e.Environment != "" || e.Region != "" {
		env = string(e.Environment) + "/" + string(e.Region)
	}
	return fmt.Sprintf("→ app-user=%s vital=%s last=%s env=%s in-flight=%s last-action=%s error=%s attempts=%d next=%s resolved=%s\n",
		orNone(e.AppUserID), orNone(e.VitalUserID), orNone(string(e.LastObserved)), env, orNone(FormatAction(e.InFlight)),
		orNone(FormatAction(e.LastAction)), orNone(string(e.LastError)), e.Attempts, scenarioTime(e.NextAttemptAt),
		scenarioTime(e.LastResolvedAt))
}

// TestSameUserIsEqualFold: the planner's user ID comparison is
// strings.EqualFold's, on UUIDs in either case and on any string.
func TestSameUserIsEqualFold(t *testing.T) {
	for _, tc := range [][2]string{
		{"3f0c1a52-8d2e-4b7a-9c1d-5e6f7a8b9c01", "3F0C1A52-8D2E-4B7A-9C1D-5E6F7A8B9C01"},
		{"3f0c1a52-8d2e-4b7a-9c1d-5e6f7a8b9c01", "3f0c1a52-8d2e-4b7a-9c1d-5e6f7a8b9c02"},
		{"", ""}, {"a", ""}, {"[", "{"}, {"@", "`"}, {"k", "\u212a"}, {"straße", "STRASSE"}, {"ǅ", "ǆ"},
		{"user-\u00e9", "USER-\u00c9"}, {"ab\xff", "AB\xff"}, {"a\xffb", "A\xfeB"},
	} {
		require.Equal(t, strings.EqualFold(tc[0], tc[1]), SameUser(tc[0], tc[1]), "SameUser(%q, %q)", tc[0], tc[1])
		require.Equal(t, strings.EqualFold(tc[1], tc[0]), SameUser(tc[1], tc[0]), "SameUser(%q, %q)", tc[1], tc[0])
	}
	rapid.Check(t, func(t *rapid.T) {
		a := rapid.StringMatching(`[a-zA-Z0-9\-\[\]@_{}\x60\x{212a}\x{c9}\x{e9}]{0,8}`).Draw(t, "a")
		b := rapid.StringMatching(`[a-zA-Z0-9\-\[\]@_{}\x60\x{212a}\x{c9}\x{e9}]{0,8}`).Draw(t, "b")
		if rapid.Bool().Draw(t, "fold") {
			b = strings.ToUpper(a)
		}
		require.Equal(t, strings.EqualFold(a, b), SameUser(a, b), "SameUser(%q, %q)", a, b)
	})
}

// Scenario files (testdata/plan/*.txt) are cockroachdb/datadriven files.
// Commands: "plan" builds an observation from its arguments and prints the
// classification and the plan; "decode" reads a JSON observation from the
// input and prints its plan or the invalid field. Run with -rewrite to
// regenerate the expected output.

var scenarioNow = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func TestScenarios(t *testing.T) {
	total := 0
	profilesSeen := map[string]bool{}
	datadriven.Walk(t, "testdata/plan", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			total++
			return runScenario(t, d, profilesSeen)
		})
	})
	require.GreaterOrEqual(t, total, 40, "the scenario files hold at least 40 cases")
	for _, p := range fsm.ProfileNames() {
		require.True(t, profilesSeen[p], "no scenario covers profile %s", p)
	}
}

func runScenario(t *testing.T, d *datadriven.TestData, seen map[string]bool) string {
	switch d.Cmd {
	case "plan":
		// Example: plan profile=ios-1.8 app=alice:v-1 status=configured
		o, err := observationFromArgs(d.CmdArgs)
		require.NoError(t, err, d.Pos)
		require.NoError(t, o.Validate(), d.Pos)
		seen[o.Profile.Name] = true
		return describePlan(&o)
	case "decode":
		// Example: decode
		// {"profile":"ios-1.8", …}
		o, err := ParseObservation([]byte(d.Input))
		if err != nil {
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "%s: %v is not a *FieldError", d.Pos, err)
			require.ErrorIs(t, err, ErrInvalidObservation)
			return "invalid: " + fe.Field + "\n"
		}
		seen[o.Profile.Name] = true
		return describePlan(&o)
	case "_breakpoint":
		// Example: _breakpoint (stop here under a debugger)
		return ""
	}
	d.Fatalf(t, "unknown command %q", d.Cmd)
	return ""
}

func describePlan(o *Observation) string {
	p := o.Plan()
	js, _ := p.MarshalJSON()
	return fmt.Sprintf("observed: %s\nclass: %s\nplan: %s\njson: %s\n", p.Observed, p.Discrepancy, p, js)
}

// observationFromArgs builds an observation from a plan directive's keys
// (ScenarioObservation documents them); a (v1,v2) list is read as "v1,v2".
func observationFromArgs(args []datadriven.CmdArg) (Observation, error) {
	return ScenarioObservation(scenarioNow, func(yield func(string, string) bool) {
		for _, a := range args {
			if !yield(a.Key, strings.Join(a.Vals, ",")) {
				return
			}
		}
	})
}

// Runner transcripts (testdata/runner/*.txt) drive the Runner against a
// scripted SDK and token source, and print the exact calls it made, the
// journal events it wrote, each pass's plan and what it applied, and the
// outcome: the order is the contract. Run with -rewrite to regenerate.
func TestRunnerTranscripts(t *testing.T) {
	datadriven.Walk(t, "testdata/runner", func(t *testing.T, path string) {
		var h *transcript
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "new" && h == nil {
				d.Fatalf(t, "start the file with new")
			}
			if d.Cmd == "new" {
				h = newTranscript(t, d)
				return ""
			}
			return h.handle(t, d)
		})
	})
}

// transcript is one installation under a scripted SDK and token source.
type transcript struct {
	*harness
	calls []string
}

func newTranscript(t *testing.T, d *datadriven.TestData) *transcript {
	// Example: new profile=ios-1.8 [identify | initialize | protected-data] [deletion-undetectable]
	var profile string
	d.ScanArgs(t, "profile", &profile)
	h := &transcript{harness: newHarness(t, profile, d.HasArg("identify"))}
	h.sdk.log = &h.calls
	h.tokens.users = map[string]string{"alice": "v-alice", "bob": "v-bob", "carol": "v-carol"}
	var sdk SDK
	switch {
	case d.HasArg("initialize"):
		sdk = initializingSDK{h.sdk}
	case d.HasArg("protected-data"):
		sdk = protectedSDK{h.sdk}
	}
	p := h.runnerProfile(d.HasArg("identify"))
	if d.HasArg("deletion-undetectable") {
		p.DetectsDeletion = false
	}
	if sdk != nil || !p.DetectsDeletion {
		if sdk == nil {
			sdk = h.sdk
		}
		h.newRunner(t, p, sdk)
	}
	return h
}

func (h *transcript) handle(t *testing.T, d *datadriven.TestData) string {
	switch d.Cmd {
	case "app":
		// Example: app user=alice [vital=v-alice]
		// Example: app signed-out
		if d.HasArg("signed-out") {
			h.app = AppSession{}
			return ""
		}
		var user, vital string
		d.ScanArgs(t, "user", &user)
		d.MaybeScanArgs(t, "vital", &vital)
		h.signInApp(user)
		h.app.VitalUserID = vital
		return ""
	case "backend":
		// Example: backend alice=v-alice-2 (the issuer maps alice anew)
		for _, a := range d.CmdArgs {
			h.tokens.users[a.Key] = a.Vals[0]
		}
		return ""
	case "sdk":
		// Example: sdk state=api-key user=v-alice [ext=alice] [hidden] [fail=invalidSignInToken,…]
		var st, user, ext string
		d.MaybeScanArgs(t, "state", &st)
		d.MaybeScanArgs(t, "user", &user)
		d.MaybeScanArgs(t, "ext", &ext)
		if d.HasArg("fail") {
			var names []string
			d.ScanArgs(t, "fail", &names)
			for _, n := range names {
				h.sdk.errs = append(h.sdk.errs, SDKError(n))
			}
		}
		if st != "" {
			h.sdk.st, h.sdk.user, h.sdk.env, h.sdk.region = fsm.State(st), user, "", ""
			if fsm.State(st).SignedIn() {
				h.sdk.env, h.sdk.region = fsm.Sandbox, fsm.US
			}
		}
		h.sdk.ext = ext
		h.sdk.hidden = d.HasArg("hidden")
		h.sdk.needsInit = d.HasArg("uninitialized")
		h.sdk.initialised = false
		h.sdk.locked = d.HasArg("locked")
		return ""
	case "tokens":
		// Example: tokens fail=transient [after=5m]
		// Example: tokens fail=forbidden
		var fail, after string
		d.ScanArgs(t, "fail", &fail)
		d.MaybeScanArgs(t, "after", &after)
		switch fail {
		case "transient":
			dur, _ := time.ParseDuration(after)
			h.tokens.errs = append(h.tokens.errs, transientErr{msg: "503 from the issuer", after: dur})
		default:
			h.tokens.errs = append(h.tokens.errs, errors.New(fail))
		}
		return ""
	case "journal":
		// Example: journal last=token [in-flight=sign-in:v-alice] [error=needsReauthentication]
		//          [app-user=bob vital=v-bob] (the app's user by default)
		var last, inFlight, lastErr, vital string
		appUser := h.app.AppUserID
		d.MaybeScanArgs(t, "last", &last)
		d.MaybeScanArgs(t, "in-flight", &inFlight)
		d.MaybeScanArgs(t, "error", &lastErr)
		d.MaybeScanArgs(t, "app-user", &appUser)
		d.MaybeScanArgs(t, "vital", &vital)
		a, ok := ParseAction(inFlight)
		require.True(t, ok, inFlight)
		h.journal.e = JournalEntry{LastObserved: fsm.State(last), InFlight: a, LastError: SDKError(lastErr),
			AppUserID: appUser, VitalUserID: vital}
		return ""
	case "record":
		// Example: record error=needsReauthentication
		var name string
		d.ScanArgs(t, "error", &name)
		n := len(h.journal.events)
		require.NoError(t, h.runner.RecordSDKError(context.Background(), fmt.Errorf("getAccessToken: %w", SDKError(name))))
		return h.flushJournal(n)
	case "advance":
		// Example: advance 5m
		dur, err := time.ParseDuration(d.CmdArgs[0].Key)
		require.NoError(t, err)
		h.now = h.now.Add(dur)
		return ""
	case "launch":
		// Example: launch
		return h.launch(t)
	case "_breakpoint":
		// Example: _breakpoint (stop here under a debugger)
		return ""
	}
	d.Fatalf(t, "unknown command %q", d.Cmd)
	return ""
}

// launch runs one launch and prints its transcript.
func (h *transcript) launch(t *testing.T) string {
	h.calls = h.calls[:0]
	events := len(h.journal.events)
	out, err := h.runner.Run(context.Background())
	require.NoError(t, out.CheckApplied())
	var b strings.Builder
	b.WriteString("calls:\n")
	for _, c := range h.calls {
		b.WriteString("  " + c + "\n")
	}
	b.WriteString(h.flushJournal(events))
	b.WriteString("passes:\n")
	for i, p := range out.Passes {
		fmt.Fprintf(&b, "  %d: plan %s [%s]\n", i+1, p.Plan, p.Plan.Discrepancy)
		for _, st := range p.Applied {
			if st.Err != nil {
				fmt.Fprintf(&b, "     %s failed: %s (%s)\n", st.Action, st.Class, orNone(string(st.SDKError)))
			} else {
				fmt.Fprintf(&b, "     %s ok\n", st.Action)
			}
		}
	}
	fmt.Fprintf(&b, "result: %s, state %s", out.Result, out.State)
	if !out.RetryAt.IsZero() {
		fmt.Fprintf(&b, ", retry in %s", out.RetryAt.Sub(h.now))
	}
	if out.Interrupted != nil {
		fmt.Fprintf(&b, ", interrupted %s", out.Interrupted)
	}
	if out.Divergence != nil {
		fmt.Fprintf(&b, ", diverged: %s", out.Divergence)
	}
	b.WriteString("\n")
	if err != nil {
		var re *RunError
		require.ErrorAs(t, err, &re)
		fmt.Fprintf(&b, "error: %s %s\n", re.Class, actionString(re.Action))
	}
	return b.String()
}

// flushJournal prints the journal events written since the n-th, and the
// entry they left.
func (h *transcript) flushJournal(n int) string {
	var b strings.Builder
	b.WriteString("journal:\n")
	for _, e := range h.journal.events[n:] {
		b.WriteString("  " + e + "\n")
	}
	e := h.journal.e
	fmt.Fprintf(&b, "  → last=%s vital=%s last-action=%s error=%s attempts=%d\n", orNone(string(e.LastObserved)),
		orNone(e.VitalUserID), orNone(FormatAction(e.LastAction)), orNone(string(e.LastError)), e.Attempts)
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
