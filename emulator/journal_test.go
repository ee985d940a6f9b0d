package emulator_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
)

// flushing serves em and flushes d after every request, as the command
// does.
func flushing(t *testing.T, em *emulator.Emulator, d *emulator.Dir) *harness {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		em.Handler().ServeHTTP(w, r)
		require.NoError(t, d.Flush())
	})
	// The control plane answers loopback only: serve it at one.
	return serveAt(t, em, "127.0.0.1:8787", h)
}

// attachTemp attaches em to a new temporary directory.
func attachTemp(t *testing.T, em *emulator.Emulator) (string, *emulator.Dir) {
	t.Helper()
	dir := t.TempDir()
	d, err := emulator.AttachDir(dir, em)
	require.NoError(t, err)
	return dir, d
}

// reload loads the emulator kept in dir, failing the test on an error.
func reload(t *testing.T, dir string, opts ...emulator.Option) *emulator.Emulator {
	t.Helper()
	em, err := emulator.LoadDir(dir, opts...)
	require.NoError(t, err)
	return em
}

// exported is the emulator's state as JSON.
func exported(t *testing.T, em *emulator.Emulator) string {
	t.Helper()
	b, err := emulator.MarshalState(em.Export())
	require.NoError(t, err)
	return string(b)
}

// everyKindOfChange makes, through the API and the control plane, each
// change the emulator keeps.
func everyKindOfChange(t *testing.T, h *harness) {
	t.Helper()
	exchange := func(id string) junction.TokenResponse {
		st := decode[junction.SignInTokenResponse](t, h.api("POST", "/v2/user/"+id+"/sign_in_token", ""))
		return decode[junction.TokenResponse](t, h.form("/v1/token", url.Values{"grant_type": {junction.GrantTokenExchange},
			"subject_token_type": {junction.SubjectTokenTypeSignIn}, "subject_token": {signInJWT(t, st.SignInToken)}}))
	}
	alice := h.createUser("alice")
	r := h.api("POST", "/v2/user", `{"client_user_id":"bob","fallback_time_zone":"Europe/Paris","ingestion_start":"2029-01-01"}`)
	require.Equal(t, http.StatusOK, r.status)
	bob := decode[junction.UserKey](t, r).UserID
	require.Equal(t, http.StatusNoContent, h.api("PATCH", "/v2/user/"+bob, `{"client_user_id":"bobby","fallback_birth_date":"1990-01-02"}`).status)
	a := exchange(alice)
	require.Equal(t, http.StatusOK, h.form("/v1/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {a.RefreshToken}}).status)
	h.em.Advance(10 * time.Minute)
	exchange(bob)
	require.Equal(t, http.StatusOK, h.control("POST", "/_emulator/users/"+bob+"/revoke-refresh-tokens", "").status)
	require.Equal(t, http.StatusOK, h.control("POST", "/_emulator/users/"+alice+"/expire-access-tokens", "").status)
	require.Equal(t, http.StatusOK, h.control("POST", "/_emulator/clock/advance", `{"by":"5m"}`).status)

	// A legacy (Identity Toolkit) sign-in: its refresh token is marked legacy.
	st := decode[junction.SignInTokenResponse](t, h.api("POST", "/v2/user/"+alice+"/sign_in_token", ""))
	tok, err := junction.DecodeSignInToken(st.SignInToken, junction.DecodeOptions{})
	require.NoError(t, err)
	r = h.request("POST", "/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken?key="+url.QueryEscape(h.em.PublicAPIKey()),
		strings.NewReader(`{"token":`+quote(tok.UserToken)+`,"tenantId":`+quote(tok.Claims.TenantID)+`,"returnSecureToken":true}`),
		"Content-Type", "application/json")
	require.Equal(t, http.StatusOK, r.status, "body %s", r.body)

	require.Equal(t, http.StatusOK, h.api("DELETE", "/v2/user/"+alice, "").status)
	carol := h.createUser("carol")
	exchange(carol)
	require.Equal(t, http.StatusOK, h.api("DELETE", "/v2/user/"+carol, "").status)
	require.Equal(t, http.StatusOK, h.api("POST", "/v2/user/undo_delete?user_id="+carol, "").status)
}

func TestDirKeepsEveryChange(t *testing.T) {
	clock := emulatortest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	em := emulatortest.NewEmulator(emulator.WithClock(clock.Now))
	dir, d := attachTemp(t, em)
	h := flushing(t, em, d)
	everyKindOfChange(t, h)

	// Killed here: no Close. The snapshot and the log give the same state.
	loaded := reload(t, dir, emulator.WithClock(clock.Now))
	require.Equal(t, exported(t, em), exported(t, loaded))
	var legacy int
	for _, r := range loaded.Export().RefreshTokens {
		if r.Legacy {
			legacy++
		}
	}
	require.Equal(t, 1, legacy, "a legacy refresh token stays legacy")

	// A reset, and changes after it, replay too.
	require.Equal(t, http.StatusOK, h.control("POST", "/_emulator/reset", "").status)
	h.createUser("after-reset")
	loaded = reload(t, dir, emulator.WithClock(clock.Now))
	require.Equal(t, exported(t, em), exported(t, loaded))
	require.Len(t, loaded.Export().Users, 1)

	// Close folds the log into the snapshot.
	require.NoError(t, d.Close())
	b, err := os.ReadFile(filepath.Join(dir, emulator.LogFile))
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(b), "\n"), "only the header is left: %s", b)
	loaded = reload(t, dir, emulator.WithClock(clock.Now))
	require.Equal(t, exported(t, em), exported(t, loaded))
	require.Error(t, d.Flush(), "closed")
}

// TestDirAppendsAChangeNotTheState is the cost of one change with a large
// state: one short line appended, the snapshot untouched (the whole state
// was rewritten on every change before).
func TestDirAppendsAChangeNotTheState(t *testing.T) {
	em := emulatortest.NewEmulator()
	for i := range 5000 {
		_, err := em.CreateUser(fmt.Sprintf("user-%05d", i))
		require.NoError(t, err)
	}
	dir, d := attachTemp(t, em)
	snap := filepath.Join(dir, emulator.SnapshotFile)
	before, err := os.Stat(snap)
	require.NoError(t, err)
	require.Greater(t, before.Size(), int64(512<<10), "a large state")
	logBefore, err := os.Stat(filepath.Join(dir, emulator.LogFile))
	require.NoError(t, err)

	h := flushing(t, em, d)
	h.createUser("one-more")

	after, err := os.Stat(snap)
	require.NoError(t, err)
	require.Equal(t, before.Sys().(*syscall.Stat_t).Ino, after.Sys().(*syscall.Stat_t).Ino, "the snapshot is not rewritten")
	require.Equal(t, before.ModTime(), after.ModTime())
	logAfter, err := os.Stat(filepath.Join(dir, emulator.LogFile))
	require.NoError(t, err)
	grown := logAfter.Size() - logBefore.Size()
	require.Positive(t, grown)
	require.Less(t, grown, int64(1024), "one change, one short line")
	loaded := reload(t, dir)
	require.Len(t, loaded.Export().Users, 5001)
}

func TestDirCompactsAndSurvivesACrashWhileCompacting(t *testing.T) {
	defer emulator.SetCompactSlack(4 << 10)()
	em := emulatortest.NewEmulator()
	dir, d := attachTemp(t, em)
	h := flushing(t, em, d)
	snap := filepath.Join(dir, emulator.SnapshotFile)
	first, err := os.ReadFile(snap)
	require.NoError(t, err)
	for i := range 200 {
		h.createUser(fmt.Sprintf("user-%d", i))
	}
	second, err := os.ReadFile(snap)
	require.NoError(t, err)
	require.NotEqual(t, string(first), string(second), "the log outgrew the snapshot: a new snapshot")
	info, err := os.Stat(filepath.Join(dir, emulator.LogFile))
	require.NoError(t, err)
	require.Less(t, info.Size(), int64(2*len(second)+4<<10+1024))
	loaded := reload(t, dir)
	require.Equal(t, exported(t, em), exported(t, loaded))

	// A crash after the new snapshot is in place but before the new log
	// is: the old log continues another snapshot, and is ignored (the new
	// snapshot holds its changes).
	oldLog, err := os.ReadFile(filepath.Join(dir, emulator.LogFile))
	require.NoError(t, err)
	h.createUser("after")
	require.NoError(t, d.Close()) // a new snapshot holding "after"
	require.NoError(t, os.WriteFile(filepath.Join(dir, emulator.LogFile), oldLog, 0o600))
	loaded = reload(t, dir)
	require.Equal(t, exported(t, em), exported(t, loaded))
}

func TestDirLogDamage(t *testing.T) {
	em := emulatortest.NewEmulator()
	dir, d := attachTemp(t, em)
	h := flushing(t, em, d)
	h.createUser("alice")
	h.createUser("bob")
	logPath := filepath.Join(dir, emulator.LogFile)
	good, err := os.ReadFile(logPath)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(good), "\n")
	require.Len(t, lines, 4) // header, alice, bob, ""

	// A last line cut short by a crash was never acknowledged: skipped.
	require.NoError(t, os.WriteFile(logPath, []byte(lines[0]+lines[1]+lines[2][:len(lines[2])/2]), 0o600))
	loaded := reload(t, dir)
	require.Len(t, loaded.Export().Users, 1)

	// A damaged line before the end is refused, naming the line.
	require.NoError(t, os.WriteFile(logPath, []byte(lines[0]+"{\"user\":{}}\n"+lines[2]), 0o600))
	_, err = emulator.LoadDir(dir)
	require.ErrorIs(t, err, emulator.ErrInvalidLog)
	require.Contains(t, err.Error(), "line 2")
	require.NoError(t, os.WriteFile(logPath, []byte(lines[0]+"{\"surprise\":1}\n"), 0o600))
	_, err = emulator.LoadDir(dir)
	require.ErrorIs(t, err, emulator.ErrInvalidLog)
	require.NoError(t, os.WriteFile(logPath, []byte("not a header\n"+lines[1]), 0o600))
	_, err = emulator.LoadDir(dir)
	require.ErrorIs(t, err, emulator.ErrInvalidLog)

	// No snapshot: nothing kept.
	_, err = emulator.LoadDir(t.TempDir())
	require.ErrorIs(t, err, os.ErrNotExist)
}

// A directory kept before the log existed holds only emulator.json: it
// loads as it is, and attaching starts a log beside it.
func TestDirReadsAStateFileWithoutALog(t *testing.T) {
	h, clock, _, _, _ := busyEmulator(t)
	dir := t.TempDir()
	require.NoError(t, emulator.WriteStateFile(filepath.Join(dir, emulator.SnapshotFile), h.em.Export()))
	loaded := reload(t, dir, emulator.WithClock(clock.Now))
	require.Equal(t, exported(t, h.em), exported(t, loaded))
	d, err := emulator.AttachDir(dir, loaded)
	require.NoError(t, err)
	_, err = loaded.CreateUser("dora")
	require.NoError(t, err)
	require.NoError(t, d.Flush())
	again := reload(t, dir, emulator.WithClock(clock.Now))
	require.Equal(t, exported(t, loaded), exported(t, again))
}

// A write of the log that fails (a full disk) loses nothing: the changes
// stay queued and go out with the next flush that can write.
func TestDirKeepsChangesAWriteFailedOn(t *testing.T) {
	em := emulatortest.NewEmulator()
	dir, d := attachTemp(t, em)
	_, err := em.CreateUser("alice")
	require.NoError(t, err)
	require.NoError(t, d.Flush())

	readOnly, err := os.Open(filepath.Join(dir, emulator.LogFile))
	require.NoError(t, err)
	writable := d.SwapLog(readOnly)
	_, err = em.CreateUser("bob")
	require.NoError(t, err)
	require.Error(t, d.Flush(), "the write fails")
	loaded := reload(t, dir)
	require.Len(t, loaded.Export().Users, 1, "bob is not on disk yet, and the log is not damaged")

	d.SwapLog(writable)
	readOnly.Close()
	_, err = em.CreateUser("carol")
	require.NoError(t, err)
	require.NoError(t, d.Flush())
	loaded = reload(t, dir)
	require.Equal(t, exported(t, em), exported(t, loaded), "bob went out with carol")
	require.NoError(t, d.Close())
}
