package fsm

import "strings"

// versionRange is one row of the version → profile table: SDK versions of
// platform from From (inclusive) up to Below (exclusive) run profile.
type versionRange struct {
	platform    Platform
	from, below [3]int
	profile     string
}

// versionTable is the one place SDK versions map to profiles. Rows of one
// platform do not overlap; a version outside every row has no profile.
// Splitting a profile is adding a row (and the profile) here.
var versionTable = [...]versionRange{
	{IOS, [3]int{1, 0, 0}, [3]int{1, 4, 0}, "ios-1.3"},
	{IOS, [3]int{1, 4, 0}, [3]int{1, 9, 0}, "ios-1.8"},
	{Android, [3]int{4, 1, 0}, [3]int{4, 2, 1}, "android-4.2.0"},
	{Android, [3]int{4, 2, 1}, [3]int{5, 1, 0}, "android-5.0"},
}

// ProfileFor returns the profile of an SDK release: platform is "ios" or
// "android" (any case) and version a release number "MAJOR.MINOR.PATCH",
// optionally followed by a pre-release or build suffix ("-beta.1", "+7"),
// which does not change the profile. It returns false for an unknown
// platform, a version that does not parse, and one outside every range of
// the table (an SDK line no profile models yet). It does not allocate.
func ProfileFor(platform, version string) (Profile, bool) {
	var pf Platform
	switch {
	case platform == string(IOS):
		pf = IOS
	case platform == string(Android):
		pf = Android
	case strings.EqualFold(platform, string(IOS)):
		pf = IOS
	case strings.EqualFold(platform, string(Android)):
		pf = Android
	default:
		return Profile{}, false
	}
	v, ok := parseVersion(version)
	if !ok {
		return Profile{}, false
	}
	for i := range versionTable {
		r := &versionTable[i]
		if r.platform == pf && !less(v, r.from) && less(v, r.below) {
			return ParseProfile(r.profile)
		}
	}
	return Profile{}, false
}

// parseVersion parses "MAJOR.MINOR.PATCH" with an optional "-…" or "+…"
// suffix; each part is 1 to 6 decimal digits.
func parseVersion(s string) ([3]int, bool) {
	var v [3]int
	part, digits := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == '+':
			return v, part == 2 && digits > 0
		case c >= '0' && c <= '9':
			if digits == 6 {
				return v, false
			}
			v[part] = v[part]*10 + int(c-'0')
			digits++
		case c == '.' && digits > 0 && part < 2:
			part++
			digits = 0
		default:
			return v, false
		}
	}
	return v, part == 2 && digits > 0
}

// less compares versions.
func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
