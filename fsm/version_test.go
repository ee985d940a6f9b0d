package fsm

import "testing"

func TestProfileFor(t *testing.T) {
	for _, tc := range []struct {
		platform, version string
		want              string // "" : no profile
	}{
		{"ios", "1.0.0", "ios-1.3"},
		{"ios", "1.3.9", "ios-1.3"},
		{"ios", "1.3.99-beta.2", "ios-1.3"},
		{"ios", "1.4.0", "ios-1.8"},
		{"iOS", "1.8.1", "ios-1.8"},
		{"ios", "1.8.12+build.7", "ios-1.8"},
		{"ios", "1.9.0", ""},
		{"ios", "0.9.9", ""},
		{"ios", "2.0.0", ""},
		{"android", "4.0.9", ""},
		{"android", "4.1.0", "android-4.2.0"},
		{"android", "4.2.0", "android-4.2.0"},
		{"android", "4.2.1", "android-5.0"},
		{"ANDROID", "4.2.2", "android-5.0"},
		{"android", "4.10.0", "android-5.0"},
		{"android", "5.0.7", "android-5.0"},
		{"android", "5.1.0", ""},
		{"android", "1.8.0", ""},
		{"ios", "4.2.1", ""},
		{"web", "1.0.0", ""},
		{"", "1.0.0", ""},
		{"ios", "", ""},
		{"ios", "1.4", ""},
		{"ios", "1.4.0.1", ""},
		{"ios", "1..4", ""},
		{"ios", "v1.4.0", ""},
		{"ios", "1.4.x", ""},
		{"ios", " 1.4.0", ""},
		{"ios", "1.4.0 ", ""},
		{"ios", "1.4.-1", ""},
		{"ios", "1.4.9999999", ""},
	} {
		p, ok := ProfileFor(tc.platform, tc.version)
		if ok != (tc.want != "") || p.Name != tc.want {
			t.Errorf("ProfileFor(%q, %q) = %q, %v, want %q", tc.platform, tc.version, p.Name, ok, tc.want)
		}
	}
}

// Every profile is reachable from the table, and every row names a profile
// of its own platform.
func TestVersionTableCoversProfiles(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range versionTable {
		p, ok := ParseProfile(r.profile)
		if !ok {
			t.Fatalf("table row names unknown profile %q", r.profile)
		}
		if p.Platform != r.platform {
			t.Errorf("row %v: profile %s is for %s", r, p.Name, p.Platform)
		}
		if !less(r.from, r.below) {
			t.Errorf("row %v: empty range", r)
		}
		seen[r.profile] = true
	}
	for _, p := range Profiles() {
		if !seen[p.Name] {
			t.Errorf("profile %s has no version range", p.Name)
		}
	}
	// Rows of one platform do not overlap.
	for i, a := range versionTable {
		for _, b := range versionTable[i+1:] {
			if a.platform == b.platform && less(a.from, b.below) && less(b.from, a.below) {
				t.Errorf("rows %v and %v overlap", a, b)
			}
		}
	}
}

func TestProfileForAllocates(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { ProfileFor("android", "4.2.1") }); n != 0 {
		t.Errorf("ProfileFor allocates %v times", n)
	}
}
