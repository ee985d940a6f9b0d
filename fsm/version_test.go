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
		{Android, "4.2.1", "android-4.2.1"},
		{Android, "4.2.2", "android-4.2.2"},
		{Android, "4.3.0", "android-5.0"},
		{Android, "4.3.2", "android-5.0"},
		{Android, "5.0.2", "android-5.0"},
		{Android, "5.0.3", ""},
		{Android, "5.0.4", ""},
		// Pre-releases whose auth code is their release's map by it; the
		// others, and those of unread releases, stay refused.
		{Android, "5.0.0-rc.1", "android-5.0"},
		{Android, "v5.0.0-beta.2", "android-5.0"},
		{Android, "4.2.0-beta.1", "android-4.2.0"},
		{IOS, "1.4.0-beta.3", "ios-1.8.1"},
		{IOS, "1.4.1-beta.2", "ios-1.8.1"},
		{IOS, "1.4.0-beta.1", ""}, // its JWT code differs from 1.4.0's
		{IOS, "1.9.0-beta.1", ""},
		{IOS, "5.0.0-rc.1", ""},
		{Android, "5.0.0-rc.2", ""},
		{Android, "5.0.2-", ""},
		{Android, "6.0.0-rc.1", ""}, // React Native's tag, not Android's
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

// TestProfileForWrapper: the native version alone decides the profile
// where every wrapper line that pins it has the same one.
func TestProfileForWrapper(t *testing.T) {
	tests := []struct {
		wrapper  Wrapper
		platform Platform
		version  string
		want     string
	}{
		{Flutter, IOS, "1.8.7", "flutter-ios"},
		{Flutter, IOS, "1.8.8", "flutter-ios"},
		{Flutter, IOS, "1.8.6", "flutter-ios"}, // Flutter 4.5.5–4.6.0
		{Flutter, IOS, "1.8.2", "flutter-ios"},
		{Flutter, IOS, "1.6.3", "flutter-ios-1.8.1"}, // Flutter 4.5.0–4.5.4
		{Flutter, IOS, "1.8.1", ""},                  // no Flutter line pins it
		{Flutter, Android, "4.2.2", "flutter-android"},
		{Flutter, Android, "4.2.1", "flutter-android-4.2.1"}, // Flutter 4.5.5
		{Flutter, Android, "4.1.4", "flutter-android-4.2.0"},
		{Flutter, Android, "4.2.0", ""},
		{Flutter, Android, "5.0.2", ""},
		{Flutter, Android, "bad", ""},
		{ReactNative, Android, "4.2.2", "rn-android-4.2.2"},
		{ReactNative, Android, "5.0.0-rc.1", "rn-android-5.0"},
		{ReactNative, Android, "4.0.2", ""}, // React Native below 5.3.0 pins an unmodelled Android
		{ReactNative, IOS, "1.8.8", "rn-ios-1.8"},
		{ReactNative, IOS, "1.5.0", "rn-5.2-ios-1.8.1"},
		{ReactNative, IOS, "1.6.0", ""}, // 5.2.3 (no identify) and 5.3.0 (identify) both pin ~> 1.6.0
		{Native, Android, "4.3.0", "android-5.0"},
		{"xamarin", IOS, "1.8.8", ""},
	}
	for _, tt := range tests {
		p, ok := ProfileForWrapper(tt.wrapper, tt.platform, tt.version)
		require.Equal(t, tt.want != "", ok, "%s %s %s", tt.wrapper, tt.platform, tt.version)
		require.Equal(t, tt.want, p.Name, "%s %s %s", tt.wrapper, tt.platform, tt.version)
	}
}

// TestProfileForApp: the wrapper table is keyed by the wrapper's version
// and the native version its pins allow.
func TestProfileForApp(t *testing.T) {
	tests := []struct {
		wrapper  Wrapper
		wversion string
		platform Platform
		version  string
		want     string
	}{
		// React Native below 5.3.0 has no identifyExternalUser.
		{ReactNative, "5.1.2", IOS, "1.4.6", "rn-5.2-ios-1.8.1"},
		{ReactNative, "5.2.0", IOS, "1.5.0", "rn-5.2-ios-1.8.1"},
		{ReactNative, "5.2.3", IOS, "1.6.0", "rn-5.2-ios-1.8.1"},
		{ReactNative, "5.3.0", IOS, "1.6.0", "rn-ios-1.8.1"},
		{ReactNative, "5.0.1", IOS, "1.2.11", "rn-ios-1.3"},
		{ReactNative, "5.1.0", IOS, "1.3.2", "rn-ios-1.3"},
		{ReactNative, "5.4.0", IOS, "1.8.1", "rn-ios-1.8.1"},
		{ReactNative, "5.4.0", IOS, "1.8.3", "rn-ios-1.8"},
		{ReactNative, "5.5.0", IOS, "1.8.8", "rn-ios-1.8"},
		{ReactNative, "6.0.0-rc.2", IOS, "1.8.6", "rn-ios-1.8"},
		{ReactNative, "5.3.1", Android, "4.1.0", "rn-android-4.2.0"},
		{ReactNative, "5.4.1", Android, "4.2.1", "rn-android-4.2.1"},
		{ReactNative, "5.4.2", Android, "4.2.2", "rn-android-4.2.2"},
		{ReactNative, "5.4.1", Android, "4.2.2", ""}, // 5.4.1 pins 4.2.1
		{ReactNative, "5.5.0", Android, "4.3.2", "rn-android-5.0"},
		{ReactNative, "6.0.0-rc.1", Android, "5.0.0-rc.1", "rn-android-5.0"},
		{ReactNative, "v6.0.0-rc.2", Android, "5.0.0-rc.1", "rn-android-5.0"},
		// Refused: pins that rule the native version out, unread versions.
		{ReactNative, "5.2.0", Android, "4.0.0", ""},
		{ReactNative, "5.2.0", Android, "4.2.2", ""},
		{ReactNative, "5.2.3", IOS, "1.8.8", ""},
		{ReactNative, "6.0.0", Android, "5.0.2", ""},
		{ReactNative, "6.0.0-rc.3", Android, "5.0.0-rc.1", ""},
		{ReactNative, "4.3.3", IOS, "1.2.11", ""},
		{ReactNative, "5.5.0", Android, "5.0.3", ""},
		{ReactNative, "", IOS, "1.8.8", ""},
		// Flutter: 4.5.0–4.5.4 on the Firebase exchange, 4.5.5+ on /v1/token.
		{Flutter, "4.5.0", Android, "4.1.1", "flutter-android-4.2.0"},
		{Flutter, "4.5.2", IOS, "1.6.2", "flutter-ios-1.8.1"},
		{Flutter, "4.5.4", IOS, "1.6.4", "flutter-ios-1.8.1"},
		{Flutter, "4.5.5", Android, "4.2.1", "flutter-android-4.2.1"},
		{Flutter, "4.5.5", IOS, "1.8.2", "flutter-ios"},
		{Flutter, "4.6.0", IOS, "1.8.6", "flutter-ios"},
		{Flutter, "4.6.1", Android, "4.2.2", "flutter-android"},
		{Flutter, "4.5.5", Android, "4.2.2", ""},
		{Flutter, "4.4.3", IOS, "1.4.5", ""},
		{Flutter, "4.6.2", IOS, "1.8.8", ""},
		{Flutter, "4.5.5", IOS, "1.9.0-beta.1", ""},
		// Native takes no wrapper version.
		{Native, "", IOS, "1.8.2", "ios-1.8"},
		{Native, "1.0.0", IOS, "1.8.2", ""},
		{"xamarin", "1.0.0", IOS, "1.8.8", ""},
	}
	for _, tt := range tests {
		p, ok := ProfileForApp(tt.wrapper, tt.wversion, tt.platform, tt.version)
		require.Equal(t, tt.want != "", ok, "%s %s %s %s", tt.wrapper, tt.wversion, tt.platform, tt.version)
		require.Equal(t, tt.want, p.Name, "%s %s %s %s", tt.wrapper, tt.wversion, tt.platform, tt.version)
		if ok {
			require.Equal(t, tt.wrapper, p.Wrapper)
			require.Equal(t, tt.platform, p.Platform)
		}
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
		p, ok := ProfileForApp(r.wrapper, versionString(r.wfrom), r.platform, versionString(r.from))
		require.True(t, ok, "%s %v %s", r.wrapper, r.wfrom, r.profile)
		require.Equal(t, r.profile, p.Name)
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

	// Android 4.1.0–4.2.1 crash on a 401's retry; 4.2.2 closes the response
	// first (706dc97): 4.2.1 and 4.2.2 differ in that alone.
	a421 := get("android-4.2.1")
	require.True(t, a421.UnauthorizedRetryCrashes && a420.UnauthorizedRetryCrashes)
	require.False(t, a422.UnauthorizedRetryCrashes || a50.UnauthorizedRetryCrashes)
	same = a421
	same.Name, same.Versions, same.UnauthorizedRetryCrashes = a422.Name, a422.Versions, a422.UnauthorizedRetryCrashes
	require.Equal(t, a422, same, "4.2.1 and 4.2.2 differ only in the 401 retry")
	for _, p := range Profiles() {
		if p.UnauthorizedRetryCrashes {
			require.Equal(t, Android, p.Platform, p.Name)
			require.True(t, p.RefreshesOnUnauthorized, p.Name)
		}
	}
	require.False(t, a422.RecordWithoutRegion || a422.LegacyTokenEndpoint)

	fi, fa := get("flutter-ios"), get("flutter-android")
	require.False(t, fa.UnauthorizedRetryCrashes, "Flutter 4.5.6+ pin 4.2.2")
	fa421 := get("flutter-android-4.2.1")
	same = fa421
	same.Name, same.Versions, same.UnauthorizedRetryCrashes = fa.Name, fa.Versions, fa.UnauthorizedRetryCrashes
	require.Equal(t, fa, same, "Flutter 4.5.5 differs from 4.5.6+ only in the 401 retry")
	for _, f := range []Profile{fi, fa} {
		require.Equal(t, Flutter, f.Wrapper)
		require.False(t, f.HasIdentify || f.IdentifyShortCircuits, "§10.10: Flutter has only signIn")
		require.True(t, f.LowerCaseUserID, "§10.10: core.dart lower-cases")
	}
	require.True(t, fi.SignInNeedsRelaunch)
	require.False(t, fa.DetectsDeletion, "§10.10: Flutter pins Android 4.2.2")

	// Flutter 4.5.0–4.5.4: the legacy native lines under Flutter's bridge.
	fil, fal := get("flutter-ios-1.8.1"), get("flutter-android-4.2.0")
	same = fil
	same.Name, same.Versions, same.LegacyTokenEndpoint = fi.Name, fi.Versions, fi.LegacyTokenEndpoint
	require.Equal(t, fi, same, "flutter-ios-1.8.1 differs from flutter-ios only in the exchange")
	require.True(t, fil.LegacyTokenEndpoint)
	require.True(t, fal.LegacyTokenEndpoint && fal.RecordWithoutRegion && fal.DetectsDeletion && fal.AutoSignOutOnDeletion)
	require.False(t, fal.HasIdentify || fal.IdentifyShortCircuits)
	require.True(t, fal.LowerCaseUserID && fal.StatusCreatesClient)

	// The transition table: deletion and revocation are never observed on a
	// profile that cannot read token errors.
	_, ok := Next(a422, Token, EventUserDeleted)
	require.False(t, ok)
	_, ok = Next(a422, Token, EventReauthRequired)
	require.False(t, ok)
	_, ok = Next(a50, Token, EventUserDeleted)
	require.True(t, ok)
}

// TestReactNativeProfiles: each React Native profile is its native line's
// facts plus the bridge's, and only below 5.3.0 lacks identify.
func TestReactNativeProfiles(t *testing.T) {
	base := map[string]string{
		"rn-ios-1.3": "ios-1.3", "rn-5.2-ios-1.8.1": "ios-1.8.1", "rn-ios-1.8.1": "ios-1.8.1", "rn-ios-1.8": "ios-1.8",
		"rn-android-4.2.0": "android-4.2.0", "rn-android-4.2.1": "android-4.2.1", "rn-android-4.2.2": "android-4.2.2", "rn-android-5.0": "android-5.0",
	}
	n := 0
	for _, rn := range Profiles() {
		if rn.Wrapper != ReactNative {
			continue
		}
		n++
		native, ok := ParseProfile(base[rn.Name])
		require.True(t, ok, rn.Name)
		require.False(t, rn.LowerCaseUserID, "%s: the bridge passes currentUserId through", rn.Name)
		require.True(t, rn.ErrorsByMessage, rn.Name)
		require.Equal(t, rn.Platform == Android, rn.StatusCreatesClient, rn.Name)
		require.Equal(t, rn.HasIdentify, rn.IdentifyWaitsUntimed, rn.Name)
		if rn.Platform == IOS {
			require.Equal(t, rnIOSStatusOrder, rn.StatusOrder, rn.Name)
		} else {
			require.Zero(t, rn.StatusOrder, rn.Name)
		}
		// Apart from the bridge's facts and (below 5.3.0) identify, it is the
		// native profile.
		same := rn
		same.Name, same.Versions, same.Wrapper = native.Name, native.Versions, native.Wrapper
		same.StatusOrder, same.StatusCreatesClient, same.IdentifyWaitsUntimed, same.ErrorsByMessage =
			native.StatusOrder, native.StatusCreatesClient, native.IdentifyWaitsUntimed, native.ErrorsByMessage
		if rn.Name == "rn-5.2-ios-1.8.1" {
			require.False(t, rn.HasIdentify || rn.IdentifyShortCircuits, "identify reached the bridge in 5.3.0")
			same.HasIdentify, same.IdentifyShortCircuits = native.HasIdentify, native.IdentifyShortCircuits
		}
		require.Equal(t, native, same, rn.Name)
	}
	require.Equal(t, len(base), n)

	// The order in which the app receives the flags.
	rnIOS, _ := ParseProfile("rn-ios-1.8")
	rnAndroid, _ := ParseProfile("rn-android-5.0")
	tok := FlagConfigured | FlagSignedIn | FlagUseSignInToken | FlagPendingReauthentication
	require.Equal(t, []string{"signedIn", "configured", "useSignInToken", "pendingReauthentication"}, rnIOS.StatusNames(tok))
	require.Equal(t, []string{"configured", "signedIn", "useSignInToken", "pendingReauthentication"}, rnAndroid.StatusNames(tok))
	require.Equal(t, []string{"signedIn", "configured", "useApiKey"}, rnIOS.StatusNames(FlagConfigured|FlagSignedIn|FlagUseAPIKey))
	require.Empty(t, rnIOS.StatusNames(0))

	// iOS 1.4+'s setUserId stops the app where it is not in API-key mode.
	for _, name := range []string{"ios-1.8.1", "ios-1.8", "flutter-ios", "rn-ios-1.8"} {
		p, _ := ParseProfile(name)
		require.True(t, p.SetUserIDCrashes, name)
	}
	ios13, _ := ParseProfile("ios-1.3")
	require.False(t, ios13.SetUserIDCrashes)
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
