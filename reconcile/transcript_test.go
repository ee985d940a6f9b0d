package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/fsm"
)

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
