package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// mdLink matches a Markdown link or image target: [text](target).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// pages returns the README and every Markdown page under docs/, as paths
// relative to this directory.
func pages(t *testing.T) []string {
	t.Helper()
	out := []string{"../README.md", "../BENCHMARKS.md"}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			out = append(out, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// brokenLinks returns the relative links of the page at path (text) whose
// file does not exist; web links and anchors within the page are not
// followed.
func brokenLinks(path, text string) []string {
	var broken []string
	inFence := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, _, _ := strings.Cut(target, "#")
			if _, err := os.Stat(filepath.Join(filepath.Dir(path), file)); err != nil {
				broken = append(broken, target)
			}
		}
	}
	return broken
}

// TestLinksResolve fails on a relative link of the README or a docs page
// to a file that is not there (a page moved, renamed or never written),
// and on a docs page the index (docs/README.md) does not link.
func TestLinksResolve(t *testing.T) {
	index, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range brokenLinks(p, string(b)) {
			t.Errorf("%s links to %s, which does not exist", p, l)
		}
		if !strings.HasPrefix(p, "../") && p != "README.md" && !strings.Contains(string(index), "("+filepath.ToSlash(p)+")") {
			t.Errorf("docs/README.md does not link %s", p)
		}
	}
}

func TestBrokenLinks(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "there.md"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "page.md")
	text := "[a](there.md) [b](there.md#x) [c](gone.md) [d](https://example.com/x) [e](#local)\n```\n[f](in-a-fence.md)\n```\n"
	got := brokenLinks(page, text)
	if len(got) != 1 || got[0] != "gone.md" {
		t.Fatalf("brokenLinks = %q, want [gone.md]", got)
	}
}
