package emulator_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
)

// A request's changes are in the log when its answer arrives; a GET
// flushes nothing, and a failed flush reaches onErr.
func TestFlushAfterEachRequest(t *testing.T) {
	em := emulatortest.NewEmulator()
	require.NoError(t, em.SeedUsers(3))
	require.NoError(t, em.SeedUsers(4), "the users that exist are kept")
	require.Len(t, em.Export().Users, 4)
	require.Equal(t, "seed-user-004", em.Export().Users[3].ClientUserID)

	dir, d := attachTemp(t, em)
	var failed []error
	h := d.FlushAfterEachRequest(em.Handler(), func(err error) { failed = append(failed, err) })
	call := func(method, path, body string) int {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("x-vital-api-key", em.APIKey())
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	logFile := filepath.Join(dir, emulator.LogFile)
	size := func() int64 {
		fi, err := os.Stat(logFile)
		require.NoError(t, err)
		return fi.Size()
	}
	empty := size()
	require.Equal(t, http.StatusOK, call("POST", "/v2/user", `{"client_user_id":"alice"}`))
	after := size()
	require.Greater(t, after, empty, "the creation is in the log when the answer arrives")
	require.Equal(t, http.StatusOK, call("GET", "/v2/user/resolve/alice", ""))
	require.Equal(t, after, size())
	require.Equal(t, exported(t, em), exported(t, reload(t, dir)))

	require.NoError(t, d.Close())
	call("POST", "/v2/user", `{"client_user_id":"bob"}`)
	require.Len(t, failed, 1, "a flush after Close fails")
}
