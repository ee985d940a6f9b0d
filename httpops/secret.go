package httpops

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// MaxSecretFile bounds the size of a secret file ReadSecretFile reads.
const MaxSecretFile = 64 << 10

// ErrEmptySecret means a secret file or variable holds only white space.
var ErrEmptySecret = errors.New("empty")

// ErrSecretTooLarge means a secret file is larger than MaxSecretFile.
var ErrSecretTooLarge = fmt.Errorf("larger than %d bytes", MaxSecretFile)

// ReadSecretFile returns the contents of a secret file (an API key, a
// session secret: a mounted Kubernetes secret, say), surrounding white
// space trimmed, so that the secret never sits on a command line. Its
// errors never hold the contents, nor the path: an fs error's cause
// (fs.ErrNotExist, …), ErrEmptySecret or ErrSecretTooLarge, for the caller
// to name the file.
func ReadSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return "", pe.Err
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSecretFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > MaxSecretFile {
		return "", ErrSecretTooLarge
	}
	return trimSecret(string(b))
}

// LookupSecretEnv returns the secret the environment variable name holds,
// white space trimmed, and false when it is unset or empty; one that holds
// only white space is ErrEmptySecret.
func LookupSecretEnv(name string) (string, bool, error) {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return "", false, nil
	}
	v, err := trimSecret(v)
	return v, err == nil, err
}

func trimSecret(s string) (string, error) {
	if s = strings.TrimSpace(s); s == "" {
		return "", ErrEmptySecret
	}
	return s, nil
}
