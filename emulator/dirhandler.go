package emulator

import (
	"errors"
	"fmt"
	"net/http"
)

// FlushAfterEachRequest returns h flushing d after each request that may
// change the state ([Dir.Flush]): the changes are in the log, synced,
// before the answer leaves the server's buffer, so a client that saw an
// answer finds its effect after a restart. A change is one short line
// whatever the state's size; concurrent requests share one sync. GET and
// HEAD change nothing, so they never wait for another request's sync.
// onErr, when set, gets a flush's error (the answer has been written).
func (d *Dir) FlushAfterEachRequest(h http.Handler, onErr func(error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return
		}
		if err := d.Flush(); err != nil && onErr != nil {
			onErr(err)
		}
	})
}

// SeedUsers creates the users seed-user-001 … seed-user-N (the client user
// IDs, numbered with at least three digits); those that exist are kept.
func (e *Emulator) SeedUsers(n int) error {
	for i := 1; i <= n; i++ {
		if _, err := e.CreateUser(fmt.Sprintf("seed-user-%03d", i)); err != nil && !errors.Is(err, ErrClientUserIDTaken) {
			return err
		}
	}
	return nil
}
