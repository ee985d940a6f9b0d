package fsm

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"
)

// requireRoundTrip holds that every value of all parses back from its
// String, that no two share a name, and that parse refuses each of bad.
func requireRoundTrip[T interface {
	comparable
	String() string
}](t *testing.T, all []T, parse func(string) (T, bool), bad ...string) {
	t.Helper()
	seen := map[string]bool{}
	for _, v := range all {
		got, ok := parse(v.String())
		require.True(t, ok, "parse(%q)", v)
		require.Equal(t, v, got)
		require.False(t, seen[v.String()], "duplicate name %q", v)
		seen[v.String()] = true
	}
	for _, b := range bad {
		_, ok := parse(b)
		require.False(t, ok, "parse(%q) accepted", b)
	}
}

func TestStateRoundTrip(t *testing.T) {
	requireRoundTrip(t, States(), ParseState, "", "Token", "signed_out", "token ", "deleted")
	require.Len(t, States(), 6)
}

func TestEventRoundTrip(t *testing.T) {
	requireRoundTrip(t, Events(), ParseEvent, "sign_in")
}

func TestEnvironmentRegionRoundTrip(t *testing.T) {
	// Shorthands ("prd") belong to the token codec, not to persisted names.
	requireRoundTrip(t, Environments(), ParseEnvironment, "prd", "")
	requireRoundTrip(t, Regions(), ParseRegion, "US", "")
	for _, e := range Environments() {
		require.True(t, e.KnownOrNone(), e)
	}
	for _, r := range Regions() {
		require.True(t, r.KnownOrNone(), r)
	}
	require.True(t, Environment("").KnownOrNone())
	require.True(t, Region("").KnownOrNone())
	require.False(t, Environment("prd").KnownOrNone())
	require.False(t, Region("US").KnownOrNone())
}

func TestProfileRoundTrip(t *testing.T) {
	require.Equal(t, []string{"ios-1.3", "ios-1.8.1", "ios-1.8", "android-4.2.0", "android-4.2.2", "android-5.0",
		"flutter-ios", "flutter-android", "flutter-ios-1.8.1", "flutter-android-4.2.0",
		"rn-ios-1.3", "rn-5.2-ios-1.8.1", "rn-ios-1.8.1", "rn-ios-1.8", "rn-android-4.2.0", "rn-android-4.2.2", "rn-android-5.0",
		"android-4.2.1", "flutter-android-4.2.1", "rn-android-4.2.1"}, ProfileNames())
	requireRoundTrip(t, Profiles(), ParseProfile, "ios-2.0")
}

func TestProfileFacts(t *testing.T) {
	ios13, _ := ParseProfile("ios-1.3")
	ios18, _ := ParseProfile("ios-1.8")
	a420, _ := ParseProfile("android-4.2.0")
	a50, _ := ParseProfile("android-5.0")
	// §1.3: only iOS 1.4+ upper-cases the user ID.
	require.True(t, ios18.UpperCaseUserID)
	require.False(t, a50.UpperCaseUserID || a420.UpperCaseUserID || ios13.UpperCaseUserID)
	// §4: Android 4.2.1+ does not sign out on deletion.
	require.False(t, a50.AutoSignOutOnDeletion)
	require.True(t, ios13.AutoSignOutOnDeletion && ios18.AutoSignOutOnDeletion && a420.AutoSignOutOnDeletion)
	// §2.5: Android throws alreadySignedIn even for the same user; iOS 1.4+ does not.
	require.True(t, a50.SameUserSignInThrows && a420.SameUserSignInThrows && ios13.SameUserSignInThrows)
	require.False(t, ios18.SameUserSignInThrows)
	// §2.7: iOS 1.4+'s deprecated signIn does not persist the API-key migration.
	require.False(t, ios18.APIKeyMigrationPersists)
	// §1.2: only iOS 1.4+ needs a relaunch (or identify) after signIn.
	require.True(t, ios18.SignInNeedsRelaunch)
	require.False(t, ios13.SignInNeedsRelaunch || a420.SignInNeedsRelaunch || a50.SignInNeedsRelaunch)
	// §2.6: identify exists on iOS 1.4+ and Android 4.1+.
	require.False(t, ios13.HasIdentify)
	require.True(t, ios18.HasIdentify && a420.HasIdentify && a50.HasIdentify)
}

func TestStatusRoundTrip(t *testing.T) {
	for s := Status(0); s <= allFlags; s++ {
		got, err := ParseStatus(s.Names())
		require.NoError(t, err)
		require.Equal(t, s, got)
	}
	_, err := ParseStatus([]string{"configured", "signed_in"})
	require.ErrorContains(t, err, "status[1]")
	require.Equal(t, "{configured,signedIn,useSignInToken}", (FlagConfigured | FlagSignedIn | FlagUseSignInToken).String())
}

func TestClassify(t *testing.T) {
	a50, _ := ParseProfile("android-5.0")
	ios18, _ := ParseProfile("ios-1.8")
	tests := []struct {
		status Status
		last   State
		p      Profile
		want   State
	}{
		{0, "", a50, SignedOut},
		{FlagConfigured, "", a50, Configured},
		{FlagConfigured, Token, a50, UserDeleted},
		{FlagConfigured, ReauthRequired, a50, UserDeleted},
		{FlagConfigured, UserDeleted, a50, UserDeleted},
		{FlagConfigured, APIKey, a50, Configured},
		{FlagConfigured, Token, ios18, Configured},
		{FlagConfigured | FlagSignedIn | FlagUseAPIKey, "", ios18, APIKey},
		{FlagConfigured | FlagSignedIn | FlagUseSignInToken, Token, a50, Token},
		{FlagConfigured | FlagSignedIn | FlagUseSignInToken | FlagPendingReauthentication, Token, a50, ReauthRequired},
	}
	for _, tt := range tests {
		got, err := Classify(tt.status, tt.last, tt.p)
		require.NoError(t, err)
		require.Equal(t, tt.want, got, "Classify(%v, %q, %s)", tt.status, tt.last, tt.p)
	}
	for _, bad := range []Status{
		FlagSignedIn,
		FlagConfigured | FlagSignedIn,
		FlagConfigured | FlagUseAPIKey,
		FlagConfigured | FlagSignedIn | FlagUseAPIKey | FlagUseSignInToken,
		FlagConfigured | FlagSignedIn | FlagUseAPIKey | FlagPendingReauthentication,
		1 << 6,
	} {
		_, err := Classify(bad, "", a50)
		var se *StatusError
		require.True(t, errors.As(err, &se), "Classify(%v) = %v, want *StatusError", bad, err)
	}
	// §1.2: iOS 1.4+ never reports pendingReauthentication.
	_, err := Classify(FlagConfigured|FlagSignedIn|FlagUseSignInToken|FlagPendingReauthentication, Token, ios18)
	require.Error(t, err)
}

// Every state's status on every profile classifies back to the state, given
// the last observed state a reconciler would have persisted.
func TestStatusOfClassifyRoundTrip(t *testing.T) {
	for _, p := range Profiles() {
		for _, st := range States() {
			last := st
			if st == UserDeleted {
				last = Token
			}
			got, err := Classify(StatusOf(st, p), last, p)
			require.NoError(t, err)
			want := st
			switch {
			case st == UserDeleted && p.AutoSignOutOnDeletion:
				want = SignedOut // auto sign-out leaves {}
			case st == ReauthRequired && !p.ReportsPendingReauth:
				want = Token // iOS 1.4+ hides the pending flag
			}
			require.Equal(t, want, got, "%s on %s", st, p)
		}
	}
}

func TestMachineFollowsTable(t *testing.T) {
	ctx := context.Background()
	for _, p := range Profiles() {
		for _, st := range States() {
			for _, e := range Events() {
				m, err := NewMachine(p, st)
				require.NoError(t, err)
				want, ok := Next(p, st, e)
				require.Equal(t, ok, m.Can(e) || (ok && want == st), "%s: %s --%s-->", p, st, e)
				err = m.Fire(ctx, e)
				if !ok {
					require.ErrorIs(t, err, ErrNoTransition, "%s: %s --%s-->", p, st, e)
					require.Equal(t, st, m.State())
					continue
				}
				require.NoError(t, err)
				require.Equal(t, want, m.State(), "%s: %s --%s-->", p, st, e)
			}
		}
	}
}

func TestMachineCancelledContextDoesNotWedge(t *testing.T) {
	p, _ := ParseProfile("android-5.0")
	m, err := NewMachine(p, SignedOut)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, m.Fire(ctx, EventSignIn), context.Canceled)
	require.Equal(t, SignedOut, m.State())
	require.NoError(t, m.Fire(context.Background(), EventSignIn))
	require.Equal(t, Token, m.State())
}

func TestMachineAvailableSorted(t *testing.T) {
	p, _ := ParseProfile("ios-1.8")
	m, err := NewMachine(p, Token)
	require.NoError(t, err)
	require.Equal(t, []Event{EventReauthRequired, EventReauthenticate, EventSignIn, EventSignOut, EventUserDeleted}, m.Available())
	_, err = NewMachine(p, State("bogus"))
	require.ErrorIs(t, err, ErrUnknownState)
}

func TestProfileSpecificRows(t *testing.T) {
	a50, _ := ParseProfile("android-5.0")
	ios18, _ := ParseProfile("ios-1.8")
	_, ok := Next(a50, UserDeleted, EventAutoSignOut)
	require.False(t, ok, "android-5.0 keeps the SDK configured after deletion")
	_, ok = Next(ios18, UserDeleted, EventAutoSignOut)
	require.True(t, ok)
	_, ok = Next(a50, Token, EventSignIn)
	require.False(t, ok, "Android throws alreadySignedIn for the same user")
	got, ok := Next(ios18, Token, EventSignIn)
	require.True(t, ok)
	require.Equal(t, Token, got)
	_, ok = Next(ios18, Token, EventReauthRequired)
	require.True(t, ok, "the SDK still records pending reauthentication; only the status hides it")
}

// TestDiagrams checks the generated diagrams against testdata/diagrams, a
// datadriven file: run with -rewrite after changing the table, and review
// the diff.
func TestDiagrams(t *testing.T) {
	datadriven.RunTest(t, "testdata/diagrams", handleDiagram)
	_, err := Diagram(Format("svg"), nil)
	require.Error(t, err)
}

// handleDiagram runs one command of testdata/diagrams.
func handleDiagram(t *testing.T, d *datadriven.TestData) string {
	switch d.Cmd {
	case "_breakpoint":
		// This is a helper case to attach a debugger to when a problem needs
		// to be investigated in a longer test file. In such a case, add the
		// following stanza immediately before the interesting behavior
		// starts:
		//
		// _breakpoint
		// ----
		// ok
		//
		// and set a breakpoint on the `case` above.
		return "ok"
	case "diagram":
		// Example:
		//
		// diagram format=mermaid profile=android-5.0
		//
		// Prints the diagram in the format (mermaid or dot) for the whole
		// table, or for one profile's rows when profile is given.
		var format, profile string
		d.ScanArgs(t, "format", &format)
		d.MaybeScanArgs(t, "profile", &profile)
		var p *Profile
		if profile != "" {
			pr, ok := ParseProfile(profile)
			if !ok {
				d.Fatalf(t, "unknown profile %q", profile)
			}
			p = &pr
		}
		f, ok := ParseFormat(format)
		if !ok {
			d.Fatalf(t, "unknown format %q", format)
		}
		got, err := Diagram(f, p)
		require.NoError(t, err, d.Pos)
		return got
	default:
		d.Fatalf(t, "unknown command %q", d.Cmd)
		return ""
	}
}

// requireGenerated holds that the part of the page at path between the
// markers begin and end is want, which fix says how to regenerate.
func requireGenerated(t *testing.T, path, begin, end, want, fix string) {
	t.Helper()
	page, err := os.ReadFile(path)
	require.NoError(t, err)
	s := string(page)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	require.True(t, i >= 0 && j > i, "%s lacks its markers %q and %q", path, begin, end)
	require.Equal(t, want, s[i+len(begin):j], "%s is stale: %s", path, fix)
}

// TestGuideDiagram keeps the launch task guide's diagram generated from
// the table.
func TestGuideDiagram(t *testing.T) {
	want, err := Diagram(Mermaid, nil)
	require.NoError(t, err)
	requireGenerated(t, "../docs/guides/launch-task.md", "<!-- fsm:mermaid:begin -->\n```mermaid\n",
		"```\n<!-- fsm:mermaid:end -->", want, "paste the output of 'vitalsync fsm'")
}

// TestProfilesPage keeps the profile reference's table generated from the
// profile data.
func TestProfilesPage(t *testing.T) {
	requireGenerated(t, "../docs/reference/profiles.md", "<!-- fsm:profiles:begin -->\n", "<!-- fsm:profiles:end -->",
		ProfileTable(), "paste fsm.ProfileTable()")
}
