package emulator_test

import (
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
	"github.com/vitalsync/vitalsync/fsm"
)

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
