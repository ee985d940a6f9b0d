package sqlite

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// KeySize is the size of the key that seals secrets (AES-256).
const KeySize = 32

// sealVersion is the first byte of every sealed value: the format.
const sealVersion = 1

// sealer seals and opens secrets with AES-256-GCM. A sealed value is
// version byte || 12-byte random nonce || ciphertext and tag. The additional
// data binds it to its table, column and row key.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: key is %d bytes, want %d", ErrBadKey, len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return &sealer{aead: aead}, nil
}

// additionalData binds a sealed value to where it is stored.
func additionalData(table, column, key string) []byte {
	ad := make([]byte, 0, 16+len(table)+len(column)+len(key))
	ad = append(ad, "vitalsync/v1\x00"...)
	ad = append(ad, table...)
	ad = append(ad, 0)
	ad = append(ad, column...)
	ad = append(ad, 0)
	ad = append(ad, key...)
	return ad
}

// seal seals plaintext for table.column of the row key. The empty string is
// stored as NULL (nil).
func (s *sealer) seal(table, column, key, plaintext string) ([]byte, error) {
	if plaintext == "" {
		return nil, nil
	}
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := io.ReadFull(rand.Reader, out[1:]); err != nil {
		return nil, err
	}
	return s.aead.Seal(out, out[1:], []byte(plaintext), additionalData(table, column, key)), nil
}

// open opens a value sealed for table.column of the row key. NULL is "".
// A value too short or of an unknown format is a *ColumnError wrapping
// ErrCorrupt; one that does not open (another key, another place), a
// *ColumnError wrapping ErrBadKey.
func (s *sealer) open(table, column, key string, sealed []byte) (string, error) {
	if sealed == nil {
		return "", nil
	}
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() || sealed[0] != sealVersion {
		return "", &ColumnError{Table: table, Column: column, Key: key, Err: ErrCorrupt}
	}
	plain, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], additionalData(table, column, key))
	if err != nil {
		return "", &ColumnError{Table: table, Column: column, Key: key, Err: ErrBadKey}
	}
	return string(plain), nil
}

// loadOrCreateKey reads the key file at path, or creates it with a new
// random key and mode 0600. The new file appears atomically (a hard link of
// a fully written temporary file), so concurrent openers agree on one key.
func loadOrCreateKey(path string) ([]byte, error) {
	key, err := readKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key = make([]byte, KeySize)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), keyTempPrefix+"*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	// CreateTemp uses 0600; make sure of it whatever the umask.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKey(path) // another opener won
		}
		return nil, err
	}
	return key, nil
}

// keyTempPrefix starts the name of the temporary file a new key is written
// to before it is linked into place.
const keyTempPrefix = ".vitalsync-key-"

// strayKeyAge is how old a temporary key file must be to be stray: a live
// opener links its file and removes it within milliseconds, so one this old
// was left by a process killed in between.
const strayKeyAge = time.Minute

// removeStrayFiles removes, beside the database abs, the temporary key
// files and the temporary new databases (with their -wal and -shm) of
// openers killed before they removed theirs; errors are ignored (a file
// another process removes first, a read-only directory).
func removeStrayFiles(abs string, now time.Time) {
	dir := filepath.Dir(abs)
	keys, err := filepath.Glob(filepath.Join(dir, keyTempPrefix+"*"))
	if err != nil {
		return
	}
	inits, err := filepath.Glob(filepath.Join(dir, globEscape(initTempPrefix(abs))+"*"))
	if err != nil {
		return
	}
	for _, name := range append(keys, inits...) {
		fi, err := os.Lstat(name)
		if err != nil || !fi.Mode().IsRegular() || now.Sub(fi.ModTime()) < strayKeyAge {
			continue
		}
		_ = os.Remove(name)
	}
}

// globEscape escapes filepath.Match's metacharacters in s.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// readKey reads a key file: exactly KeySize bytes.
func readKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: key file %s is %d bytes, want %d", ErrBadKey, path, len(key), KeySize)
	}
	return key, nil
}
