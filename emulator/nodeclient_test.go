package emulator_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
)

// nodePatch sends PATCH /v2/user/{id} as the official Node client's
// user.patch does (@tryvital/vital-node 3.1.551, src/api/resources/user/
// client/Client.ts): the API key in x-vital-api-key, a JSON body of the
// UserPatchBody serializer's snake_case fields, undefined fields left out.
func (h *harness) nodePatch(id string, body map[string]any) response {
	h.t.Helper()
	b, err := json.Marshal(body)
	require.NoError(h.t, err)
	return h.request("PATCH", "/v2/user/"+id, strings.NewReader(string(b)),
		"x-vital-api-key", h.em.APIKey(), "Content-Type", "application/json")
}

func TestNodeClientUserPatch(t *testing.T) {
	h := newHarness(t)
	id := h.createUser("alice")
	bob := h.createUser("bob")

	// await client.user.patch(id, {clientUserId: "alice-2", fallbackTimeZone: "Europe/London", ingestionStart: "2026-01-01"})
	r := h.nodePatch(id, map[string]any{"client_user_id": "alice-2", "fallback_time_zone": "Europe/London", "ingestion_start": "2026-01-01"})
	require.Equal(t, http.StatusNoContent, r.status, "body %s", r.body)
	u := decode[junction.User](t, h.getUser(id))
	require.Equal(t, "alice-2", u.ClientUserID)
	require.NotNil(t, u.FallbackTimeZone)
	require.Equal(t, "Europe/London", u.FallbackTimeZone.ID)
	require.NotNil(t, u.IngestionStart)
	require.Equal(t, "2026-01-01", *u.IngestionStart)
	require.Equal(t, id, decode[junction.User](t, h.api("GET", "/v2/user/resolve/alice-2", "")).UserID)
	require.Equal(t, http.StatusNotFound, h.api("GET", "/v2/user/resolve/alice", "").status, "the old client_user_id is free")
	require.NotEmpty(t, h.createUser("alice"), "and a new user can take it")

	// An empty patch (client.user.patch(id)) changes nothing; null clears an optional field.
	require.Equal(t, http.StatusNoContent, h.nodePatch(id, map[string]any{}).status)
	require.Equal(t, "alice-2", decode[junction.User](t, h.getUser(id)).ClientUserID)
	require.Equal(t, http.StatusNoContent, h.nodePatch(id, map[string]any{"fallback_time_zone": nil}).status)
	u = decode[junction.User](t, h.getUser(id))
	require.Nil(t, u.FallbackTimeZone)
	require.Equal(t, "2026-01-01", *u.IngestionStart, "a field the patch does not name is kept")

	// Another active user's client_user_id is the create-user conflict.
	r = h.nodePatch(id, map[string]any{"client_user_id": "bob"})
	require.Equal(t, http.StatusBadRequest, r.status, "body %s", r.body)
	require.Equal(t, "INVALID_REQUEST", errorType(t, r))
	require.Equal(t, "alice-2", decode[junction.User](t, h.getUser(id)).ClientUserID, "a refused patch changes nothing")

	// Validation: 422 with FastAPI's loc, as the client's UnprocessableEntityError parses it.
	v := validation(t, h.nodePatch(id, map[string]any{"client_user_id": nil}))
	require.Equal(t, []any{"body", "client_user_id"}, v[0].Loc)
	v = validation(t, h.nodePatch(id, map[string]any{"fallback_birth_date": "1 May 1990"}))
	require.Equal(t, []any{"body", "fallback_birth_date"}, v[0].Loc)
	v = validation(t, h.nodePatch(id, map[string]any{"client_user_id": strings.Repeat("x", 257)}))
	require.Equal(t, "string_too_long", v[0].Type)
	require.Equal(t, []any{"path", "user_id"}, validation(t, h.nodePatch("not-a-uuid", map[string]any{}))[0].Loc)

	// Who may patch, and whom.
	r = h.request("PATCH", "/v2/user/"+id, strings.NewReader(`{}`), "x-vital-api-key", "sk_us_wrong")
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.Equal(t, http.StatusOK, h.api("DELETE", "/v2/user/"+bob, "").status)
	require.Equal(t, http.StatusNotFound, h.nodePatch(bob, map[string]any{"client_user_id": "bob-2"}).status, "a deleted user")
	require.Equal(t, http.StatusNotFound, h.nodePatch("00000000-0000-4000-8000-000000000000", map[string]any{}).status)

	r = h.request("PUT", "/v2/user/"+id, nil, "x-vital-api-key", h.em.APIKey())
	require.Equal(t, http.StatusMethodNotAllowed, r.status)
	require.Equal(t, "DELETE, GET, PATCH", r.header.Get("Allow"))
}

// TestEveryNodeClientRoute calls every route the official Node client
// calls (vital_routes.txt, taken from the client's source): each is served
// or answers 501 naming the route and the client's method, never a 404 or
// 405 a client would read as "no such user".
func TestEveryNodeClientRoute(t *testing.T) {
	h := newHarness(t)
	id := h.createUser("alice")
	served := map[string]bool{
		"GET /v2/user": true, "POST /v2/user": true, "GET /v2/user/{user_id}": true,
		"GET /v2/user/resolve/{client_user_id}": true, "DELETE /v2/user/{user_id}": true,
		"PATCH /v2/user/{user_id}": true, "POST /v2/user/undo_delete": true,
		"POST /v2/user/{user_id}/sign_in_token": true,
	}
	f, err := os.Open("vital_routes.txt")
	require.NoError(t, err)
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		method, pattern, client := fields[0], fields[1], fields[2]
		route := method + " " + pattern
		segs := strings.Split(pattern, "/")
		for i, s := range segs {
			switch {
			case s == "{user_id}" && route == "DELETE /v2/user/{user_id}":
				segs[i] = h.createUser("to-delete") // alice is needed later
			case s == "{user_id}":
				segs[i] = id
			case s == "{client_user_id}":
				segs[i] = "alice"
			case strings.HasPrefix(s, "{"):
				segs[i] = "x1"
			}
		}
		path := strings.Join(segs, "/")
		body := ""
		if method == "POST" || method == "PATCH" || method == "PUT" {
			body = `{"client_user_id":"node-` + client + `"}`
		}
		r := h.api(method, path, body)
		n++
		if served[route] {
			require.NotContains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented}, r.status,
				"%s (%s): body %s", route, client, r.body)
			delete(served, route)
			continue
		}
		require.Equal(t, http.StatusNotImplemented, r.status, "%s %s (%s): body %s", method, path, client, r.body)
		d := detail(t, r)
		require.Contains(t, d, "not emulated: "+method+" "+path+" is "+route+" ("+client+" in the official Node client)", route)
	}
	require.NoError(t, err)
	require.Greater(t, n, 150, "the list holds the whole client")
	require.Empty(t, served, "served routes missing from the list")
}
