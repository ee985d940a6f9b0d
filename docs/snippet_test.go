package docs

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// snippetProgram wraps the README's backend snippet (at "// SNIPPET") in a program that
// gives it what the backend would (an emulator for the team API, an issuer
// database, HMAC sessions, a listener), then checks what it serves: the
// issuer's token route, /healthz, /readyz, /metrics with the process's
// metrics, a request log line, and a clean shutdown on the context's end.
const snippetProgram = `package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/issuer"
	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/adapters/store/sqlite"
	"github.com/vitalsync/vitalsync/httpops"
)

func run(ctx context.Context, ln net.Listener, log *slog.Logger, team *junction.Client, users *sqlite.DB, auth issuer.Authenticator) error {
// SNIPPET
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		fail("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func main() {
	api := httptest.NewServer(emulator.New(emulator.WithAPIKey("sk_us_snippet")).Handler())
	defer api.Close()
	dir, err := os.MkdirTemp("", "snippet")
	if err != nil {
		fail("%v", err)
	}
	defer os.RemoveAll(dir)
	users, err := sqlite.OpenIssuer(context.Background(), filepath.Join(dir, "issuer.db"))
	if err != nil {
		fail("%v", err)
	}
	defer users.Close()
	secret := []byte("a-session-secret-of-32-bytes-abc")
	auth, err := issuer.NewHMACAuthenticator(secret, time.Now)
	if err != nil {
		fail("%v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("%v", err)
	}
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln, log, junction.NewClient(api.URL, "sk_us_snippet"), users, auth) }()
	base := "http://" + ln.Addr().String()
	for i := 0; ; i++ {
		if code, _ := getQuiet(base + "/healthz"); code == http.StatusOK {
			break
		}
		if i == 100 {
			fail("the backend did not serve /healthz")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := get(base + httpops.PathReady); code != http.StatusOK || !strings.Contains(body, ` + "`" + `"database":"ok"` + "`" + `) {
		fail("/readyz: %d %s", code, body)
	}
	session, err := issuer.NewSession(secret, "alice", time.Hour, time.Now())
	if err != nil {
		fail("%v", err)
	}
	vitalUser, token, err := issuer.NewClient(base, session).SignInToken(context.Background(), "alice")
	if err != nil || vitalUser == "" || token == "" {
		fail("sign-in token: %q %v", vitalUser, err)
	}
	if code, body := get(base + "/metrics"); code != http.StatusOK ||
		!strings.Contains(body, "vitalsync_build_info") || !strings.Contains(body, "vitalsync_issuer_tokens_issued_total 1") {
		fail("/metrics: %d lacks the build info or the token count", code)
	}
	cancel()
	if err := <-done; err != nil {
		fail("shutdown: %v", err)
	}
	out := logs.String()
	for _, want := range []string{"msg=request method=POST route=other status=200", "backend shutdown finished", "clean=true"} {
		if !strings.Contains(out, want) {
			fail("the log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, session) || strings.Contains(out, token) {
		fail("a secret reached the log")
	}
	fmt.Println("ok")
}

func getQuiet(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// lockedWriter serialises the server's log writes.
type lockedWriter struct {
	mu chan struct{}
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	if l.mu == nil {
		l.mu = make(chan struct{}, 1)
	}
	l.mu <- struct{}{}
	defer func() { <-l.mu }()
	return l.w.Write(p)
}

// The snippet uses prometheus; this keeps the import if it stops to.
var _ = prometheus.NewRegistry
`

// backendSnippet returns the README's block fenced as "go backend-snippet".
func backendSnippet(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const open = "```go backend-snippet\n"
	s := string(b)
	i := strings.Index(s, open)
	if i < 0 {
		t.Fatal("README.md has no go backend-snippet block")
	}
	j := strings.Index(s[i+len(open):], "```\n")
	if j < 0 {
		t.Fatal("the backend snippet is not closed")
	}
	return s[i+len(open) : i+len(open)+j]
}

// TestBackendSnippet compiles the README's backend quickstart into a
// program and runs it: the snippet serves the issuer with httpops's
// operational layer, answers, logs and shuts down cleanly.
func TestBackendSnippet(t *testing.T) {
	snippet := backendSnippet(t)
	var body strings.Builder
	for _, line := range strings.Split(strings.TrimRight(snippet, "\n"), "\n") {
		body.WriteString("\t" + line + "\n")
	}
	src := filepath.Join(t.TempDir(), "main.go")
	if err := os.WriteFile(src, []byte(strings.Replace(snippetProgram, "// SNIPPET\n", body.String(), 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", src) // in this module, for its imports
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's backend snippet: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("the snippet's program printed %q", out)
	}
}
