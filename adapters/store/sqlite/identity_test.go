package sqlite

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
	"github.com/vitalsync/vitalsync/issuer"
)

// An installation's identity is created once (random, or the given ID),
// survives a relaunch, sealed; its sequence only grows; a renewal replaces
// ID and key and restarts the sequence.
func TestInstallationIdentity(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	_, err := db.NextReportSequence(ctx, "default")
	require.ErrorIs(t, err, ErrInvalid, "a sequence before the identity")

	id, key, err := db.InstallationIdentity(ctx, "default", "")
	require.NoError(t, err)
	require.Regexp(t, `^[0-9a-f]{32}$`, id)
	require.Len(t, key, issuer.InstallationKeySize)
	other, _, err := db.InstallationIdentity(ctx, "second", "")
	require.NoError(t, err)
	require.NotEqual(t, id, other)
	given, _, err := db.InstallationIdentity(ctx, "phone-1", "phone-1")
	require.NoError(t, err)
	require.Equal(t, "phone-1", given)

	for want := uint64(1); want <= 3; want++ {
		seq, err := db.NextReportSequence(ctx, "default")
		require.NoError(t, err)
		require.Equal(t, want, seq)
	}
	db = reopen(t, db, path)
	again, againKey, err := db.InstallationIdentity(ctx, "default", "ignored")
	require.NoError(t, err)
	require.Equal(t, id, again)
	require.Equal(t, key, againKey)
	seq, err := db.NextReportSequence(ctx, "default")
	require.NoError(t, err)
	require.Equal(t, uint64(4), seq)

	// The key is sealed: it is not in the file in the clear.
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NotContains(t, string(raw), string(key))

	newID, newKey, err := db.RenewInstallationIdentity(ctx, "default")
	require.NoError(t, err)
	require.NotEqual(t, id, newID)
	require.NotEqual(t, key, newKey)
	seq, err = db.NextReportSequence(ctx, "default")
	require.NoError(t, err)
	require.Equal(t, uint64(1), seq)
	got, gotKey, err := db.InstallationIdentity(ctx, "default", "")
	require.NoError(t, err)
	require.Equal(t, newID, got)
	require.Equal(t, newKey, gotKey)

	_, _, err = db.InstallationIdentity(ctx, "bad", "id\x00")
	require.ErrorIs(t, err, ErrInvalid)
	_, _, err = db.InstallationIdentity(ctx, "", "")
	require.ErrorIs(t, err, ErrInvalid)

	// A damaged key is ErrCorrupt, never a key of another length.
	rawExec(t, path, `UPDATE installation_identity SET key = x'0102' WHERE installation = 'default'`)
	_, _, err = db.InstallationIdentity(ctx, "default", "")
	require.ErrorIs(t, err, ErrCorrupt)
}

// A temporary key file left by an opener killed between writing and
// linking it is removed by the next open; one a live opener may still be
// writing (recent) is left alone.
func TestOpenRemovesStrayKeyFiles(t *testing.T) {
	dir := t.TempDir()
	stray := filepath.Join(dir, ".vitalsync-key-1234567")
	fresh := filepath.Join(dir, ".vitalsync-key-7654321")
	other := filepath.Join(dir, "notes.txt")
	for _, p := range []string{stray, fresh, other} {
		require.NoError(t, os.WriteFile(p, make([]byte, KeySize), 0o600))
	}
	old := time.Now().Add(-2 * time.Minute)
	require.NoError(t, os.Chtimes(stray, old, old))
	require.NoError(t, os.Chtimes(other, old, old))
	db, err := OpenDevice(context.Background(), filepath.Join(dir, "state.db"))
	require.NoError(t, err)
	require.NoError(t, db.Close())
	require.NoFileExists(t, stray)
	require.FileExists(t, fresh)
	require.FileExists(t, other)
	left, err := filepath.Glob(filepath.Join(dir, ".vitalsync-key-*"))
	require.NoError(t, err)
	require.Equal(t, []string{fresh}, left, "the open's own temporary file was not removed")
}

// A file one byte short, or with a fixed field of its header changed
// (issue: bytes 20 and 52 flipped, the write version byte 18), is refused
// on open and reported by Inspect, and neither changes it.
func TestOpenRefusesDamagedHeaderAndSize(t *testing.T) {
	ctx := context.Background()
	for name, damage := range map[string]func(t *testing.T, path string){
		"one byte short": func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(path, fi.Size()-1))
		},
		"one page short": func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(path, fi.Size()-4096))
		},
		"byte 18": flipByte(18), "byte 19": flipByte(19), "byte 20": flipByte(20), "byte 52": flipByte(52),
		"byte 44": flipByte(44 + 3), "byte 56": flipByte(56 + 3), "byte 64": flipByte(64 + 3), "byte 80": flipByte(80),
	} {
		t.Run(name, func(t *testing.T) {
			path := closedWithSecrets(t)
			damage(t, path)
			before := fileSum(t, path)
			_, err := OpenDevice(ctx, path)
			require.ErrorIs(t, err, ErrCorrupt)
			h, err := Inspect(ctx, path)
			require.NoError(t, err)
			require.False(t, h.OK(), "Inspect found it healthy")
			require.ErrorIs(t, h.Problems[0].Err, ErrCorrupt)
			require.Equal(t, before, fileSum(t, path), "a check changed the file")
		})
	}
}

func flipByte(off int64) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		require.NoError(t, err)
		defer f.Close()
		b := make([]byte, 1)
		_, err = f.ReadAt(b, off)
		require.NoError(t, err)
		b[0] ^= 0xff
		_, err = f.WriteAt(b, off)
		require.NoError(t, err)
	}
}

// Inspect reports what a launch's first write would meet: a folder or a
// file it cannot write (an immutable file refuses even root), and names a
// directory in place of the file as such; Open refuses the directory with
// the same error.
func TestInspectReportsWhatWritesWouldMeet(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state.db")
	require.NoError(t, os.Mkdir(dir, 0o700))
	_, err := OpenDevice(ctx, dir)
	require.ErrorIs(t, err, ErrNotFile)
	require.NotErrorIs(t, err, ErrNotDatabase)
	require.Contains(t, err.Error(), "a directory")
	h, err := Inspect(ctx, dir)
	require.NoError(t, err)
	require.Len(t, h.Problems, 1)
	require.ErrorIs(t, h.Problems[0].Err, ErrNotFile)

	path := closedWithSecrets(t)
	h, err = Inspect(ctx, path)
	require.NoError(t, err)
	require.True(t, h.OK(), "%v", h.Problems)

	t.Run("read-only folder", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("running as root: folder permissions do not stop its writes")
		}
		path := closedWithSecrets(t)
		require.NoError(t, os.Chmod(filepath.Dir(path), 0o500))
		t.Cleanup(func() { os.Chmod(filepath.Dir(path), 0o700) })
		requireProblem(t, path, "writable", ErrNotWritable)
	})
	t.Run("immutable file", func(t *testing.T) {
		path := closedWithSecrets(t)
		if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
			t.Skipf("chattr +i unavailable here: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("chattr", "-i", path).Run() })
		requireProblem(t, path, "writable", ErrNotWritable)
		// And the write does fail, as Inspect said.
		db, err := OpenDevice(ctx, path)
		if err == nil {
			err = db.SaveDevice(ctx, vitalsdk.DeviceState{Installation: "x"})
			db.Close()
		}
		require.Error(t, err)
	})
}

func requireProblem(t *testing.T, path, check string, want error) {
	t.Helper()
	h, err := Inspect(context.Background(), path)
	require.NoError(t, err)
	for _, p := range h.Problems {
		if p.Check == check && errors.Is(p.Err, want) {
			return
		}
	}
	t.Fatalf("want a %s problem wrapping %v, got %v", check, want, h.Problems)
}

// CheckWrite fails, as unavailable, where a write would: an immutable file.
func TestCheckWrite(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	require.NoError(t, db.CheckWrite(ctx))
	var v int
	require.NoError(t, db.rdb.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v))
	require.Equal(t, len(mustMigrations(t)), v, "the probe changed the schema version")
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		t.Skipf("chattr +i unavailable here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", path).Run() })
	err := db.CheckWrite(ctx)
	require.Error(t, err)
	require.ErrorIs(t, err, issuer.ErrStoreUnavailable)
}
