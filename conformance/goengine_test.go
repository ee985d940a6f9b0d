package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// serve runs the Go engine on the given lines and returns its replies.
func serve(t *testing.T, opts EngineOptions, lines ...string) ([]message, error) {
	t.Helper()
	var out bytes.Buffer
	err := ServeEngine(context.Background(), strings.NewReader(strings.Join(lines, "\n")+"\n"), &out, opts)
	var replies []message
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l == "" {
			continue
		}
		var m message
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		replies = append(replies, m)
	}
	return replies, err
}

// The Go engine answers every command, refusing bad ones with an error
// reply and going on, and stops at input that is not a command.
func TestGoEngineCommands(t *testing.T) {
	j := filepath.Join(t.TempDir(), "j")
	replies, err := serve(t, EngineOptions{Version: "test"},
		`{"id":1,"cmd":"hello","protocol":1}`,
		`{"id":2,"cmd":"plan","observation_text":"{\"profile\":\"ios-9\"}"}`,
		`{"id":3,"cmd":"frobnicate"}`,
		`{"id":4,"cmd":"launch","journal":"`+j+`","profile":"ios-9","now":"2026-11-24T10:00:00Z"}`,
		`{"id":5,"cmd":"journal.put","journal":"`+j+`"}`,
		`{"id":6,"cmd":"record","journal":"`+j+`","sdk_error":"sdk-on-fire"}`,
		`{"id":7,"cmd":"journal.put","journal":"`+j+`","entry":{"last_observed":"flying"}}`,
		`{"id":8,"cmd":"journal.put","journal":"`+j+`","entry":{"last_observed":"token","app_user_id":"alice","attempts":2}}`,
		`{"id":9,"cmd":"journal.get","journal":"`+j+`"}`,
	)
	require.NoError(t, err)
	require.Len(t, replies, 9)
	var hello Hello
	require.NoError(t, json.Unmarshal(replies[0].Result, &hello))
	require.Equal(t, "vitalsync-go", hello.Name)
	require.Equal(t, "test", hello.Version)
	require.True(t, hello.Has(CapLaunch) && hello.Has(CapDecode))
	var pr PlanResult
	require.NoError(t, json.Unmarshal(replies[1].Result, &pr))
	require.Equal(t, &Invalid{Field: "profile"}, pr.Invalid)
	for i, want := range map[int]string{2: "unknown command", 3: "unknown profile", 4: "needs an entry",
		5: "unknown SDK error", 6: "unknown state"} {
		require.NotNil(t, replies[i].Error, "reply %d", i+1)
		require.Contains(t, replies[i].Error.Message, want, "reply %d", i+1)
		require.EqualValues(t, i+1, *replies[i].Reply)
	}
	var got JournalResult
	require.NoError(t, json.Unmarshal(replies[8].Result, &got))
	require.Equal(t, "token", got.Entry.LastObserved)
	require.Equal(t, 2, got.Entry.Attempts)

	// A launch whose calls find the harness gone ends the engine.
	_, err = serve(t, EngineOptions{}, `{"id":1,"cmd":"launch","journal":"`+j+`","profile":"android-5.0","app":{"signed_in":false}}`)
	require.ErrorContains(t, err, "the harness is gone")
	_, err = serve(t, EngineOptions{}, `{"answer":1,"result":{}}`)
	require.ErrorIs(t, err, ErrProtocol)
	_, err = serve(t, EngineOptions{}, `not json`)
	require.ErrorIs(t, err, ErrProtocol)
	_, err = serve(t, EngineOptions{Mutation: "no-such-mutation"})
	require.Error(t, err)
}
