package docs

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A fenced block whose info string is "sh runnable" is a page's promise
// that its commands run as written, one after the other, in a fresh
// directory with vitalsync on the PATH. TestRunnableBlocks keeps it.

// block is one runnable block of a page.
type block struct {
	page string
	line int // of the opening fence
	text string
}

// runnableBlocks returns the runnable blocks of the front page, BENCHMARKS.md
// and every page under docs/.
func runnableBlocks(t *testing.T) []block {
	t.Helper()
	var out []block
	for _, p := range pages(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, parseRunnable(p, string(b))...)
	}
	return out
}

// parseRunnable returns the "sh runnable" blocks of one Markdown page.
func parseRunnable(page, text string) []block {
	var out []block
	var cur *block
	var fence string // the opening fence's backticks, while inside a block
	var body []string
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case fence == "" && strings.HasPrefix(trimmed, "```"):
			info := strings.TrimLeft(trimmed, "`")
			fence = trimmed[:len(trimmed)-len(info)]
			cur, body = nil, nil
			if strings.Join(strings.Fields(info), " ") == "sh runnable" {
				cur = &block{page: page, line: i + 1}
			}
		case fence != "" && trimmed == fence:
			if cur != nil {
				cur.text = strings.Join(body, "\n") + "\n"
				out = append(out, *cur)
			}
			cur, fence = nil, ""
		case cur != nil:
			body = append(body, line)
		}
	}
	return out
}

// loopbackPort matches the loopback addresses a block uses.
var loopbackPort = regexp.MustCompile(`127\.0\.0\.1:(\d+)`)

// freePorts replaces each loopback port of a block by a free one, the same
// port for the same number throughout the block, so that the blocks do not
// collide with each other or with servers already on the machine.
func freePorts(t *testing.T, text string) string {
	t.Helper()
	ports := map[string]string{}
	return loopbackPort.ReplaceAllStringFunc(text, func(m string) string {
		old := loopbackPort.FindStringSubmatch(m)[1]
		if _, ok := ports[old]; !ok {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ports[old] = fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
			l.Close()
		}
		return "127.0.0.1:" + ports[old]
	})
}

func TestParseRunnable(t *testing.T) {
	page := "text\n```sh runnable\necho one\n```\n```sh\nnot this\n```\n````\n```sh runnable\n```\n````\n```sh  runnable\necho two\n```\n"
	got := parseRunnable("p.md", page)
	if len(got) != 2 || got[0].text != "echo one\n" || got[0].line != 2 || got[1].text != "echo two\n" {
		t.Fatalf("parseRunnable = %+v", got)
	}
	text := freePorts(t, "a 127.0.0.1:8080 b http://127.0.0.1:8080/x c 127.0.0.1:8787")
	m := loopbackPort.FindAllStringSubmatch(text, -1)
	if len(m) != 3 || m[0][1] != m[1][1] || m[0][1] == m[2][1] || m[0][1] == "8080" {
		t.Fatalf("freePorts = %q", text)
	}
}

// TestRunnableBlocks runs every runnable block with bash (-e, pipefail) in
// a directory of its own, HOME included, with a vitalsync built from this
// tree first on the PATH; a block passes when it exits 0 within a minute.
// Servers it leaves in the background are stopped with its process group.
func TestRunnableBlocks(t *testing.T) {
	blocks := runnableBlocks(t)
	if len(blocks) < 3 {
		t.Fatalf("found %d runnable blocks; the README's quickstarts have three", len(blocks))
	}
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing", tool)
			}
			t.Skipf("skipping: %s is not installed", tool)
		}
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "vitalsync"), "../cmd/vitalsync")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, b := range blocks {
		t.Run(fmt.Sprintf("%s:%d", b.page, b.line), func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", freePorts(t, b.text))
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "HOME="+dir, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			// The output goes to a file, not a pipe: a server the block left
			// in the background holds its output open after bash exits.
			log, err := os.Create(filepath.Join(t.TempDir(), "output"))
			if err != nil {
				t.Fatal(err)
			}
			defer log.Close()
			cmd.Stdout, cmd.Stderr = log, log
			err = cmd.Run()
			if cmd.Process != nil {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
			if err != nil {
				out, _ := os.ReadFile(log.Name())
				t.Fatalf("%s:%d: %v\n%s", b.page, b.line, err, out)
			}
		})
	}
}
