package reconcile

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vitalsync/vitalsync/fsm"
)

const readmeObservation = `{"profile":"android-5.0","app":{"signed_in":true,"app_user_id":"u-1","vital_user_id":"6c1a8f2e-0d4b-4f6e-9a51-3b7e2c9d8f10",
"environment":"sandbox","region":"us"},"sdk":{"status":["configured","signedIn","useSignInToken"],
"current_user_id":"6c1a8f2e-0d4b-4f6e-9a51-3b7e2c9d8f10","environment":"sandbox","region":"us"},"last_observed":"token",
"next_attempt_at":null,"now":"2026-11-24T10:00:00Z"}`

func TestDecodeReadmeObservation(t *testing.T) {
	o, err := ParseObservation([]byte(readmeObservation))
	require.NoError(t, err)
	require.Equal(t, "android-5.0", o.Profile.Name)
	require.True(t, o.App.SignedIn)
	require.Equal(t, fsm.Sandbox, o.SDK.Environment)
	require.Equal(t, fsm.FlagConfigured|fsm.FlagSignedIn|fsm.FlagUseSignInToken, o.SDK.Status)
	require.Equal(t, time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC), o.Now)
	require.True(t, o.NextAttemptAt.IsZero())
	require.True(t, o.Plan().Empty())
}

func TestObservationJSONRoundTrip(t *testing.T) {
	o, err := ParseObservation([]byte(readmeObservation))
	require.NoError(t, err)
	o.NextAttemptAt = o.Now.Add(90 * time.Second)
	o.LastError = ErrNetwork
	o.AllowAPIKey = true
	o.LastAction = SignIn{VitalUser: "v-1", Identify: true, Reuse: true}
	o.IssuedVitalUserID, o.UnusedToken = "v-2", "v-2"
	data, err := json.Marshal(o)
	require.NoError(t, err)
	back, err := ParseObservation(data)
	require.NoError(t, err)
	require.Equal(t, o, back)
}

func TestPlanJSON(t *testing.T) {
	p := Plan{Actions: []Action{SignOut{}, SignIn{VitalUser: "v-2"}, Migrate{VitalUser: "v-3"},
		Reauthenticate{VitalUser: "v-4"}, Resolve{AppUser: "u-5"}}}
	data, err := json.Marshal(p)
	require.NoError(t, err)
	require.JSONEq(t, `{"actions":[{"type":"sign-out"},{"type":"sign-in","vital_user_id":"v-2"},
		{"type":"migrate","vital_user_id":"v-3"},{"type":"reauthenticate","vital_user_id":"v-4"},
		{"type":"resolve","app_user_id":"u-5"}],"retry_at":null}`, string(data))
	var back Plan
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, p.Actions, back.Actions)

	// How each token action is applied round-trips too.
	how := Plan{Actions: []Action{SignIn{VitalUser: "v-2", Identify: true, Reuse: true}, Migrate{VitalUser: "v-3", Identify: true},
		Reauthenticate{VitalUser: "v-4", Reuse: true}}}
	data, err = json.Marshal(how)
	require.NoError(t, err)
	require.JSONEq(t, `{"actions":[{"type":"sign-in","vital_user_id":"v-2","sdk_call":"identifyExternalUser","token":"unused"},
		{"type":"migrate","vital_user_id":"v-3","sdk_call":"identifyExternalUser"},
		{"type":"reauthenticate","vital_user_id":"v-4","token":"unused"}],"retry_at":null}`, string(data))
	back = Plan{}
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, how.Actions, back.Actions)

	empty, err := json.Marshal(Plan{})
	require.NoError(t, err)
	require.JSONEq(t, `{"actions":[],"retry_at":null}`, string(empty))

	wait := Plan{RetryAt: time.Date(2026, 11, 24, 10, 5, 0, 0, time.UTC)}
	data, err = json.Marshal(wait)
	require.NoError(t, err)
	require.JSONEq(t, `{"actions":[],"retry_at":"2026-11-24T10:05:00Z"}`, string(data))

	var bad Plan
	err = json.Unmarshal([]byte(`{"actions":[{"type":"sign-in"},{"type":"reboot"}]}`), &bad)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "actions[1].type", fe.Field)
}

func TestActionStrings(t *testing.T) {
	tests := []struct {
		a    Action
		want string
	}{
		{SignOut{}, "sign-out"},
		{SignIn{VitalUser: "v"}, "sign-in(v)"},
		{SignIn{}, "sign-in(from token source)"},
		{Migrate{VitalUser: "v"}, "migrate(v)"},
		{Reauthenticate{VitalUser: "v"}, "reauthenticate(v)"},
		{Resolve{AppUser: "u"}, "resolve(app user u)"},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.a, got, tt.want)
		}
		typ, ok := ParseActionType(string(tt.a.Type()))
		require.True(t, ok)
		require.Equal(t, tt.a.Type(), typ)
	}
	_, ok := ParseActionType("reboot")
	require.False(t, ok)
}

func TestDecodeObservationLimits(t *testing.T) {
	huge := `{"profile":"android-5.0","app":{"signed_in":false},"sdk":{"status":[]},"now":"2026-11-24T10:00:00Z","x":"` +
		strings.Repeat("a", maxObservationBytes) + `"}`
	_, err := DecodeObservation(strings.NewReader(huge))
	require.ErrorIs(t, err, ErrInvalidObservation)
	_, err = DecodeObservation(strings.NewReader(""))
	require.ErrorIs(t, err, ErrInvalidObservation)
	_, err = DecodeObservation(strings.NewReader(`[]`))
	require.ErrorIs(t, err, ErrInvalidObservation)
	_, err = DecodeObservation(strings.NewReader(`{"profile":"android-5.0","app":null,"sdk":{"status":[]},"now":"2026-11-24T10:00:00Z"}`))
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "app", fe.Field)
}

// FuzzDecodeObservation: the decoder never panics; whatever it accepts is a
// valid observation that plans without panicking, and survives a JSON round
// trip unchanged.
func FuzzDecodeObservation(f *testing.F) {
	f.Add([]byte(readmeObservation))
	f.Add([]byte(`{"profile":"ios-1.8","app":{"signed_in":false},"sdk":{"status":["configured"]},"now":"2026-11-24T10:00:00Z"}`))
	f.Add([]byte(`{"profile":"android-5.0","app":{"signed_in":true,"app_user_id":"u"},"sdk":{"status":["configured","signedIn","useApiKey"],"current_user_id":"X","environment":"production","region":"eu"},"last_error":"alreadySignedIn","next_attempt_at":"2026-11-24T10:00:01Z","now":"2026-11-24T10:00:00Z","allow_api_key":true}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := DecodeObservation(bytes.NewReader(data))
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidObservation)
			return
		}
		require.NoError(t, o.Validate())
		p := o.Plan()
		require.NotEqual(t, Invalid, p.Discrepancy)
		enc, err := json.Marshal(o)
		require.NoError(t, err)
		back, err := ParseObservation(enc)
		require.NoError(t, err)
		require.True(t, back.Now.Equal(o.Now) && back.NextAttemptAt.Equal(o.NextAttemptAt))
		back.Now, back.NextAttemptAt = o.Now, o.NextAttemptAt
		require.Equal(t, o, back)
		require.Equal(t, p, back.Plan())
	})
}

func TestCheckJSONKeys(t *testing.T) {
	schema := map[string][]string{"": {"a", "b"}, "b": {"c"}}
	for _, tc := range []struct {
		doc, field string
	}{
		{`{"a":1,"b":{"c":2}}`, ""},
		{`{"A":1}`, "A"},
		{`{"a":1,"a":2}`, "a"},
		{`{"b":{"c":1,"c":2}}`, "b.c"},
		{`{"b":{"C":1}}`, "b.C"},
		{`{"b":{"d":1}}`, "b.d"},
		{`{"a":[{"x":1,"x":2}]}`, "a[0].x"},
		{`{"a":`, ""}, // syntax: left to the decoder
	} {
		err := checkJSONKeys([]byte(tc.doc), schema)
		if tc.field == "" {
			require.NoError(t, err, tc.doc)
			continue
		}
		var fe *FieldError
		require.ErrorAs(t, err, &fe, tc.doc)
		require.Equal(t, tc.field, fe.Field, tc.doc)
	}
}
