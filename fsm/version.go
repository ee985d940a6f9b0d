package fsm

import "strings"

// version is a parsed SDK version, major.minor.patch.
type version [3]int

// parseVersion reads "1.8.2" (a leading "v" is allowed). Anything else,
// pre-release suffixes included, is refused.
func parseVersion(s string) (version, bool) {
	// One pass, no allocation: an audit parses one per row.
	s = strings.TrimPrefix(s, "v")
	var v version
	part, digits := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 4 {
				return version{}, false
			}
			v[part] = v[part]*10 + int(c-'0')
			digits++
		case c == '.' && digits > 0 && part < 2:
			part, digits = part+1, 0
		default:
			return version{}, false
		}
	}
	if part != 2 || digits == 0 {
		return version{}, false
	}
	return v, true
}

func (v version) less(w version) bool {
	for i := range v {
		if v[i] != w[i] {
			return v[i] < w[i]
		}
	}
	return false
}

// versionRange is one row of the version table: the native SDK versions
// from..to (inclusive) of a platform behave as profile.
type versionRange struct {
	platform Platform
	from, to version
	profile  string
}

// versionTable maps native SDK versions to profiles. The boundaries are the
// git tags of reference §10.1; versions past the newest tag read (iOS 1.8.8,
// Android 5.0.2) and before the first modelled (iOS 1.0.0, whose gist files
// the model assumes, and Android 4.1.0, the first with identify) are not
// mapped: nobody has read them.
var versionTable = [...]versionRange{
	{IOS, version{1, 0, 0}, version{1, 3, 9999}, "ios-1.3"},
	{IOS, version{1, 4, 0}, version{1, 8, 1}, "ios-1.8.1"},         // §10.1: last Firebase tag 1.8.1
	{IOS, version{1, 8, 2}, version{1, 8, 8}, "ios-1.8"},           // §10.1: first /v1/token tag 1.8.2
	{Android, version{4, 1, 0}, version{4, 2, 0}, "android-4.2.0"}, // §10.1: 4.1.0 = 4.2.0 in auth code
	{Android, version{4, 2, 1}, version{4, 2, 2}, "android-4.2.2"}, // §10.1: /v1/token, broken error decoding
	{Android, version{4, 3, 0}, version{5, 0, 2}, "android-5.0"},   // §10.1: #203 fixed decoding in 4.3.0
}

// wrapperTable maps a wrapper on a platform, with the native SDK version it
// pins, to a profile (reference §10.10: vital-flutter HEAD pins VitalCore
// ~> 1.8.7 and Android 4.2.2).
var wrapperTable = [...]struct {
	wrapper Wrapper
	versionRange
}{
	{Flutter, versionRange{IOS, version{1, 8, 7}, version{1, 8, 8}, "flutter-ios"}},
	{Flutter, versionRange{Android, version{4, 2, 2}, version{4, 2, 2}, "flutter-android"}},
}

// ProfileFor returns the profile of the native SDK of platform at version
// ("1.8.2", "v5.0.2"): the version table of reference §10.1. It returns
// false for an unknown platform, a version that does not parse, and a
// version outside the modelled ranges (iOS 1.0.0–1.8.8, Android
// 4.1.0–5.0.2).
func ProfileFor(platform Platform, ver string) (Profile, bool) {
	v, ok := parseVersion(ver)
	if !ok {
		return Profile{}, false
	}
	for _, r := range versionTable {
		if r.platform == platform && !v.less(r.from) && !r.to.less(v) {
			return ParseProfile(r.profile)
		}
	}
	return Profile{}, false
}

// ProfileForWrapper returns the profile of an app built with wrapper on
// platform, whose bridge pins the native SDK at nativeVersion. Native and
// ReactNative give ProfileFor(platform, nativeVersion): React Native's
// bridges do not change the modelled behaviour. Flutter has profiles of its
// own (no identify, lower-cased user ID; reference §10.10) for the native
// versions vital-flutter pins (VitalCore 1.8.7–1.8.8, Android 4.2.2); other
// versions, like unknown wrappers, give false.
func ProfileForWrapper(wrapper Wrapper, platform Platform, nativeVersion string) (Profile, bool) {
	switch wrapper {
	case Native, ReactNative:
		return ProfileFor(platform, nativeVersion)
	}
	v, ok := parseVersion(nativeVersion)
	if !ok {
		return Profile{}, false
	}
	for _, r := range wrapperTable {
		if r.wrapper == wrapper && r.platform == platform && !v.less(r.from) && !r.to.less(v) {
			return ParseProfile(r.profile)
		}
	}
	return Profile{}, false
}
