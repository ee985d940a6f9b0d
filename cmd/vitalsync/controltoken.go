package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// envRuntimeDir overrides where running emulators leave their control
// tokens (controlTokenDir).
const envRuntimeDir = "VITALSYNC_RUNTIME_DIR"

// controlTokenDir is where a running emulator (vitalsync emulator, serve
// --emulator) leaves its control token for the subcommands its user runs,
// as Jupyter leaves its servers' tokens in its runtime directory:
// $VITALSYNC_RUNTIME_DIR, else $XDG_RUNTIME_DIR/vitalsync, else the user's
// cache directory's vitalsync/run. The directory is the user's alone
// (0700) and each file 0600: the token keeps web pages out, and another
// local user cannot read it.
func controlTokenDir() (string, error) {
	if d := os.Getenv(envRuntimeDir); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "vitalsync"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "vitalsync", "run"), nil
}

// controlTokenPath is the token file of the emulator listening on port.
func controlTokenPath(port int) (string, error) {
	dir, err := controlTokenDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "emulator-"+strconv.Itoa(port)+".token"), nil
}

// publishControlToken writes token where the subcommands look for it and
// returns the function that removes it (at exit). A failure is only
// logged by the caller: the token is also printed.
func publishControlToken(port int, token string) (func(), error) {
	path, err := controlTokenPath(port)
	if err != nil {
		return func() {}, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return func() {}, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".emulator-token-*")
	if err != nil {
		return func() {}, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(token + "\n"); err != nil {
		tmp.Close()
		return func() {}, err
	}
	if err := tmp.Close(); err != nil {
		return func() {}, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return func() {}, err
	}
	return func() {
		// Only our own: another emulator may have taken the port since.
		if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == token {
			os.Remove(path)
		}
	}, nil
}

// discoverControlToken returns the token a running emulator on base's
// loopback port left for its user, and false when there is none (another
// host, no file).
func discoverControlToken(base string) (string, bool) {
	u, err := url.Parse(base)
	if err != nil {
		return "", false
	}
	host, portText := u.Hostname(), u.Port()
	if portText == "" {
		portText = "80"
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", false
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return "", false
	}
	path, err := controlTokenPath(port)
	if err != nil {
		return "", false
	}
	tok, err := readSecretFile(path)
	if err != nil {
		return "", false
	}
	return tok, true
}

// errNoControlToken is the usage error of a change without a token.
var errNoControlToken = errors.New("no control token")

func noControlTokenError(name string) error {
	return usageErr(fmt.Errorf("emulator %s changes the emulator: %w: give the one it printed at start with --control-token-file F or $%s (an emulator on this machine's loopback leaves it in %s for its user)",
		name, errNoControlToken, envControlToken, "$"+envRuntimeDir+", $XDG_RUNTIME_DIR/vitalsync or ~/.cache/vitalsync/run"))
}
