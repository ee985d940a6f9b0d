package emulator_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
	"github.com/vitalsync/vitalsync/fsm"
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

// busyEmulator returns a harness whose emulator has a bit of everything:
// active and deleted users with fallbacks, minted Sign-In Tokens, access
// tokens (one expired), refresh tokens in every state, an advanced clock.
// It returns a Sign-In Token, an access token and a refresh token that are
// still good.
func busyEmulator(t *testing.T) (h *harness, clock *emulatortest.Clock, signIn, access, refresh string) {
	clock = emulatortest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	h = serve(t, emulatortest.NewEmulator(emulator.WithClock(clock.Now), emulator.WithEnvironment(fsm.Production, fsm.EU)))
	alice := h.createUser("alice")
	r := h.api("POST", "/v2/user", `{"client_user_id":"bob","fallback_time_zone":"Europe/Paris","fallback_birth_date":"1990-01-02","ingestion_start":"2029-01-01"}`)
	require.Equal(t, http.StatusOK, r.status, "body %s", r.body)
	bob := decode[junction.UserKey](t, r).UserID
	carol := h.createUser("carol")
	mint := func(id string) string {
		return decode[junction.SignInTokenResponse](t, h.api("POST", "/v2/user/"+id+"/sign_in_token", "")).SignInToken
	}
	exchange := func(st string) junction.TokenResponse {
		return decode[junction.TokenResponse](t, h.form("/v1/token", url.Values{"grant_type": {junction.GrantTokenExchange},
			"subject_token_type": {junction.SubjectTokenTypeSignIn}, "subject_token": {signInJWT(t, st)}}))
	}
	refreshWith := func(rt string) junction.TokenResponse {
		return decode[junction.TokenResponse](t, h.form("/v1/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}))
	}
	a1 := exchange(mint(alice))
	a2 := refreshWith(a1.RefreshToken) // a1's refresh token is rotated
	h.em.Advance(90 * time.Minute)     // a1's and a2's access tokens expire
	exchange(mint(bob))
	h.em.RevokeRefreshTokens(bob)
	exchange(mint(carol))
	require.NoError(t, h.em.DeleteUser(carol)) // carol's tokens: user-deleted
	h.createUser("carol")                      // a new carol
	signIn = mint(alice)
	a3 := refreshWith(a2.RefreshToken)
	return h, clock, signIn, a3.AccessToken, a3.RefreshToken
}

func TestStateRoundTripsExactly(t *testing.T) {
	h, clock, signIn, access, refresh := busyEmulator(t)
	st := h.em.Export()
	first, err := emulator.MarshalState(st)
	require.NoError(t, err)
	states := map[string]int{}
	for _, r := range st.RefreshTokens {
		states[r.State]++
	}
	require.Equal(t, map[string]int{"active": 1, "rotated": 2, "revoked": 1, "user-deleted": 1}, states)
	require.Len(t, st.Users, 4)
	require.NotNil(t, st.Users[2].DeletedAt)

	parsed, err := emulator.UnmarshalState(first)
	require.NoError(t, err)
	restored, err := emulator.NewFromState(parsed, emulator.WithClock(clock.Now))
	require.NoError(t, err)
	second, err := emulator.MarshalState(restored.Export())
	require.NoError(t, err)
	require.Equal(t, string(first), string(second), "export, import, export: the same bytes")

	// The restored emulator answers as the original would.
	h2 := serve(t, restored)
	require.Equal(t, h.em.APIKey(), restored.APIKey())
	require.Equal(t, h.em.Now(), restored.Now(), "the clock's offset came along")
	require.Equal(t, http.StatusOK, h2.request("GET", "/v2/user/"+st.Users[0].UserID, nil, "Authorization", "Bearer "+access).status)
	tok := decode[junction.TokenResponse](t, h2.form("/v1/token", url.Values{"grant_type": {junction.GrantTokenExchange},
		"subject_token_type": {junction.SubjectTokenTypeSignIn}, "subject_token": {signInJWT(t, signIn)}}))
	require.NotEmpty(t, tok.AccessToken, "a Sign-In Token minted before the restart still exchanges")
	r := h2.form("/v1/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	require.Equal(t, http.StatusOK, r.status, "body %s", r.body)
	for _, rt := range st.RefreshTokens {
		if rt.State == "revoked" {
			r := h2.form("/v1/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt.Token}})
			require.Equal(t, junction.ErrorTypeReauthRequired, errorType(t, r))
		}
	}
	// Deleted users stay deleted, restorable, and free their client user ID.
	require.Equal(t, http.StatusOK, h2.api("GET", "/v2/user/resolve/carol", "").status)
	require.Equal(t, http.StatusNotFound, h2.api("GET", "/v2/user/"+st.Users[2].UserID, "").status)
	bob := decode[junction.User](t, h2.api("GET", "/v2/user/resolve/bob", ""))
	require.Equal(t, "Europe/Paris", bob.FallbackTimeZone.ID)
}

func TestStateFileIsPrivateAndAtomic(t *testing.T) {
	h, _, _, _, _ := busyEmulator(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "emulator.json")
	require.NoError(t, emulator.WriteStateFile(path, h.em.Export()))
	require.NoError(t, emulator.WriteStateFile(path, h.em.Export()), "overwrites")
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")
	st, err := emulator.ReadStateFile(path)
	require.NoError(t, err)
	require.Equal(t, h.em.Export(), st)

	_, err = emulator.ReadStateFile(filepath.Join(dir, "missing.json"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.NoError(t, os.WriteFile(path, []byte(`{"version":1,"surprise":true}`), 0o600))
	_, err = emulator.ReadStateFile(path)
	require.ErrorIs(t, err, emulator.ErrInvalidState)
}

func TestNewFromStateRefusesBadStates(t *testing.T) {
	h, _, _, _, _ := busyEmulator(t)
	good := h.em.Export()
	for name, breakIt := range map[string]func(*emulator.State){
		"version":         func(s *emulator.State) { s.Version = 2 },
		"environment":     func(s *emulator.State) { s.Environment = "staging" },
		"region":          func(s *emulator.State) { s.Region = "mars" },
		"negative offset": func(s *emulator.State) { s.ClockOffset = -1 },
		"bad key": func(s *emulator.State) {
			s.SigningKey = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
		},
		"user ID not a UUID":   func(s *emulator.State) { s.Users[0].UserID = "alice" },
		"upper-case user ID":   func(s *emulator.State) { s.Users[0].UserID = strings.ToUpper(s.Users[0].UserID) },
		"repeated user":        func(s *emulator.State) { s.Users[1].UserID = s.Users[0].UserID },
		"empty client user ID": func(s *emulator.State) { s.Users[0].ClientUserID = "" },
		"two active alices":    func(s *emulator.State) { s.Users[1].ClientUserID = "alice" },
		"zero deletion time":   func(s *emulator.State) { s.Users[2].DeletedAt = &time.Time{} },
		"access of nobody":     func(s *emulator.State) { s.AccessTokens[0].UserID = "00000000-0000-4000-8000-000000000000" },
		"repeated access":      func(s *emulator.State) { s.AccessTokens[1].Token = s.AccessTokens[0].Token },
		"refresh of nobody":    func(s *emulator.State) { s.RefreshTokens[0].UserID = "00000000-0000-4000-8000-000000000000" },
		"refresh state":        func(s *emulator.State) { s.RefreshTokens[0].State = "stolen" },
		"empty refresh":        func(s *emulator.State) { s.RefreshTokens[0].Token = "" },
		"sign-in of nobody":    func(s *emulator.State) { s.SignInTokens[0].UserID = "00000000-0000-4000-8000-000000000000" },
	} {
		b, err := emulator.MarshalState(good)
		require.NoError(t, err)
		st, err := emulator.UnmarshalState(b) // a deep copy
		require.NoError(t, err)
		breakIt(&st)
		_, err = emulator.NewFromState(st)
		require.ErrorIs(t, err, emulator.ErrInvalidState, name)
		var secrets emulatortest.Secrets
		secrets.Add(good.APIKey)
		for _, a := range good.AccessTokens {
			secrets.Add(a.Token)
		}
		secrets.CheckErr(t, err)
	}
	_, err := emulator.UnmarshalState([]byte(`{"version":1} {}`))
	require.ErrorIs(t, err, emulator.ErrInvalidState, "trailing data")
	_, err = emulator.UnmarshalState([]byte(`nope`))
	require.True(t, errors.Is(err, emulator.ErrInvalidState))
}

func TestLoadStateReadsWhatNewFromStateReads(t *testing.T) {
	h, clock, signIn, _, refresh := busyEmulator(t)
	first, err := emulator.MarshalState(h.em.Export())
	require.NoError(t, err)
	loaded, err := emulator.LoadState(bytes.NewReader(first), emulator.WithClock(clock.Now))
	require.NoError(t, err)
	second, err := emulator.MarshalState(loaded.Export())
	require.NoError(t, err)
	require.Equal(t, string(first), string(second))

	h2 := serve(t, loaded)
	tok := decode[junction.TokenResponse](t, h2.form("/v1/token", url.Values{"grant_type": {junction.GrantTokenExchange},
		"subject_token_type": {junction.SubjectTokenTypeSignIn}, "subject_token": {signInJWT(t, signIn)}}))
	require.NotEmpty(t, tok.AccessToken)
	require.Equal(t, http.StatusOK, h2.form("/v1/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}).status)
}

func TestLoadStateIsStrict(t *testing.T) {
	h, _, _, _, _ := busyEmulator(t)
	good, err := emulator.MarshalState(h.em.Export())
	require.NoError(t, err)
	g := string(good)
	for name, in := range map[string]string{
		"empty":            ``,
		"not an object":    `[1]`,
		"repeated field":   `{"version":1,"version":1}`,
		"unknown field":    `{"version":1,"surprise":true}`,
		"unknown in user":  `{"version":1,"users":[{"user_id":"00000000-0000-4000-8000-000000000001","client_user_id":"a","x":1}]}`,
		"users not a list": `{"version":1,"users":{}}`,
		"no version":       `{}`,
		"trailing data":    g + `{}`,
		"cut short":        g[:len(g)/2],
		"two alices": `{"version":1,"users":[{"user_id":"00000000-0000-4000-8000-000000000001","client_user_id":"a"},` +
			`{"user_id":"00000000-0000-4000-8000-000000000002","client_user_id":"a"}]}`,
		"token of nobody": `{"version":1,"access_tokens":[{"token":"t","user_id":"00000000-0000-4000-8000-000000000001"}]}`,
	} {
		_, err := emulator.LoadState(strings.NewReader(in))
		require.ErrorIs(t, err, emulator.ErrInvalidState, name)
	}
}

// zeros is /dev/zero.
type zeros struct{ read int64 }

func (z *zeros) Read(p []byte) (int, error) {
	clear(p)
	z.read += int64(len(p))
	return len(p), nil
}

// endlessUsers is an endless, well-formed state: a users list that never
// ends.
type endlessUsers struct {
	buf  bytes.Buffer
	next int
}

func (e *endlessUsers) Read(p []byte) (int, error) {
	for e.buf.Len() < len(p) {
		if e.next == 0 {
			e.buf.WriteString(`{"version":1,"users":[`)
		} else {
			e.buf.WriteString(",")
		}
		e.next++
		fmt.Fprintf(&e.buf, `{"user_id":"00000000-0000-4000-8000-%012d","client_user_id":"user-%d","created_on":"2026-01-01T00:00:00Z"}`, e.next, e.next)
	}
	return e.buf.Read(p)
}

func TestLoadStateRefusesEndlessInputInBoundedMemory(t *testing.T) {
	// /dev/zero is not JSON: refused at its first bytes.
	z := &zeros{}
	_, err := emulator.LoadState(z)
	require.ErrorIs(t, err, emulator.ErrInvalidState)
	require.Less(t, z.read, int64(1<<20), "refused without reading on")

	// A well-formed state that never ends stops at the byte limit, holding
	// no more than the users read so far.
	const limit = 8 << 20
	defer emulator.SetStateByteLimit(limit)()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	e := &endlessUsers{}
	_, err = emulator.LoadState(e)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, emulator.ErrStateTooLarge)
	require.ErrorIs(t, err, emulator.ErrInvalidState)
	require.Greater(t, e.next, limit/200, "it read users up to the limit")
	t.Logf("allocated %d bytes for %d users in %d bytes", after.TotalAlloc-before.TotalAlloc, e.next, limit)
	// Decoding the users (about 70k here) allocates some four times their
	// JSON; reading the whole input first never ends.
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(10*limit), "allocated %d bytes for %d bytes of input",
		after.TotalAlloc-before.TotalAlloc, limit)
}

func TestHandWrittenSeedFileNeedsNoKey(t *testing.T) {
	seed := `{
  "version": 1,
  "users": [
    {"user_id": "7f0c2f5e-8d5e-4c59-9f43-2a0d6e0b8a11", "client_user_id": "seed-alice", "created_on": "2026-01-01T00:00:00Z"},
    {"user_id": "7f0c2f5e-8d5e-4c59-9f43-2a0d6e0b8a12", "client_user_id": "seed-bob", "created_on": "2026-01-01T00:00:00Z",
     "fallback_time_zone": {"value": "Europe/Paris", "updated_at": "2026-01-01T00:00:00Z"}}
  ]
}`
	em, err := emulator.LoadState(strings.NewReader(seed), emulator.WithAPIKey("sk_us_seeded"))
	require.NoError(t, err, "no signing key, API key, team, environment or token lists")
	require.Equal(t, "sk_us_seeded", em.APIKey(), "the option applies where the state says nothing")
	require.NotEmpty(t, em.TeamID())
	h := serve(t, em)
	u := decode[junction.User](t, h.api("GET", "/v2/user/resolve/seed-bob", ""))
	require.Equal(t, "Europe/Paris", u.FallbackTimeZone.ID)

	// A Sign-In Token for a seeded user is signed with a key made for it,
	// and exchanges.
	st := decode[junction.SignInTokenResponse](t, h.api("POST", "/v2/user/7f0c2f5e-8d5e-4c59-9f43-2a0d6e0b8a11/sign_in_token", ""))
	r := h.form("/v1/token", url.Values{"grant_type": {junction.GrantTokenExchange},
		"subject_token_type": {junction.SubjectTokenTypeSignIn}, "subject_token": {signInJWT(t, st.SignInToken)}})
	require.Equal(t, http.StatusOK, r.status, "body %s", r.body)
	require.NotEmpty(t, em.Export().SigningKey, "and the key is kept from then on")

	// A state that names its key still refuses a bad one.
	_, err = emulator.LoadState(strings.NewReader(`{"version":1,"signing_key":"nope"}`))
	require.ErrorIs(t, err, emulator.ErrInvalidState)
}
