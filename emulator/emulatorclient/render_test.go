package emulatorclient_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatorclient"
)

// WriteText prints each kind of answer, every value the emulator sent
// through quote.
func TestWriteText(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	user := emulator.UserOverview{UserID: "v-1\n", ClientUserID: "alice", Deleted: true,
		AccessTokens: emulator.TokenCounts{Valid: 1, Expired: 2}, RefreshSessions: map[string]int{"revoked": 1, "active": 2}}
	fault := emulator.FaultOverview{Route: "POST /v2/user/", Name: "create-user",
		Delays:   []emulator.DelayOverview{{Delay: "1s", Count: 2}},
		Outcomes: []emulator.OutcomeQueued{{Kind: "fail", Status: 503, Count: 1}, {Kind: "rate-limit", RetryAfter: "5s", Count: 3}}}
	tests := []struct {
		answer any
		want   string
	}{
		{emulatorclient.Health{Status: "ok", Time: at}, "\"ok\", emulator clock 2026-11-24T10:00:00Z\n"},
		{emulatorclient.Clock{Time: at, ClockOffset: "2h0m0s"}, "emulator clock 2026-11-24T10:00:00Z (advanced \"2h0m0s\" in all)\n"},
		{user, "USER ID  CLIENT USER ID  STATUS   ACCESS TOKENS       REFRESH SESSIONS\n" +
			"\"v-1\\n\"  \"alice\"         deleted  1 valid, 2 expired  \"active\" 2, \"revoked\" 1\n"},
		{fault, "\"create-user\" (\"POST /v2/user/\"): 2× delay \"1s\", 1× \"fail\" 503, 3× \"rate-limit\" retry after \"5s\"\n"},
		{[]emulator.FaultOverview{{Route: "GET /x", Name: "x"}}, "\"x\" (\"GET /x\"): nothing queued\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		require.NoError(t, emulatorclient.WriteText(&b, tt.answer, strconv.Quote))
		require.Equal(t, tt.want, b.String(), "%T", tt.answer)
	}

	var b strings.Builder
	user.UserID = "v-1"
	st := emulator.Overview{Time: at, TeamID: "team", Environment: "sandbox", Region: "us", ClockOffset: "0s",
		Users: []emulator.UserOverview{user}, Faults: []emulator.FaultOverview{fault}, TotalRequests: 7}
	require.NoError(t, emulatorclient.WriteText(&b, st, func(s string) string { return s }))
	require.Equal(t, "Clock:    2026-11-24T10:00:00Z (advanced 0s)\nTeam:     team (sandbox us)\nRequests: 7\n\n"+
		"USER ID  CLIENT USER ID  STATUS   ACCESS TOKENS       REFRESH SESSIONS\n"+
		"v-1      alice           deleted  1 valid, 2 expired  active 2, revoked 1\n"+
		"\n0 Sign-In Tokens minted\n\nQueued faults:\n"+
		"create-user (POST /v2/user/): 2× delay 1s, 1× fail 503, 3× rate-limit retry after 5s\n", b.String())

	require.Error(t, emulatorclient.WriteText(&b, 42, strconv.Quote))
}
