package audit

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseRecordUnixNanos(t *testing.T) {
	at := time.Date(2026, 11, 19, 10, 0, 0, 5, time.UTC)
	rec := func(next, reported string) string {
		return strings.Join([]string{"i1", "android", "5.0.2", "", "1", "u", "v", "", "",
			"configured,signedIn,useSignInToken", "v", "", "", "token", "network", next, reported, "v"}, string(RecordSep))
	}
	ns := strconv.FormatInt(at.UnixNano(), 10)
	var (
		raw [numColumns]string
		row Row
	)
	parseRecord(rec("", ns), 7, true, &raw, &row)
	require.NoError(t, row.Err)
	require.Equal(t, at, row.ReportedAt)
	require.True(t, row.NextAttemptAt.IsZero())
	require.True(t, row.AppSignedIn)
	require.Equal(t, int64(7), row.Line)

	parseRecord(rec(ns, ns), 8, true, &raw, &row)
	require.NoError(t, row.Err)
	require.Equal(t, at, row.NextAttemptAt)

	for _, bad := range [][2]string{{"", ""}, {"", "2026-11-19T10:00:00Z"}, {"soon", "1"}, {"", "99999999999999999999"}} {
		parseRecord(rec(bad[0], bad[1]), 9, true, &raw, &row)
		require.ErrorIs(t, row.Err, ErrInvalidRow, "%q", bad)
	}
	parseRecord("i9"+string(RecordSep)+"android", 10, true, &raw, &row)
	require.ErrorIs(t, row.Err, ErrInvalidRow)
	require.Equal(t, "i9", row.InstallationID)
}
