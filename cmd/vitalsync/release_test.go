package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// repoRoot is the repository's root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	return root
}

// TestReleaseScript builds this host's linux archive with
// scripts/release.sh, checks what it holds and its checksum, and that the
// script refuses what it cannot build.
func TestReleaseScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary: not with -short")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the test builds linux/amd64 on a linux/amd64 host only")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc: the cgo build cannot run")
	}
	root := repoRoot(t)
	dist := t.TempDir()
	script := func(env []string, args ...string) (string, error) {
		cmd := exec.Command("bash", append([]string{filepath.Join(root, "scripts", "release.sh")}, args...)...)
		cmd.Dir = root
		cmd.Env = append(append(os.Environ(), "DIST="+dist), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := script([]string{"SNAPSHOT=1"}, "linux/amd64")
	require.NoError(t, err, out)
	require.Contains(t, out, "building linux/amd64 with CC='gcc' (CGO_ENABLED=1)", "the build says what it is doing")
	require.Contains(t, out, "SQLite's C source compiles first")
	archives, err := filepath.Glob(filepath.Join(dist, "vitalsync_*_linux_amd64.tar.gz"))
	require.NoError(t, err)
	require.Len(t, archives, 1)
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	require.NoError(t, err)
	b, err := os.ReadFile(archives[0])
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	require.Equal(t, hex.EncodeToString(sum[:])+"  "+filepath.Base(archives[0])+"\n", string(sums))

	unpacked := t.TempDir()
	tarOut, err := exec.Command("tar", "-xzf", archives[0], "-C", unpacked).CombinedOutput()
	require.NoError(t, err, string(tarOut))
	dir := filepath.Join(unpacked, strings.TrimSuffix(filepath.Base(archives[0]), ".tar.gz"))
	for _, f := range []string{"vitalsync", "LICENSE", "README.md"} {
		_, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
	}
	version, err := exec.Command(filepath.Join(dir, "vitalsync"), "version").CombinedOutput()
	require.NoError(t, err, string(version))
	require.Regexp(t, regexp.MustCompile(`(?m)^sqlite:   3\.`), string(version), "SQLite is compiled in")

	// darwin cannot be built here: a named target that cannot be built fails, naming why.
	out, err = script([]string{"SNAPSHOT=1"}, "darwin/arm64")
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "%v: %s", err, out)
	require.Equal(t, 1, ee.ExitCode())
	require.Contains(t, out, "run this script on a Mac")
	out, err = script([]string{"SNAPSHOT=1"}, "windows/amd64")
	require.True(t, errors.As(err, &ee) && ee.ExitCode() == 2, "%v: %s", err, out)
	require.Contains(t, out, "unknown target")
}

// TestKubernetesExampleRunsTheImageOfTheDockerfile: the docs' Job names
// an image and says how to build it from this repository's Dockerfile.
func TestKubernetesExampleRunsTheImageOfTheDockerfile(t *testing.T) {
	root := repoRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "guides", "audit.md"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^\s+image: (\S+)$`).FindStringSubmatch(string(doc))
	require.NotNil(t, m, "the Job names an image")
	require.True(t, strings.Contains(string(doc), "docker build -t "+m[1]+" ."), "the docs say how to build %s", m[1])
	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	require.Contains(t, string(dockerfile), "ENTRYPOINT [\"vitalsync\"]")
	require.Contains(t, string(dockerfile), "FROM debian:bookworm-slim", "a shell for the Job's sh -c")
}

// TestDockerImage builds the image and runs it as the docs' Job does (sh
// -c, a fleet file, an audit). It needs a Docker daemon.
func TestDockerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image: not with -short")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker not installed: the image is not built")
	}
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker daemon answers: %s", lastLine(out))
	}
	root := repoRoot(t)
	tag := "vitalsync-test:" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	build := exec.Command("docker", "build", "-t", tag, ".")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))
	t.Cleanup(func() { exec.Command("docker", "image", "rm", "-f", tag).Run() })

	out, err = exec.Command("docker", "run", "--rm", tag, "version").CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "sqlite:   3.")
	out, err = exec.Command("docker", "run", "--rm", "--entrypoint", "/bin/sh", tag, "-c",
		"vitalsync fleet generate --installs 200 --seed 1 --csv /tmp/f.csv && vitalsync audit --csv /tmp/f.csv --format json").CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), `"rows": 200`)
}

func lastLine(b []byte) string {
	b = bytes.TrimSpace(b)
	return string(b[bytes.LastIndexByte(b, '\n')+1:])
}
