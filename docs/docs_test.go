// Package docs holds the tests that keep the documentation true to the
// code: every section of the SDK behaviour reference that the code cites
// exists, and the commands the pages mark runnable run.
package docs

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// referencePage is the SDK behaviour reference that "§" citations name.
const referencePage = "reference/vital-sdk-behaviour.md"

// citation matches a "§" citation: one section number, or a range written
// with an en dash ("§2.5–2.7").
var citation = regexp.MustCompile(`§\s?(\d+(?:\.\d+)*)(?:–(\d+(?:\.\d+)*))?`)

// heading matches a numbered section heading of the reference
// ("## 2. `signIn(token)`", "### 10.6 Locked keychain").
var heading = regexp.MustCompile(`(?m)^#{2,4} (\d+(?:\.\d+)*)\.? `)

// sections returns the section numbers the reference's headings define.
func sections(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(referencePage)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(string(b), -1) {
		got[m[1]] = true
	}
	return got
}

// cited walks the repository (the module root, one level up) and returns
// each cited section with the first place that cites it.
func cited(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !citable(path) || strings.HasSuffix(filepath.ToSlash(path), "docs/"+referencePage) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.IndexByte(b, 0) >= 0 {
			return nil // a binary file, not text the project writes
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range citation.FindAllStringSubmatch(line, -1) {
				for _, n := range m[1:] {
					if n == "" {
						continue
					}
					if _, ok := out[n]; !ok {
						rel, _ := filepath.Rel(root, path)
						out[n] = rel + ":" + strconv.Itoa(i+1)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// citable reports whether a file is text the project writes: Go, SQL,
// Markdown, TypeScript, and the scenario files under testdata.
func citable(path string) bool {
	switch filepath.Ext(path) {
	case ".go", ".sql", ".md", ".ts", ".js", ".txt", "":
		return true
	}
	return false
}

// TestCitedSectionsExist fails when the code, its test data or a page cites
// a section of the SDK behaviour reference that the page does not have.
func TestCitedSectionsExist(t *testing.T) {
	have := sections(t)
	if len(have) < 30 {
		t.Fatalf("%s defines %d numbered sections; its headings did not parse", referencePage, len(have))
	}
	refs := cited(t, "..")
	if len(refs) < 20 {
		t.Fatalf("found %d cited sections in the repository; the walk missed the code", len(refs))
	}
	var missing []string
	for n, where := range refs {
		if !have[n] {
			missing = append(missing, "§"+n+" (cited at "+where+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%s lacks the sections:\n  %s", referencePage, strings.Join(missing, "\n  "))
	}
}

// TestCitationScanner checks the scanner on the forms the code writes, and
// that a section the reference lacks is reported.
func TestCitationScanner(t *testing.T) {
	dir := t.TempDir()
	// The missing section is spelled in two pieces so that this file cites
	// no section the reference lacks.
	src := "// §2.7 and §10.1: 1.4.0–1.8.1, (§2.5–2.7, §5), § 3\n// §" + "99.9 does not exist\n"
	if err := os.WriteFile(filepath.Join(dir, "a.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	got := cited(t, dir)
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := "10.1 2.5 2.7 3 5 99.9"; strings.Join(keys, " ") != want {
		t.Fatalf("cited sections = %q, want %q", strings.Join(keys, " "), want)
	}
	have := sections(t)
	if have["99.9"] || !have["2.7"] || !have["10.12"] || !have["4"] {
		t.Fatalf("sections parsed wrong: 2.7=%v 10.12=%v 4=%v 99.9=%v", have["2.7"], have["10.12"], have["4"], have["99.9"])
	}
	if got["99.9"] != "a.go:2" {
		t.Fatalf("the missing section located at %q, want a.go:2", got["99.9"])
	}
}
