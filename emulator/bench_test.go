package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
)

func BenchmarkEmulatorCreateUser(b *testing.B) {
	benchCreateUsers(b, emulatortest.NewEmulator(), nil)
}

// benchCreateUsers measures POST /v2/user on em, served in process, with
// save (if not nil) run after each create.
func benchCreateUsers(b *testing.B, em *emulator.Emulator, save func() error) {
	key := em.APIKey()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := httptest.NewRequest("POST", "/v2/user", strings.NewReader(`{"client_user_id":"user-`+strconv.Itoa(i)+`"}`))
		req.Header.Set("X-Vital-API-Key", key)
		rec := httptest.NewRecorder()
		em.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("create user: %d %s", rec.Code, rec.Body)
		}
		if save != nil {
			if err := save(); err != nil {
				b.Fatal(err)
			}
		}
		i++
	}
}

func BenchmarkEmulatorTokenExchange(b *testing.B) {
	em := emulatortest.NewEmulator()
	req := httptest.NewRequest("POST", "/v2/user", strings.NewReader(`{"client_user_id":"alice"}`))
	req.Header.Set("X-Vital-API-Key", em.APIKey())
	rec := httptest.NewRecorder()
	em.ServeHTTP(rec, req)
	userID := decodeRecorder[junction.UserKey](b, rec).UserID

	req = httptest.NewRequest("POST", "/v2/user/"+userID+"/sign_in_token", nil)
	req.Header.Set("X-Vital-API-Key", em.APIKey())
	rec = httptest.NewRecorder()
	em.ServeHTTP(rec, req)
	st, err := junction.DecodeSignInToken(decodeRecorder[junction.SignInTokenResponse](b, rec).SignInToken, junction.DecodeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	form := url.Values{
		"grant_type":         {junction.GrantTokenExchange},
		"subject_token_type": {junction.SubjectTokenTypeSignIn},
		"subject_token":      {st.UserToken},
	}.Encode()

	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/auth/v1/token", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		em.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("exchange: %d %s", rec.Code, rec.Body)
		}
	}
}

func decodeRecorder[T any](b *testing.B, rec *httptest.ResponseRecorder) T {
	b.Helper()
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		b.Fatal(err)
	}
	return v
}

// benchPersistedCreate measures a create-user with the state kept on disk,
// the way the command keeps it, over users users: save(em) runs after each
// create.
func benchPersistedCreate(b *testing.B, users int, attach func(dir string, em *emulator.Emulator) (save func() error)) {
	em := emulatortest.NewEmulator()
	for i := range users {
		if _, err := em.CreateUser("seed-" + strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
	}
	benchCreateUsers(b, em, attach(b.TempDir(), em))
}

// BenchmarkEmulatorPersistedCreate compares the state directory's append
// log (Dir) with rewriting the whole state file after each change (what
// the command did before), at 100 and 100,000 users (about 15 MB of state).
func BenchmarkEmulatorPersistedCreate(b *testing.B) {
	for _, users := range []int{100, 100000} {
		b.Run("log/users="+strconv.Itoa(users), func(b *testing.B) {
			benchPersistedCreate(b, users, func(dir string, em *emulator.Emulator) func() error {
				d, err := emulator.AttachDir(dir, em)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { d.Close() })
				return d.Flush
			})
		})
		b.Run("rewrite/users="+strconv.Itoa(users), func(b *testing.B) {
			benchPersistedCreate(b, users, func(dir string, em *emulator.Emulator) func() error {
				path := filepath.Join(dir, emulator.SnapshotFile)
				return func() error { return emulator.WriteStateFile(path, em.Export()) }
			})
		})
	}
}
