package emulatorclient

import (
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vitalsync/vitalsync/internal/atomicfile"
)

// EnvRuntimeDir overrides where running emulators leave their control
// tokens (TokenDir).
const EnvRuntimeDir = "VITALSYNC_RUNTIME_DIR"

// maxTokenFile bounds the size of a token file read.
const maxTokenFile = 64 << 10

// TokenDir is where a running emulator (vitalsync emulator, serve
// --emulator) leaves its control token for the clients its user runs, as
// Jupyter leaves its servers' tokens in its runtime directory:
// $VITALSYNC_RUNTIME_DIR, else $XDG_RUNTIME_DIR/vitalsync, else the user's
// cache directory's vitalsync/run. The directory is the user's alone (0700)
// and each file 0600: the token keeps web pages out, and another local
// user cannot read it.
func TokenDir() (string, error) {
	if d := os.Getenv(EnvRuntimeDir); d != "" {
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

// TokenPath is the token file of the emulator listening on port.
func TokenPath(port int) (string, error) {
	dir, err := TokenDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "emulator-"+strconv.Itoa(port)+".token"), nil
}

// PublishToken writes the control token of the emulator listening on port
// where DiscoverToken looks for it, atomically, and returns the function
// that removes it (at exit) unless another emulator has taken the port
// since. On an error it returns a function that does nothing.
func PublishToken(port int, token string) (func(), error) {
	none := func() {}
	path, err := TokenPath(port)
	if err != nil {
		return none, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return none, err
	}
	if err := atomicfile.Write(path, []byte(token+"\n")); err != nil {
		return none, err
	}
	return func() {
		if t, err := readToken(path); err == nil && t == token {
			os.Remove(path)
		}
	}, nil
}

// DiscoverToken returns the control token the emulator at baseURL left for
// its user, and false when there is none: not on this machine's loopback,
// or no file.
func DiscoverToken(baseURL string) (string, bool) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return "", false
	}
	host, portText := u.Hostname(), u.Port()
	if portText == "" {
		portText = "80"
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", false
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return "", false
	}
	path, err := TokenPath(port)
	if err != nil {
		return "", false
	}
	tok, err := readToken(path)
	return tok, err == nil && tok != ""
}

// readToken returns a token file's contents, white space trimmed.
func readToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile))
	return strings.TrimSpace(string(b)), err
}
