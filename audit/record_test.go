package audit

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/fsm"
)

func TestParseRecordUnixNanos(t *testing.T) {
	at := time.Date(2026, 11, 19, 10, 0, 0, 5, time.UTC)
	rec := func(next, reported string) string {
		return strings.Join([]string{"i1", "android", "5.0.2", "", "1", "u", "v", "", "",
			"configured,signedIn,useSignInToken", "v", "", "", "token", "network", next, reported, "v"}, string(RecordSep))
	}
	ns := strconv.FormatInt(at.UnixNano(), 10)
	var row Row
	parseRecord(rec("", ns), 7, true, &row)
	require.NoError(t, row.Err)
	require.Equal(t, at, row.ReportedAt)
	require.True(t, row.NextAttemptAt.IsZero())
	require.True(t, row.AppSignedIn)
	require.Equal(t, int64(7), row.Line)

	parseRecord(rec(ns, ns), 8, true, &row)
	require.NoError(t, row.Err)
	require.Equal(t, at, row.NextAttemptAt)

	for _, bad := range [][2]string{{"", ""}, {"", "2026-11-19T10:00:00Z"}, {"soon", "1"}, {"", "99999999999999999999"}} {
		parseRecord(rec(bad[0], bad[1]), 9, true, &row)
		require.ErrorIs(t, row.Err, ErrInvalidRow, "%q", bad)
	}
	parseRecord("i9"+string(RecordSep)+"android", 10, true, &row)
	require.ErrorIs(t, row.Err, ErrInvalidRow)
	require.Equal(t, "i9", row.InstallationID)
}

// The profile cache answers as fsm does, whatever the order and however
// many distinct keys pass through it, and keeps no row's memory.
func TestProfileCache(t *testing.T) {
	var c profileCache
	keys := [][3]string{
		{"ios-1.8", "", ""}, {"", "ios", "1.8.5"}, {"", "android", "5.0.2"}, {"", "android", "4.2.1"},
		{"nope", "", ""}, {"", "ios", "0.1.0"}, {"", "web", "1.0.0"}, {"android-5.0", "ios", "1.3.0"},
		{"", "ios", "1.3.2"}, {"", "android", "4.2.0"}, {"flutter-ios", "", ""}, {"", "", ""},
	}
	for round := range 3 {
		for i := range keys {
			k := keys[(i*7+round)%len(keys)]
			// The row's fields point into a block that is reused.
			buf := []byte(k[0] + k[1] + k[2])
			a, b := len(k[0]), len(k[0])+len(k[1])
			got, gotOK := c.lookup(bstr(buf[:a]), bstr(buf[a:b]), bstr(buf[b:]))
			var want fsm.Profile
			var wantOK bool
			if k[0] != "" {
				want, wantOK = fsm.ParseProfile(k[0])
			} else {
				want, wantOK = fsm.ProfileFor(fsm.Platform(k[1]), k[2])
			}
			require.Equal(t, wantOK, gotOK, "%v", k)
			require.Equal(t, want.Name, got.Name, "%v", k)
			for i := range buf {
				buf[i] = 0xff
			}
			for _, e := range c.entries {
				require.NotContains(t, e.name+e.platform+e.version, "\xff", "the cache kept a row's memory")
			}
		}
	}
}

// cleanText answers as the rune-by-rune check (cleanUnicode, itself checked
// on known strings), for every byte at every offset of ASCII text of every
// length around a word, and for random strings.
func TestCleanTextMatchesRunes(t *testing.T) {
	for s, want := range map[string]bool{"ünïcode-ID~ ": true, "": true, "ID-\u00a0x": true,
		"ID-\x1f": false, "ID-\x7f": false, "ID-\u0080": false, "ID-\u0085": false, "ID-\u009f": false,
		"ID-\xc3": false, "ID-\xed\xa0\x80": false} {
		require.Equal(t, want, cleanUnicode(s), "%q", s)
	}
	for n := 0; n <= 24; n++ {
		base := []byte(strings.Repeat("aZ9-~ !", 4)[:n])
		require.True(t, cleanText(string(base)))
		for i := range base {
			for c := range 256 {
				b := append([]byte(nil), base...)
				b[i] = byte(c)
				require.Equal(t, cleanUnicode(string(b)), cleanText(string(b)), "%q", b)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			switch rng.IntN(4) {
			case 0:
				b[i] = byte(rng.IntN(256))
			default:
				b[i] = byte(0x20 + rng.IntN(0x5f))
			}
		}
		require.Equal(t, cleanUnicode(string(b)), cleanText(string(b)), "%q", b)
	}
	for _, s := range []string{"ünïcode-ID-12345678", "ID-12345678-\u0085", "ID-12345678-\u00a0x", "ABCDEFGH\xc3"} {
		require.Equal(t, cleanUnicode(s), cleanText(s), "%q", s)
	}
}

// With more keys than slots, every lookup still answers as fsm does.
func TestProfileCacheManyKeys(t *testing.T) {
	var c profileCache
	for round := range 2 {
		for i := range 2000 {
			platform := []string{"ios", "android"}[i%2]
			version := strconv.Itoa(i%13) + "." + strconv.Itoa(i%7) + "." + strconv.Itoa((i+round)%5)
			want, wantOK := fsm.ProfileFor(fsm.Platform(platform), version)
			got, gotOK := c.lookup("", platform, version)
			require.Equal(t, wantOK, gotOK, "%s %s", platform, version)
			require.Equal(t, want, got, "%s %s", platform, version)
		}
	}
}
