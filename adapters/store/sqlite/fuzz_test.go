package sqlite

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzSealer: any plaintext round-trips, and any bytes given to open either
// fail with ErrBadKey or ErrCorrupt or are exactly a value sealed for that
// place.
func FuzzSealer(f *testing.F) {
	s, err := newSealer(bytes.Repeat([]byte{3}, KeySize))
	require.NoError(f, err)
	sealed, err := s.seal("t", "c", "k", "secret")
	require.NoError(f, err)
	f.Add("secret", sealed)
	f.Add("", []byte{})
	f.Add("x", []byte{sealVersion})
	f.Add("eyJ…", append([]byte{2}, sealed[1:]...))
	f.Fuzz(func(t *testing.T, plain string, raw []byte) {
		c, err := s.seal("t", "c", "k", plain)
		require.NoError(t, err)
		got, err := s.open("t", "c", "k", c)
		require.NoError(t, err)
		require.Equal(t, plain, got)
		if plain != "" {
			_, err = s.open("t", "c", "other", c)
			require.ErrorIs(t, err, ErrBadKey)
		}

		got, err = s.open("t", "c", "k", raw)
		if err != nil {
			require.True(t, errors.Is(err, ErrBadKey) || errors.Is(err, ErrCorrupt), err)
			return
		}
		// Only a value sealed for this place opens: the seed.
		if raw != nil {
			require.Equal(t, "secret", got)
		}
	})
}

// FuzzOpenFile: whatever a file holds, Open either opens it or returns an
// *OpenError and leaves the file as it was.
func FuzzOpenFile(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("not a database"))
	f.Add(append([]byte(nil), sqliteHeader...))
	f.Add(append(append([]byte(nil), sqliteHeader...), bytes.Repeat([]byte{0xff}, 1024)...))
	f.Add(append(append([]byte(nil), sqliteHeader...), 0x10, 0x00, 1, 1, 0, 64, 32, 32))
	f.Fuzz(func(t *testing.T, content []byte) {
		path := filepath.Join(t.TempDir(), "state.db")
		require.NoError(t, os.WriteFile(path, content, 0o600))
		db, err := OpenDevice(context.Background(), path, WithKey(make([]byte, KeySize)))
		if err == nil {
			require.NoError(t, db.Close())
			return
		}
		var oe *OpenError
		require.ErrorAs(t, err, &oe)
		after, rerr := os.ReadFile(path)
		require.NoError(t, rerr)
		require.Equal(t, content, after, "a refused file was modified")
	})
}
