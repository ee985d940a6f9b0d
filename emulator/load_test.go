package emulator_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
)

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
