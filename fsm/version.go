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

// preRelease is a pre-release tag whose auth code is that of a release that
// was read: the two tags differ in no line of the auth code but the version
// constant (docs/reference/profiles.md cites each diff).
type preRelease struct {
	platform Platform // or "" with wrapper set
	wrapper  Wrapper
	tag      string  // "5.0.0-rc.1"
	as       version // the release whose row applies
}

// preReleases are the pre-releases that map to a release's profile. Others,
// and every pre-release of a release nobody has read (iOS 1.9.0-beta.1),
// are refused.
var preReleases = [...]preRelease{
	{Android, Native, "4.2.0-beta.1", version{4, 2, 0}},
	{Android, Native, "5.0.0-beta.1", version{5, 0, 0}},
	{Android, Native, "5.0.0-beta.2", version{5, 0, 0}},
	{Android, Native, "5.0.0-beta.3", version{5, 0, 0}},
	{Android, Native, "5.0.0-beta.4", version{5, 0, 0}},
	{Android, Native, "5.0.0-rc.1", version{5, 0, 0}}, // pinned by React Native 6.0.0-rc.1 and main
	{IOS, Native, "1.4.0-beta.3", version{1, 4, 0}},
	{IOS, Native, "1.4.1-beta.1", version{1, 4, 1}},
	{IOS, Native, "1.4.1-beta.2", version{1, 4, 1}},
	// React Native 6.0.0-rc.1 and rc.2: the bridge is 5.5.0's, line for
	// line; only the Android pin moved (to 5.0.0-rc.1).
	{"", ReactNative, "6.0.0-rc.1", version{5, 5, 0}},
	{"", ReactNative, "6.0.0-rc.2", version{5, 5, 0}},
}

// parseTagged parses a release ("1.8.2", "v5.0.2") or a known pre-release
// of the platform (or of the wrapper, when wrapper is not Native) as the
// release whose profile it has.
func parseTagged(platform Platform, wrapper Wrapper, s string) (version, bool) {
	if strings.IndexByte(s, '-') < 0 {
		return parseVersion(s)
	}
	tag := strings.TrimPrefix(s, "v")
	for _, p := range preReleases {
		if p.tag == tag && p.wrapper == wrapper && (wrapper != Native || p.platform == platform) {
			return p.as, true
		}
	}
	return version{}, false
}

// versionRange is one row of the version table: the native SDK versions
// from..to (inclusive) of a platform behave as profile.
type versionRange struct {
	platform Platform
	from, to version
	profile  string
}

func (r versionRange) has(platform Platform, v version) bool {
	return r.platform == platform && !v.less(r.from) && !r.to.less(v)
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
	{Android, version{4, 2, 1}, version{4, 2, 1}, "android-4.2.1"}, // §10.1: /v1/token, broken error decoding; the 401 retry crashes
	{Android, version{4, 2, 2}, version{4, 2, 2}, "android-4.2.2"}, // 706dc97 (#201): the 401 retry closes the response first
	{Android, version{4, 3, 0}, version{5, 0, 2}, "android-5.0"},   // §10.1: #203 fixed decoding in 4.3.0
}

// wrapperRange is one row of the wrapper table: the wrapper's versions
// wfrom..wto (inclusive), on the native SDK versions their pins allow,
// behave as profile.
type wrapperRange struct {
	wrapper    Wrapper
	wfrom, wto version
	versionRange
}

// wrapperTable maps a wrapper's version and the native SDK version it
// resolved to a profile. The native ranges are what each line's pins allow
// (CocoaPods "~> 1.6.0" is 1.6.0 up to 1.7.0; Gradle pins one version),
// intersected with the modelled native versions; docs/reference/profiles.md
// cites every pin.
var wrapperTable = [...]wrapperRange{
	// vital_core 4.5.0–4.5.4: VitalCore ~> 1.6.2/1.6.3, Android 4.1.1–4.1.4.
	{Flutter, version{4, 5, 0}, version{4, 5, 4}, versionRange{IOS, version{1, 6, 2}, version{1, 6, 9999}, "flutter-ios-1.8.1"}},
	{Flutter, version{4, 5, 0}, version{4, 5, 4}, versionRange{Android, version{4, 1, 1}, version{4, 1, 4}, "flutter-android-4.2.0"}},
	// vital_core 4.5.5–4.6.1: VitalCore ~> 1.8.2 up to ~> 1.8.7; Android
	// 4.2.1 (4.5.5), then 4.2.2.
	{Flutter, version{4, 5, 5}, version{4, 6, 1}, versionRange{IOS, version{1, 8, 2}, version{1, 8, 8}, "flutter-ios"}},
	{Flutter, version{4, 5, 5}, version{4, 5, 5}, versionRange{Android, version{4, 2, 1}, version{4, 2, 1}, "flutter-android-4.2.1"}},
	{Flutter, version{4, 5, 6}, version{4, 6, 1}, versionRange{Android, version{4, 2, 2}, version{4, 2, 2}, "flutter-android"}},
	// React Native 5.0.0–5.2.3: no identify; VitalCore ~> 1.2.11 up to
	// ~> 1.6.0; Android 4.0.x, which is not modelled.
	{ReactNative, version{5, 0, 0}, version{5, 1, 0}, versionRange{IOS, version{1, 2, 11}, version{1, 3, 9999}, "rn-ios-1.3"}},
	{ReactNative, version{5, 1, 1}, version{5, 2, 3}, versionRange{IOS, version{1, 4, 1}, version{1, 6, 9999}, "rn-5.2-ios-1.8.1"}},
	// React Native 5.3.0+: identify. VitalCore ~> 1.6.0 (5.3.x), ~> 1.8.1
	// (5.4.0), ~> 1.8.2 (5.4.1–5.4.3), ~> 1.8.6 (5.5.0, 6.0.0-rc.x);
	// Android 4.1.0–4.1.4 (5.3.x), 4.2.0 (5.4.0), 4.2.1 (5.4.1), 4.2.2
	// (5.4.2–5.4.3), 4.3.2 (5.5.0), 5.0.0-rc.1 (6.0.0-rc.x).
	{ReactNative, version{5, 3, 0}, version{5, 4, 0}, versionRange{IOS, version{1, 6, 0}, version{1, 8, 1}, "rn-ios-1.8.1"}},
	{ReactNative, version{5, 4, 0}, version{5, 5, 0}, versionRange{IOS, version{1, 8, 2}, version{1, 8, 8}, "rn-ios-1.8"}},
	{ReactNative, version{5, 3, 0}, version{5, 4, 0}, versionRange{Android, version{4, 1, 0}, version{4, 2, 0}, "rn-android-4.2.0"}},
	{ReactNative, version{5, 4, 1}, version{5, 4, 1}, versionRange{Android, version{4, 2, 1}, version{4, 2, 1}, "rn-android-4.2.1"}},
	{ReactNative, version{5, 4, 2}, version{5, 4, 3}, versionRange{Android, version{4, 2, 2}, version{4, 2, 2}, "rn-android-4.2.2"}},
	{ReactNative, version{5, 5, 0}, version{5, 5, 0}, versionRange{Android, version{4, 3, 0}, version{5, 0, 2}, "rn-android-5.0"}},
}

// ProfileFor returns the profile of the native SDK of platform at version
// ("1.8.2", "v5.0.2"): the version table of reference §10.1. A pre-release
// whose auth code is its release's ("5.0.0-rc.1") has that release's
// profile. It returns false for an unknown platform, a version that does
// not parse, any other pre-release, and a version outside the modelled
// ranges (iOS 1.0.0–1.8.8, Android 4.1.0–5.0.2).
func ProfileFor(platform Platform, ver string) (Profile, bool) {
	v, ok := parseTagged(platform, Native, ver)
	if !ok {
		return Profile{}, false
	}
	for _, r := range versionTable {
		if r.has(platform, v) {
			return ParseProfile(r.profile)
		}
	}
	return Profile{}, false
}

// ProfileForApp returns the profile of an app built with wrapper at
// wrapperVersion (the vital_core or @tryvital/vital-core-react-native
// version; "" for Native) on platform, whose native SDK resolved to
// nativeVersion. Native gives ProfileFor(platform, nativeVersion). The
// wrappers are keyed by their own version, because the bridge decides what
// the app can call (React Native below 5.3.0 has no identifyExternalUser),
// and by the native version, within what the wrapper's pins allow. It
// returns false for an unknown wrapper, a version that does not parse, a
// wrapper version nobody has read, and a native version its pins rule out.
func ProfileForApp(wrapper Wrapper, wrapperVersion string, platform Platform, nativeVersion string) (Profile, bool) {
	if wrapper == Native {
		if wrapperVersion != "" {
			return Profile{}, false
		}
		return ProfileFor(platform, nativeVersion)
	}
	w, ok := parseTagged("", wrapper, wrapperVersion)
	if !ok {
		return Profile{}, false
	}
	v, ok := parseTagged(platform, Native, nativeVersion)
	if !ok {
		return Profile{}, false
	}
	for _, r := range wrapperTable {
		if r.wrapper == wrapper && !w.less(r.wfrom) && !r.wto.less(w) && r.has(platform, v) {
			return ParseProfile(r.profile)
		}
	}
	return Profile{}, false
}

// ProfileForWrapper returns the profile of an app built with wrapper on
// platform whose native SDK resolved to nativeVersion, when the native
// version alone decides it. Native gives ProfileFor(platform,
// nativeVersion). For Flutter and React Native it is the one profile of
// every wrapper line whose pins allow nativeVersion; a native version that
// lines with different profiles can resolve (iOS 1.6.x under React Native
// 5.2.3, without identify, and 5.3.0, with it) gives false, as do unknown
// wrappers and versions no line pins: use ProfileForApp with the wrapper's
// version.
func ProfileForWrapper(wrapper Wrapper, platform Platform, nativeVersion string) (Profile, bool) {
	if wrapper == Native {
		return ProfileFor(platform, nativeVersion)
	}
	v, ok := parseTagged(platform, Native, nativeVersion)
	if !ok {
		return Profile{}, false
	}
	name := ""
	for _, r := range wrapperTable {
		if r.wrapper != wrapper || !r.has(platform, v) {
			continue
		}
		if name != "" && name != r.profile {
			return Profile{}, false
		}
		name = r.profile
	}
	if name == "" {
		return Profile{}, false
	}
	return ParseProfile(name)
}
