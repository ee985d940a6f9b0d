package reconcile

import (
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
