package main

import (
	"bufio"
	"context"
	"encoding/json"
	"github.com/vitalsync/vitalsync/emulator/emulatorclient"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
