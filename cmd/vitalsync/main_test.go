package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/emulator/emulatorclient"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
)

// envChild, when set, makes the test binary run vitalsync with the
// arguments it holds (a JSON array) instead of the tests: a second process
// for the tests that need one (two replicas, a load generator apart from the
// server).
const envChild = "VITALSYNC_TEST_CHILD"

func TestMain(m *testing.M) {
	// Running emulators leave their control tokens here, not in the
	// user's own runtime directory.
	var runtimeDir string
	if os.Getenv(emulatorclient.EnvRuntimeDir) == "" {
		dir, err := os.MkdirTemp("", "vitalsync-run-")
		if err != nil {
			os.Exit(2)
		}
		runtimeDir = dir
		os.Setenv(emulatorclient.EnvRuntimeDir, dir)
	}
	if spec := os.Getenv(envChild); spec != "" {
		var args []string
		if err := json.Unmarshal([]byte(spec), &args); err != nil {
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, args, os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(exitCode(err, os.Stderr))
	}
	code := m.Run()
	if runtimeDir != "" {
		os.RemoveAll(runtimeDir)
	}
	os.Exit(code)
}

const testSessionSecret = "serve-test-secret-0123456789"

// vs runs the CLI with no input and returns stdout, stderr and run's error.
func vs(args ...string) (string, string, error) {
	var stdout, stderr strings.Builder
	err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// runCLI runs the CLI on stdin and returns stdout, stderr (with the error
// line main prints) and the exit code.
func runCLI(stdin string, args ...string) (stdout, stderr string, code int) {
	var out, errOut strings.Builder
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	code = exitCode(err, &errOut)
	return out.String(), errOut.String(), code
}

// mintSession runs "vitalsync session args…" and returns the session.
func mintSession(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, err := vs(append([]string{"session"}, args...)...)
	require.NoError(t, err, "stderr: %s", stderr)
	return strings.TrimSpace(out)
}

// startCommand runs "vitalsync args…" until the returned cancel (or the
// test's end), and returns the lines it printed up to the one last holds
// for, the channel run's result arrives on, and its stderr.
func startCommand(t *testing.T, last func(line string) bool, args ...string) ([]string, context.CancelFunc, <-chan error, *emulatortest.LockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pr, pw := io.Pipe()
	stderr := &emulatortest.LockedBuffer{}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, strings.NewReader(""), pw, stderr)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	var lines []string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if last(sc.Text()) {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	return lines, cancel, done, stderr
}

// startServe runs "vitalsync serve args…" (startCommand) and returns
// everything it printed up to its last banner line.
func startServe(t *testing.T, args ...string) (string, context.CancelFunc, <-chan error, *emulatortest.LockedBuffer) {
	t.Helper()
	lines, cancel, done, stderr := startCommand(t, func(l string) bool {
		return strings.HasPrefix(l, "  API key:") || strings.HasPrefix(l, "team API:")
	}, append([]string{"serve"}, args...)...)
	banner := strings.Join(lines, "\n") + "\n"
	require.Contains(t, banner, "issuer listening on http://127.0.0.1:", "stderr: %s", stderr)
	return banner, cancel, done, stderr
}

// startEmulator runs "vitalsync emulator args…" (startCommand) and returns
// what it printed, by label.
func startEmulator(t *testing.T, args ...string) (map[string]string, context.CancelFunc, <-chan error, *emulatortest.LockedBuffer) {
	t.Helper()
	lines, cancel, done, stderr := startCommand(t, func(l string) bool { return strings.HasPrefix(l, "Web UI:") },
		append([]string{"emulator"}, args...)...)
	printed := map[string]string{}
	for _, line := range lines {
		label, value, ok := strings.Cut(line, ":")
		require.True(t, ok, "line %q", line)
		printed[label] = strings.TrimSpace(value)
	}
	require.NotEmpty(t, printed["Web UI"], "the emulator printed its URLs and key; stderr: %s", stderr)
	return printed, cancel, done, stderr
}

// bannerValue returns the value printed after label.
func bannerValue(t *testing.T, banner, label string) string {
	t.Helper()
	for line := range strings.SplitSeq(banner, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), label); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %q in %q", label, banner)
	return ""
}

// waitRun returns run's result once the command's context was cancelled.
func waitRun(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after the context was cancelled")
		return nil
	}
}

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func decodeEmulatorJSON(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// jsonLines decodes every line of a JSON log.
func jsonLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(log), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "line %q", line)
		out = append(out, m)
	}
	return out
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// child is a vitalsync serve running in a process of its own.
type child struct {
	cmd    *exec.Cmd
	base   string // the issuer's URL
	stderr *emulatortest.LockedBuffer
	done   chan error
}

// startServeProcess runs "vitalsync serve args…" in a new process with the
// extra environment variables env (secrets travel there, never on its
// command line), waits for its banner, and stops it with SIGTERM when t
// ends if the test did not.
func startServeProcess(t *testing.T, env []string, args ...string) *child {
	t.Helper()
	spec, err := json.Marshal(append([]string{"serve"}, args...))
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), envChild+"="+string(spec)), env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	c := &child{cmd: cmd, stderr: &emulatortest.LockedBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = c.stderr
	require.NoError(t, cmd.Start())
	go func() { c.done <- cmd.Wait() }()
	t.Cleanup(func() { c.stop(t) })

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			require.True(t, ok, "serve exited before its banner: %s", c.stderr)
			if v, found := strings.CutPrefix(line, "issuer listening on "); found {
				c.base = v
			}
			if strings.HasPrefix(line, "team API:") || strings.HasPrefix(line, "  API key:") {
				go func() {
					for range lines {
					}
				}()
				require.NotEmpty(t, c.base)
				return c
			}
		case <-timeout:
			t.Fatalf("no banner from serve: %s", c.stderr)
		}
	}
}

// stop sends SIGTERM and returns the process's exit error (nil for 0).
func (c *child) stop(t *testing.T) error {
	t.Helper()
	if c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case err := <-c.done:
		c.done <- err
		return err
	case <-time.After(45 * time.Second):
		_ = c.cmd.Process.Kill()
		t.Errorf("serve did not stop on SIGTERM: %s", c.stderr)
		return <-c.done
	}
}
