package main

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
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

// releaseScript runs scripts/release.sh of the repository at root with
// args, writing to dist.
func releaseScript(root, dist string, env []string, args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{filepath.Join(root, "scripts", "release.sh")}, args...)...)
	cmd.Dir = root
	cmd.Env = append(append(os.Environ(), "DIST="+dist), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// requireReleaseBuild skips a test that builds linux/amd64 where that
// cannot be built.
func requireReleaseBuild(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary: not with -short")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the test builds linux/amd64 on a linux/amd64 host only")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc: the cgo build cannot run")
	}
}

// unpack extracts the archive into a new directory and returns the
// directory it holds, checking its files.
func unpack(t *testing.T, archive string) string {
	t.Helper()
	unpacked := t.TempDir()
	tarOut, err := exec.Command("tar", "-xzf", archive, "-C", unpacked).CombinedOutput()
	require.NoError(t, err, string(tarOut))
	dir := filepath.Join(unpacked, strings.TrimSuffix(filepath.Base(archive), ".tar.gz"))
	for _, f := range []string{"vitalsync", "LICENSE", "README.md"} {
		_, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
	}
	return dir
}

// TestReleaseScript builds this host's linux archive with
// scripts/release.sh (and linux/arm64's where aarch64-linux-gnu-gcc is
// installed, as CI installs it), checks what they hold, their checksums,
// the version stamped into the binary, and that the script refuses what it
// cannot build.
func TestReleaseScript(t *testing.T) {
	requireReleaseBuild(t)
	root := repoRoot(t)
	dist := t.TempDir()
	targets := []string{"linux/amd64"}
	if _, err := exec.LookPath("aarch64-linux-gnu-gcc"); err == nil {
		targets = append(targets, "linux/arm64")
	} else if os.Getenv("CI") == "true" {
		t.Fatal("no aarch64-linux-gnu-gcc under CI: .ci/run installs gcc-aarch64-linux-gnu and libc6-dev-arm64-cross")
	} else {
		t.Log("no aarch64-linux-gnu-gcc: linux/arm64 is not built (Debian: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross)")
	}

	out, err := releaseScript(root, dist, []string{"SNAPSHOT=1"}, targets...)
	require.NoError(t, err, out)
	require.Contains(t, out, "building linux/amd64 with CC='gcc' (CGO_ENABLED=1)", "the build says what it is doing")
	require.Contains(t, out, "SQLite's C source compiles first")
	m := regexp.MustCompile(`(?m)^release: version (snapshot-\S+)$`).FindStringSubmatch(out)
	require.NotNil(t, m, "the script names the version: %s", out)
	version := m[1]

	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	require.NoError(t, err)
	var want strings.Builder
	for _, target := range targets {
		archive := filepath.Join(dist, "vitalsync_"+version+"_"+strings.ReplaceAll(target, "/", "_")+".tar.gz")
		b, err := os.ReadFile(archive)
		require.NoError(t, err, target)
		sum := sha256.Sum256(b)
		want.WriteString(hex.EncodeToString(sum[:]) + "  " + filepath.Base(archive) + "\n")
		dir := unpack(t, archive)
		bin := filepath.Join(dir, "vitalsync")
		f, err := elf.Open(bin)
		require.NoError(t, err, target)
		machine := map[string]elf.Machine{"linux/amd64": elf.EM_X86_64, "linux/arm64": elf.EM_AARCH64}[target]
		require.Equal(t, machine, f.Machine, target)
		require.NoError(t, f.Close())
		if target != "linux/amd64" {
			continue
		}
		out, err := exec.Command(bin, "--version").CombinedOutput()
		require.NoError(t, err, string(out))
		require.True(t, strings.HasPrefix(string(out), "vitalsync "+version+"\n"), "the stamped version first: %s", out)
		require.Regexp(t, regexp.MustCompile(`(?m)^sqlite:   3\.`), string(out), "SQLite is compiled in")
	}
	require.Equal(t, want.String(), string(sums), "one checksum line per archive, in target order")

	// darwin cannot be built here: a named target that cannot be built fails, naming why.
	out, err = releaseScript(root, t.TempDir(), []string{"SNAPSHOT=1"}, "darwin/arm64")
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "%v: %s", err, out)
	require.Equal(t, 1, ee.ExitCode())
	require.Contains(t, out, "run this script on a Mac")
	out, err = releaseScript(root, t.TempDir(), []string{"SNAPSHOT=1"}, "windows/amd64")
	require.True(t, errors.As(err, &ee) && ee.ExitCode() == 2, "%v: %s", err, out)
	require.Contains(t, out, "unknown target")
}

// TestReleaseScriptTaggedVersion cuts a release as docs/install.md says,
// in a git repository of its own holding this working tree: an annotated
// tag v0.1.0 at HEAD on a clean tree gives vitalsync_v0.1.0_linux_amd64,
// whose binary says v0.1.0 and the tagged revision; a dirty tree or an
// untagged commit is refused without SNAPSHOT=1.
func TestReleaseScriptTaggedVersion(t *testing.T) {
	requireReleaseBuild(t)
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	root := repoRoot(t)
	repo := t.TempDir()
	files, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	require.NoError(t, err)
	for _, name := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		fi, err := os.Lstat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the working tree
		}
		require.NoError(t, err)
		if !fi.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(src)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(repo, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(repo, name), b, fi.Mode().Perm()))
	}
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=release", "-c", "user.email=release@example.com",
			"-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "the tree")
	refuse := func(why string) {
		t.Helper()
		out, err := releaseScript(repo, t.TempDir(), nil, "linux/amd64")
		var ee *exec.ExitError
		require.True(t, errors.As(err, &ee) && ee.ExitCode() == 2, "%s: %v: %s", why, err, out)
		require.Contains(t, out, "HEAD is not a release tag vX.Y.Z on a clean tree", why)
	}
	refuse("an untagged commit")
	git("tag", "-a", "v0.1.0", "-m", "v0.1.0")
	head := git("rev-parse", "HEAD")
	require.NoError(t, os.WriteFile(filepath.Join(repo, "README.md"), []byte("changed\n"), 0o644))
	refuse("a dirty tree at the tag")
	git("checkout", "-q", "README.md")

	dist := t.TempDir()
	out, err := releaseScript(repo, dist, nil, "linux/amd64")
	require.NoError(t, err, out)
	require.Contains(t, out, "release: version v0.1.0\n")
	dir := unpack(t, filepath.Join(dist, "vitalsync_v0.1.0_linux_amd64.tar.gz"))
	bin := filepath.Join(dir, "vitalsync")
	text, err := exec.Command(bin, "--version").CombinedOutput()
	require.NoError(t, err, string(text))
	require.True(t, strings.HasPrefix(string(text), "vitalsync v0.1.0\n"), "%s", text)
	js, err := exec.Command(bin, "version", "--format", "json").CombinedOutput()
	require.NoError(t, err, string(js))
	var v versionInfo
	require.NoError(t, json.Unmarshal(js, &v), string(js))
	require.Equal(t, "v0.1.0", v.Version)
	require.Equal(t, head, v.Revision, "the toolchain's VCS stamp: the tagged commit")
	require.False(t, v.Modified)
}

// TestVersionOfARelease: the release script's stamp wins over the module
// version the toolchain records, and without one that version stays.
func TestVersionOfARelease(t *testing.T) {
	info := &debug.BuildInfo{GoVersion: "go1.26.0",
		Main: debug.Module{Path: "github.com/vitalsync/vitalsync", Version: "v0.1.1-0.20261206225849-f4f0940abc12+dirty"}}
	require.Equal(t, "v0.1.0", withRelease(toolchainVersion(info, true), "v0.1.0").Version)
	require.Equal(t, "snapshot-v0.1.0-3-gf4f0940-dirty", withRelease(toolchainVersion(info, true), "snapshot-v0.1.0-3-gf4f0940-dirty").Version)
	require.Equal(t, info.Main.Version, withRelease(toolchainVersion(info, true), "").Version)
	require.Equal(t, "unknown", withRelease(toolchainVersion(nil, false), "").Version)
	require.Equal(t, "v0.1.0", withRelease(toolchainVersion(nil, false), "v0.1.0").Version)
	require.Empty(t, releaseVersion, "only scripts/release.sh stamps it")
}

// TestBootstrapScript: scripts/bootstrap.sh says what the build does
// before it starts, installs the binary and runs it with its arguments.
func TestBootstrapScript(t *testing.T) {
	requireReleaseBuild(t)
	root := repoRoot(t)
	gobin := t.TempDir()
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "bootstrap.sh"), "--version")
	cmd.Dir = t.TempDir() // the script finds the repository itself
	cmd.Env = append(os.Environ(), "GOBIN="+gobin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	lines := strings.Split(stderr.String(), "\n")
	require.Regexp(t, `^bootstrap: building vitalsync: SQLite (is already compiled|'s C source compiles first)`, lines[0],
		"the first line says what the build is about to do")
	require.Contains(t, stderr.String(), "bootstrap: installed "+filepath.Join(gobin, "vitalsync")+" in ")
	require.True(t, strings.HasPrefix(stdout.String(), "vitalsync "), "it runs the binary: %s", stdout.String())
	_, err := os.Stat(filepath.Join(gobin, "vitalsync"))
	require.NoError(t, err)
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
