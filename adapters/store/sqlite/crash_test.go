//go:build unix

package sqlite

import (
	"bufio"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/vitalsdk"
)

// The child of TestKillDuringFirstOpen: it opens (creating) the database
// named by envFirstOpenChild, stores a device with secrets and prints
// "saved".
const envFirstOpenChild = "VITALSYNC_SQLITE_FIRST_OPEN_CHILD"

// envLong asks for the long runs of the kill tests.
const envLong = "VITALSYNC_LONG"

// crashDevice is what the child stores: sealed secrets included.
var crashDevice = vitalsdk.DeviceState{Installation: "dev-1", Strategy: vitalsdk.StrategyAPIKey,
	APIKey: "sk_us_crash_secret", APIKeyUserID: "u1",
	Record: &vitalsdk.TokenRecord{UserID: "u1", AccessToken: "acc-crash", RefreshToken: "ref-crash"}}

func TestFirstOpenChild(t *testing.T) {
	path := os.Getenv(envFirstOpenChild)
	if path == "" {
		t.Skip("run by TestKillDuringFirstOpen")
	}
	os.Stdout.WriteString("ready\n")
	ctx := context.Background()
	db, err := OpenDevice(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SaveDevice(ctx, crashDevice); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("saved\n")
}

// firstOpenChild starts a child that opens a new database at path, waits
// until it is about to call Open, and returns it with the time it signalled.
func firstOpenChild(t *testing.T, path string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFirstOpenChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envFirstOpenChild+"="+path)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if sc.Text() == "ready" {
			return cmd, sc
		}
	}
	cmd.Wait()
	t.Fatalf("the child never got ready: %v", sc.Err())
	return nil, nil
}

// TestKillDuringFirstOpen kills a process at random moments of the very
// first open of a new database file (creation, the switch to WAL, the
// migrations, the key file, the first write), then checks that the file
// opens and works, and that what the child reported saved is there.
// VITALSYNC_LONG=1 runs many kills.
func TestKillDuringFirstOpen(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	kills := 6
	if os.Getenv(envLong) == "1" {
		kills = 500
	}
	// Measure a whole child once: the kills fall within that window.
	start := time.Now()
	cmd, sc := firstOpenChild(t, filepath.Join(t.TempDir(), "state.db"))
	ready := time.Since(start)
	for sc.Scan() {
	}
	require.NoError(t, cmd.Wait())
	window := time.Since(start) - ready
	t.Logf("a first open and save takes %v after the child is ready", window)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	var killed, saved, hot int
	for i := range kills {
		path := filepath.Join(t.TempDir(), "state.db")
		cmd, sc := firstOpenChild(t, path)
		time.Sleep(time.Duration(rng.Int64N(int64(window) + 1)))
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		childSaved := false
		for sc.Scan() {
			childSaved = childSaved || sc.Text() == "saved"
		}
		err := cmd.Wait()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			ws, ok := exit.Sys().(syscall.WaitStatus)
			require.True(t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL, "kill %d: child failed: %v", i, err)
			killed++
		} else {
			require.NoError(t, err, "kill %d", i)
		}
		if childSaved {
			saved++
		}
		if fi, err := os.Stat(path + "-journal"); err == nil && fi.Size() > 0 {
			hot++ // the state that used to make the file unusable
		}
		requireUsableAfterKill(t, path, childSaved, i)
	}
	t.Logf("%d runs: %d killed before exiting, %d had saved, %d left a rollback journal; every file opened and worked",
		kills, killed, saved, hot)
}

// requireUsableAfterKill opens the file a killed first open left and checks
// that it works: it opens, what was saved loads, and a sealed secret written
// now reads back, now and after a reopen.
func requireUsableAfterKill(t *testing.T, path string, childSaved bool, i int) {
	t.Helper()
	ctx := context.Background()
	leftover := listDir(t, filepath.Dir(path))
	db, err := OpenDevice(ctx, path)
	require.NoError(t, err, "kill %d: files left: %v", i, leftover)
	if childSaved {
		got, ok, err := db.LoadDevice(ctx, crashDevice.Installation)
		require.NoError(t, err, "kill %d", i)
		require.True(t, ok, "kill %d: the saved device is gone", i)
		require.Equal(t, crashDevice, got, "kill %d", i)
	}
	dev := crashDevice
	dev.Installation = "after-" + strconv.Itoa(i)
	require.NoError(t, db.SaveDevice(ctx, dev), "kill %d", i)
	db = reopen(t, db, path)
	got, ok, err := db.LoadDevice(ctx, dev.Installation)
	require.NoError(t, err, "kill %d", i)
	require.True(t, ok)
	require.Equal(t, dev, got)
	require.NoError(t, db.Close())
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		fi, err := e.Info()
		require.NoError(t, err)
		names = append(names, e.Name()+"("+strconv.FormatInt(fi.Size(), 10)+")")
	}
	return names
}
