package audit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/reconcile"
)

// rowSDK is an SDK that reports what a row says it reported and refuses
// every call: the test reads the runner's first observation only.
type rowSDK struct{ r *Row }

func (s rowSDK) Status() fsm.Status    { return s.r.SDKStatus }
func (s rowSDK) CurrentUserID() string { return s.r.SDKCurrentUserID }
func (s rowSDK) Environment() (fsm.Environment, fsm.Region, bool) {
	return s.r.SDKEnvironment, s.r.SDKRegion, s.r.SDKEnvironment != "" || s.r.SDKRegion != ""
}
func (rowSDK) SignIn(context.Context, string) error { return errRefused }
func (rowSDK) SignOut(context.Context) error        { return errRefused }
func (rowSDK) IdentifyWithSignInToken(context.Context, string, string) error {
	return errRefused
}

var errRefused = errors.New("refused")

type refusingTokens struct{}

func (refusingTokens) SignInToken(context.Context, string) (string, string, error) {
	return "", "", errRefused
}
func (refusingTokens) ResolveVitalUser(context.Context, string) (string, error) {
	return "", errRefused
}

type oneEntry struct{ e reconcile.JournalEntry }

func (j *oneEntry) Load(context.Context) (reconcile.JournalEntry, error) { return j.e, nil }
func (j *oneEntry) Save(_ context.Context, e reconcile.JournalEntry, _ string) error {
	j.e = e
	return nil
}

// TestAuditObservesARowAsTheRunnerDoes: for a report row, the observation
// the audit plans from is the one the runner builds on the installation
// the row describes: its SDK reporting the row's status, user and
// environment, its app's session, its journal holding the row's journal
// columns and the backend's mapping as the Vital user it learned when it
// reported, at the report's time. One builder, so one plan.
func TestAuditObservesARowAsTheRunnerDoes(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	token := fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseSignInToken
	apiKey := fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseAPIKey
	signedIn := func(r Row) Row {
		r.AppSignedIn, r.AppUserID, r.AppEnvironment, r.AppRegion = true, "alice", fsm.Sandbox, fsm.US
		return r
	}
	rows := map[string]Row{
		"consistent": signedIn(Row{Profile: "android-5.0", AppVitalUserID: "v-alice", SDKStatus: token,
			SDKCurrentUserID: "v-alice", SDKEnvironment: fsm.Sandbox, SDKRegion: fsm.US, LastObserved: fsm.Token,
			MappedVitalUserID: "v-alice"}),
		"app does not know its Vital user": signedIn(Row{Profile: "ios-1.8", SDKStatus: token,
			SDKCurrentUserID: "V-ALICE", SDKEnvironment: fsm.Sandbox, SDKRegion: fsm.US, LastObserved: fsm.Token,
			MappedVitalUserID: "v-alice"}),
		"replaced user": signedIn(Row{Profile: "android-5.0", AppVitalUserID: "v-old", SDKStatus: fsm.FlagConfigured,
			LastObserved: fsm.Token, MappedVitalUserID: "v-new"}),
		"unmapped": signedIn(Row{Profile: "ios-1.3", SDKStatus: 0, LastObserved: fsm.SignedOut}),
		"another user's session": signedIn(Row{Profile: "android-4.2.0", AppVitalUserID: "v-alice", SDKStatus: token,
			SDKCurrentUserID: "v-bob", LastObserved: fsm.Token, MappedVitalUserID: "v-alice"}),
		"backing off": signedIn(Row{Profile: "android-4.2.2", SDKStatus: 0, LastObserved: fsm.SignedOut,
			LastError: reconcile.ErrNetwork, NextAttemptAt: at.Add(time.Minute), MappedVitalUserID: "v-alice"}),
		"api key": signedIn(Row{Profile: "ios-1.8", AppVitalUserID: "v-alice", SDKStatus: apiKey,
			SDKCurrentUserID: "V-ALICE", SDKEnvironment: fsm.Sandbox, SDKRegion: fsm.US, LastObserved: fsm.APIKey,
			MappedVitalUserID: "v-alice"}),
		"configured, environment reported": signedIn(Row{Profile: "flutter-android", SDKStatus: fsm.FlagConfigured,
			SDKEnvironment: fsm.Sandbox, SDKRegion: fsm.US, LastObserved: fsm.UserDeleted, MappedVitalUserID: "v-alice"}),
		"app signed out": {Profile: "ios-1.8.1", SDKStatus: token, SDKCurrentUserID: "V-ALICE", LastObserved: fsm.Token,
			LastError: reconcile.ErrNeedsReauthentication},
	}
	var a auditor // one for every row, as a worker reads row after row
	for name, r := range rows {
		t.Run(name, func(t *testing.T) {
			r.ReportedAt = at
			p, ok := fsm.ParseProfile(r.Profile)
			require.True(t, ok)
			a.read(&r, &p)
			audited := reconcile.Observe(&a.entry, &a.reading)
			require.NoError(t, audited.Validate())

			entry := reconcile.JournalEntry{LastObserved: r.LastObserved, LastError: r.LastError,
				NextAttemptAt: r.NextAttemptAt, LastResolvedAt: r.ReportedAt}
			if r.AppSignedIn {
				entry.AppUserID, entry.VitalUserID = r.AppUserID, r.MappedVitalUserID
			}
			app := reconcile.AppSession{SignedIn: r.AppSignedIn, AppUserID: r.AppUserID, VitalUserID: r.AppVitalUserID,
				Environment: r.AppEnvironment, Region: r.AppRegion}
			runner, err := reconcile.NewRunner(reconcile.Config{Profile: p, SDK: rowSDK{&r}, Tokens: refusingTokens{},
				Journal: &oneEntry{entry}, App: func() reconcile.AppSession { return app },
				Now: func() time.Time { return at }, Rand: func() float64 { return 0 }})
			require.NoError(t, err)
			out, _ := runner.Run(context.Background())
			require.NotEmpty(t, out.Passes)
			ran := out.First().Observation
			require.Equal(t, ran, audited)
			require.Equal(t, ran.Plan(), audited.Plan())
			require.False(t, strings.Contains(name, "consistent") && !audited.Plan().Empty(), "a consistent row plans nothing")
		})
	}
}
