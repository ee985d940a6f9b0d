package issuer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/memory"
	"github.com/vitalsync/vitalsync/fsm"
	"github.com/vitalsync/vitalsync/issuer"
	"github.com/vitalsync/vitalsync/reconcile"
)

var reportSecret = []byte("report-test-session-secret-0123")

// reportServer serves an issuer whose reports go to a memory store, over
// loopback; the team API is never called by the report route.
func reportServer(t *testing.T, reports issuer.ReportStore) (url string, session func(app string) string) {
	t.Helper()
	auth, err := issuer.NewHMACAuthenticator(reportSecret, nil)
	require.NoError(t, err)
	h, err := issuer.New(issuer.Config{Team: junction.NewClient("http://127.0.0.1:1", "sk_us_unused"),
		Store: memory.NewUserMap(nil), Reports: reports, Auth: auth})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL, func(app string) string {
		s, err := issuer.NewSession(reportSecret, app, time.Hour, time.Now())
		require.NoError(t, err)
		return s
	}
}

func aliceReport(at time.Time) issuer.Report {
	return issuer.Report{InstallationID: "phone-1", Platform: fsm.IOS, SDKVersion: "1.8.5", Profile: "ios-1.8",
		AppSignedIn: true, AppUserID: "alice", AppVitalUserID: "v-1", AppEnvironment: fsm.Sandbox, AppRegion: fsm.US,
		SDKStatus: fsm.FlagConfigured | fsm.FlagSignedIn | fsm.FlagUseSignInToken, SDKCurrentUserID: "V-1",
		SDKEnvironment: fsm.Sandbox, SDKRegion: fsm.US, LastObserved: fsm.Token, LastError: reconcile.ErrNetwork,
		NextAttemptAt: at.Add(time.Minute), ReportedAt: at}
}

func TestReportJSONRoundTrip(t *testing.T) {
	r := aliceReport(time.Date(2026, 11, 20, 8, 0, 0, 5, time.UTC))
	data, err := json.Marshal(r)
	require.NoError(t, err)
	got, err := issuer.DecodeReport(data)
	require.NoError(t, err)
	require.Equal(t, r, got)
	// An unmapped version is valid and has no profile.
	r.SDKVersion, r.Profile = "2.0.0", ""
	data, err = json.Marshal(r)
	require.NoError(t, err)
	got, err = issuer.DecodeReport(data)
	require.NoError(t, err)
	require.Equal(t, "", got.Profile)
}

func TestDecodeReportNamesTheField(t *testing.T) {
	base := `"installation_id":"p","platform":"ios","sdk_version":"1.8.5","app_signed_in":false,"sdk_status":[],"reported_at":"2026-11-20T00:00:00Z"`
	// with is the base report with key set to value (replaced in place, or
	// added at the end).
	with := func(key, value string) string {
		fields := strings.Split(base, `,"`)
		for i, f := range fields {
			if strings.HasPrefix(strings.TrimPrefix(f, `"`), key+`"`) {
				fields[i] = strings.TrimPrefix(key, `"`) + `":` + value
				if i == 0 {
					fields[i] = `"` + fields[i]
				}
				return `{` + strings.Join(fields, `,"`) + `}`
			}
		}
		return `{` + base + `,"` + key + `":` + value + `}`
	}
	for body, field := range map[string]string{
		with("colour", `"red"`):                    "colour",
		`{"platform":"ios"}`:                       "installation_id",
		with("sdk_status", `["signedIn","bogus"]`): "sdk_status[1]",
		with("app_environment", `"staging"`):       "app_environment",
		with("last_error", `"oops"`):               "last_error",
		with("next_attempt_at", `"soon"`):          "next_attempt_at",
		with("app_signed_in", `"yes"`):             "app_signed_in",
		with("profile", `"android-5.0"`):           "profile",
		with("app_user_id", `"alice"`):             "app_user_id",
		with("platform", `"web"`):                  "platform",
		`{` + base + `} {}`:                        "(document)",
		`[1]`:                                      "(document)",
		`{` + strings.Replace(base, `"installation_id"`, `"INSTALLATION_ID"`, 1) + `}`: "INSTALLATION_ID",
		`{` + base + `,"Platform":"android"}`:                                          "Platform",
		`{` + base + `,"platform":"android"}`:                                          "platform",
		`{` + base + `,"reported_at":"2026-11-21T00:00:00Z"}`:                          "reported_at",
	} {
		_, err := issuer.DecodeReport([]byte(body))
		var fe *issuer.ReportFieldError
		require.ErrorAs(t, err, &fe, body)
		require.ErrorIs(t, err, issuer.ErrBadReport)
		require.Equal(t, field, fe.Field, body)
	}
	_, err := issuer.DecodeReport([]byte(`{` + base + `}`))
	require.NoError(t, err)
}

func TestReportRoute(t *testing.T) {
	ctx := context.Background()
	store := &memory.Reports{}
	url, session := reportServer(t, store)
	alice := issuer.NewClient(url, session("alice"))
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

	stored, err := alice.SendReport(ctx, aliceReport(at))
	require.NoError(t, err)
	require.True(t, stored)
	// Reports are ordered by the issuer's clock: one the device dated
	// earlier, received later, is the installation's report.
	stored, err = alice.SendReport(ctx, aliceReport(at.Add(-time.Hour)))
	require.NoError(t, err)
	require.True(t, stored, "a report received later was not stored")
	stored, err = alice.SendReport(ctx, aliceReport(at))
	require.NoError(t, err)
	require.True(t, stored)
	got, ok, err := store.LatestReport(ctx, "phone-1")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, aliceReport(at), got)

	// Another user's report: 403, nothing stored.
	bob := issuer.NewClient(url, session("bob"))
	r := aliceReport(at.Add(time.Hour))
	_, err = bob.SendReport(ctx, r)
	require.ErrorIs(t, err, issuer.ErrForbidden)
	got, _, _ = store.LatestReport(ctx, "phone-1")
	require.Equal(t, at, got.ReportedAt)

	// No session: 401.
	_, err = issuer.NewClient(url, "").SendReport(ctx, r)
	require.ErrorIs(t, err, issuer.ErrUnauthorized)

	post := func(body string, method string) (int, string) {
		req, err := http.NewRequest(method, url+issuer.PathInstallationReport, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+session("alice"))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	code, msg := post(`{"installation_id":"p","platform":"ios"}`, http.MethodPost)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, msg, "sdk_version")
	code, _ = post(`{"installation_id":"`+strings.Repeat("x", 5000)+`"}`, http.MethodPost)
	require.Equal(t, http.StatusBadRequest, code, "the body is bounded")
	code, _ = post("", http.MethodGet)
	require.Equal(t, http.StatusMethodNotAllowed, code)

	// Without a report store the route does not exist.
	url2, session2 := reportServer(t, nil)
	_, err = issuer.NewClient(url2, session2("alice")).SendReport(ctx, aliceReport(at))
	require.ErrorIs(t, err, issuer.ErrNotFound)

	// An invalid report is not sent.
	bad := aliceReport(at)
	bad.InstallationID = ""
	_, err = alice.SendReport(ctx, bad)
	require.ErrorIs(t, err, issuer.ErrBadRequest)
	require.ErrorIs(t, err, issuer.ErrBadReport)
}

// TestReportRouteBindsInstallations replays issue 19's first finding over
// HTTP: bob, signed in, reports for alice's installation as himself, dated
// 2200 or a day ahead, and is refused; alice's later reports are stored;
// a user switch on alice's phone rebinds it only with the phone's key; a
// restored copy of the phone's database is refused by its sequence.
func TestReportRouteBindsInstallations(t *testing.T) {
	ctx := context.Background()
	store := &memory.Reports{}
	url, session := reportServer(t, store)
	alice := issuer.NewClient(url, session("alice"))
	bob := issuer.NewClient(url, session("bob"))
	now := time.Now().UTC().Truncate(time.Second)
	key := []byte(strings.Repeat("k", issuer.InstallationKeySize))
	otherKey := []byte(strings.Repeat("o", issuer.InstallationKeySize))

	stored, err := alice.SendReportFrom(ctx, aliceReport(now.Add(-time.Minute)), key, 1)
	require.NoError(t, err)
	require.True(t, stored)

	asBob := func(at time.Time) issuer.Report {
		r := aliceReport(at)
		r.AppUserID, r.AppVitalUserID = "bob", "v-bob"
		return r
	}
	raw := func(body string, hdr ...string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, url+issuer.PathInstallationReport, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+session("bob"))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var eb struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		return resp.StatusCode, eb.Error
	}
	// The client refuses to send 2200; the issuer refuses it too.
	code, ecode := raw(strings.Replace(mustJSON(t, asBob(now)), now.Format(time.RFC3339), "2200-01-01T00:00:00Z", 1))
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, issuer.CodeTimeOutOfRange, ecode)
	var ie *issuer.Error
	_, err = bob.SendReport(ctx, asBob(now.Add(24*time.Hour)))
	require.ErrorAs(t, err, &ie)
	require.Equal(t, issuer.CodeFutureReport, ie.Code)
	for _, k := range [][]byte{nil, otherKey} {
		_, err = bob.SendReportFrom(ctx, asBob(now), k, 2)
		require.ErrorIs(t, err, issuer.ErrInstallationBound)
		require.ErrorAs(t, err, &ie)
		require.Equal(t, http.StatusForbidden, ie.Status)
		require.Equal(t, issuer.CodeInstallationBound, ie.Code)
	}
	got, _, err := store.LatestReport(ctx, "phone-1")
	require.NoError(t, err)
	require.Equal(t, "alice", got.AppUserID)

	// Alice's next report is stored: nothing froze her row.
	stored, err = alice.SendReportFrom(ctx, aliceReport(now), key, 2)
	require.NoError(t, err)
	require.True(t, stored)

	// A report a few seconds ahead of the issuer's clock is fine.
	stored, err = alice.SendReportFrom(ctx, aliceReport(now.Add(time.Minute)), key, 3)
	require.NoError(t, err)
	require.True(t, stored)

	// Bob signs in on alice's phone: its key rebinds it.
	stored, err = bob.SendReportFrom(ctx, asBob(now), key, 4)
	require.NoError(t, err)
	require.True(t, stored)
	b, _, err := store.Binding(ctx, "phone-1")
	require.NoError(t, err)
	require.Equal(t, "bob", b.AppUserID)
	hist, err := store.BindingHistory(ctx, "phone-1")
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.Equal(t, "alice", hist[0].AppUserID)

	// A restored copy of the phone's database, at sequence 2.
	_, err = bob.SendReportFrom(ctx, asBob(now), key, 3)
	require.ErrorIs(t, err, issuer.ErrStaleSequence)
	require.ErrorAs(t, err, &ie)
	require.Equal(t, http.StatusConflict, ie.Status)
	require.Equal(t, issuer.CodeStaleSequence, ie.Code)
	require.ErrorIs(t, err, issuer.ErrConflict)

	// Malformed proofs are 400s.
	for name, hdr := range map[string][2]string{
		"short key":     {issuer.HeaderInstallationKey, "a2V5"},
		"padded key":    {issuer.HeaderInstallationKey, issuer.EncodeInstallationKey(key) + "="},
		"zero sequence": {issuer.HeaderReportSequence, "0"},
		"signed":        {issuer.HeaderReportSequence, "+5"},
		"leading zero":  {issuer.HeaderReportSequence, "05"},
		"huge":          {issuer.HeaderReportSequence, "99999999999999999999"},
	} {
		code, _ := raw(mustJSON(t, asBob(now)), hdr[0], hdr[1])
		require.Equal(t, http.StatusBadRequest, code, name)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return string(data)
}

// A store failure is a 500 that names nothing of the report.
type failingReports struct{}

func (failingReports) SubmitReport(context.Context, issuer.Submission) (bool, error) {
	return false, errors.New("disk on fire")
}

func TestReportStoreFailure(t *testing.T) {
	url, session := reportServer(t, failingReports{})
	_, err := issuer.NewClient(url, session("alice")).SendReport(context.Background(), aliceReport(time.Now()))
	require.ErrorIs(t, err, issuer.ErrServer)
}

// FuzzDecodeReport: a report that decodes is valid and survives a round
// trip; anything else is a *ReportFieldError.
func FuzzDecodeReport(f *testing.F) {
	data, _ := json.Marshal(aliceReport(time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)))
	f.Add(data)
	f.Add([]byte(`{"installation_id":"p","platform":"android","sdk_version":"4.3.0","app_signed_in":false,"sdk_status":[],"reported_at":"2026-11-20T00:00:00Z"}`))
	f.Add([]byte(`{"sdk_status":["configured","signedIn"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := issuer.DecodeReport(data)
		if err != nil {
			var fe *issuer.ReportFieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *ReportFieldError", err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("decoded an invalid report: %v", err)
		}
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := issuer.DecodeReport(again)
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if !back.ReportedAt.Equal(r.ReportedAt) || back.InstallationID != r.InstallationID || back.SDKStatus != r.SDKStatus {
			t.Fatalf("round trip changed %+v into %+v", r, back)
		}
	})
}

// A store that is down (its error matches ErrStoreUnavailable) is a 503
// store_unavailable with Retry-After, which the client reads as transient;
// any other failure stays a 500.
type downReports struct{}

func (downReports) SubmitReport(context.Context, issuer.Submission) (bool, error) {
	return false, fmt.Errorf("connect: %w", issuer.ErrStoreUnavailable)
}

func TestReportStoreOutageIs503(t *testing.T) {
	url, session := reportServer(t, downReports{})
	_, err := issuer.NewClient(url, session("alice")).SendReport(context.Background(), aliceReport(time.Now()))
	var ie *issuer.Error
	require.ErrorAs(t, err, &ie)
	require.Equal(t, http.StatusServiceUnavailable, ie.Status)
	require.Equal(t, issuer.CodeStoreUnavailable, ie.Code)
	require.Equal(t, issuer.StoreRetryAfter, ie.RetryAfter)
	require.True(t, ie.Transient())
	require.ErrorIs(t, err, issuer.ErrUnavailable)
}
