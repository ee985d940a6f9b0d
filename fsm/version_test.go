package fsm

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestProfileFor checks the version table at every boundary of reference
// §10.1 and refuses what nobody has read.
func TestProfileFor(t *testing.T) {
	tests := []struct {
		platform Platform
		version  string
		want     string // "" for no profile
	}{
		{IOS, "0.11.2", ""},
		{IOS, "1.0.0", "ios-1.3"},
		{IOS, "1.3.2", "ios-1.3"},
		{IOS, "1.4.0", "ios-1.8.1"},
		{IOS, "v1.8.1", "ios-1.8.1"},
		{IOS, "1.8.2", "ios-1.8"},
		{IOS, "1.8.8", "ios-1.8"},
		{IOS, "1.8.9", ""},
		{IOS, "1.10.0", ""},
		{Android, "4.0.9", ""},
		{Android, "4.1.0", "android-4.2.0"},
		{Android, "4.2.0", "android-4.2.0"},
		{Android, "4.2.1", "android-4.2.2"},
		{Android, "4.2.2", "android-4.2.2"},
		{Android, "4.3.0", "android-5.0"},
		{Android, "4.3.2", "android-5.0"},
		{Android, "5.0.2", "android-5.0"},
		{Android, "5.0.3", ""},
		{Android, "4.2", ""},
		{Android, "4.2.x", ""},
		{Android, "4.2.2-rc1", ""},
		{Android, "", ""},
		{Android, "4..2", ""},
		{"windows", "1.8.2", ""},
	}
	for _, tt := range tests {
		p, ok := ProfileFor(tt.platform, tt.version)
		require.Equal(t, tt.want != "", ok, "%s %s", tt.platform, tt.version)
		require.Equal(t, tt.want, p.Name, "%s %s", tt.platform, tt.version)
		if ok {
			require.Equal(t, tt.platform, p.Platform)
			require.Equal(t, Native, p.Wrapper)
		}
	}
}

// TestProfileForWrapper: Flutter has profiles of its own for the native
// versions it pins; React Native uses the native table (§10.10).
func TestProfileForWrapper(t *testing.T) {
	tests := []struct {
		wrapper  Wrapper
		platform Platform
		version  string
		want     string
	}{
		{Flutter, IOS, "1.8.7", "flutter-ios"},
		{Flutter, IOS, "1.8.8", "flutter-ios"},
		{Flutter, IOS, "1.8.6", ""},
		{Flutter, Android, "4.2.2", "flutter-android"},
		{Flutter, Android, "5.0.2", ""},
		{Flutter, Android, "bad", ""},
		{ReactNative, Android, "4.2.2", "android-4.2.2"},
		{ReactNative, IOS, "1.8.8", "ios-1.8"},
		{Native, Android, "4.3.0", "android-5.0"},
		{"xamarin", IOS, "1.8.8", ""},
	}
	for _, tt := range tests {
		p, ok := ProfileForWrapper(tt.wrapper, tt.platform, tt.version)
		require.Equal(t, tt.want != "", ok, "%s %s %s", tt.wrapper, tt.platform, tt.version)
		require.Equal(t, tt.want, p.Name)
	}
}

// TestEveryProfileIsReachable: each profile is the answer of the version
// table for some version, so none is dead data.
func TestEveryProfileIsReachable(t *testing.T) {
	reach := map[string]bool{}
	for _, r := range versionTable {
		p, ok := ProfileFor(r.platform, versionString(r.from))
		require.True(t, ok)
		reach[p.Name] = true
	}
	for _, r := range wrapperTable {
		p, ok := ProfileForWrapper(r.wrapper, r.platform, versionString(r.from))
		require.True(t, ok)
		reach[p.Name] = true
	}
	for _, p := range Profiles() {
		require.True(t, reach[p.Name], p.Name)
	}
}

func versionString(v version) string {
	return itoa(v[0]) + "." + itoa(v[1]) + "." + itoa(v[2])
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// TestSplitProfileFacts: the split profiles differ from their neighbours
// only where §10.1 and §10.10 say.
func TestSplitProfileFacts(t *testing.T) {
	get := func(n string) Profile {
		p, ok := ParseProfile(n)
		require.True(t, ok, n)
		return p
	}
	ios181, ios18 := get("ios-1.8.1"), get("ios-1.8")
	require.True(t, ios181.LegacyTokenEndpoint)
	require.False(t, ios18.LegacyTokenEndpoint)
	same := ios181
	same.Name, same.Versions, same.LegacyTokenEndpoint = ios18.Name, ios18.Versions, ios18.LegacyTokenEndpoint
	require.Equal(t, ios18, same, "§10.1: iOS 1.4.0–1.8.1 and 1.8.2–1.8.8 differ only in the exchange protocol")

	a422, a50, a420 := get("android-4.2.2"), get("android-5.0"), get("android-4.2.0")
	require.False(t, a422.DetectsDeletion)
	require.True(t, a50.DetectsDeletion && a420.DetectsDeletion)
	same = a422
	same.Name, same.Versions, same.DetectsDeletion = a50.Name, a50.Versions, a50.DetectsDeletion
	require.Equal(t, a50, same, "§10.1: 4.2.1–4.2.2 differ from 4.3.0+ only in error decoding")
	require.True(t, a420.RecordWithoutRegion && a420.LegacyTokenEndpoint)
	require.False(t, a422.RecordWithoutRegion || a422.LegacyTokenEndpoint)

	fi, fa := get("flutter-ios"), get("flutter-android")
	for _, f := range []Profile{fi, fa} {
		require.Equal(t, Flutter, f.Wrapper)
		require.False(t, f.HasIdentify || f.IdentifyShortCircuits, "§10.10: Flutter has only signIn")
		require.True(t, f.LowerCaseUserID, "§10.10: core.dart lower-cases")
	}
	require.True(t, fi.SignInNeedsRelaunch)
	require.False(t, fa.DetectsDeletion, "§10.10: Flutter pins Android 4.2.2")

	// The transition table: deletion and revocation are never observed on a
	// profile that cannot read token errors.
	_, ok := Next(a422, Token, EventUserDeleted)
	require.False(t, ok)
	_, ok = Next(a422, Token, EventReauthRequired)
	require.False(t, ok)
	_, ok = Next(a50, Token, EventUserDeleted)
	require.True(t, ok)
}

func TestParseVersionStrict(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want version
		ok   bool
	}{
		{"1.8.2", version{1, 8, 2}, true},
		{"v5.0.2", version{5, 0, 2}, true},
		{"10.20.9999", version{10, 20, 9999}, true},
		{"1.8", version{}, false},
		{"1.8.2.1", version{}, false},
		{"1..2", version{}, false},
		{"1.8.", version{}, false},
		{".8.2", version{}, false},
		{"1.8.2-rc1", version{}, false},
		{"1.8.12345", version{}, false},
		{"", version{}, false},
		{"vv1.8.2", version{}, false},
		{"1.8.2 ", version{}, false},
	} {
		got, ok := parseVersion(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseVersion(%q) = %v, %v, want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func BenchmarkProfileFor(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ProfileFor(Android, "4.3.0"); !ok {
			b.Fatal("not mapped")
		}
	}
}
