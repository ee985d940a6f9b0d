package emulator_test

import (
	"bytes"
	"encoding/json"
	"io"
	mathrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
	"github.com/vitalsync/vitalsync/emulator/emulatortest"
	"github.com/vitalsync/vitalsync/fsm"
)

// harness is an emulator and an HTTP client for it: served in process by
// the test kit's transport, or over loopback HTTP where a test needs the
// real wire (hijacked connections, a client's hang-up).
type harness struct {
	t      *testing.T
	em     *emulator.Emulator
	url    string
	client *http.Client
}

// newHarness serves, in process, an emulator built with the kit's signing
// key and opts.
func newHarness(t *testing.T, opts ...emulator.Option) *harness {
	t.Helper()
	return serve(t, emulatortest.NewEmulator(opts...))
}

// serve serves em in process.
func serve(t *testing.T, em *emulator.Emulator) *harness {
	return serveAt(t, em, "emulator.test", em)
}

// serveAt serves handler (em, or em.Handler() with the control plane) in
// process at host.
func serveAt(t *testing.T, em *emulator.Emulator, host string, handler http.Handler) *harness {
	tr := emulatortest.NewTransport(map[string]http.Handler{host: handler})
	return &harness{t: t, em: em, url: "http://" + host, client: tr.Client()}
}

// newLoopbackHarness serves, over loopback HTTP, an emulator built with the
// kit's signing key and opts.
func newLoopbackHarness(t *testing.T, opts ...emulator.Option) *harness {
	t.Helper()
	em := emulatortest.NewEmulator(opts...)
	return serveLoopback(t, em, em)
}

// serveLoopback serves handler (em, or em.Handler()) over loopback HTTP
// until the test ends.
func serveLoopback(t *testing.T, em *emulator.Emulator, handler http.Handler) *harness {
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return &harness{t: t, em: em, url: srv.URL, client: srv.Client()}
}

// response is a read response.
type response struct {
	status int
	header http.Header
	body   []byte
}

// request sends a request with the given headers (name, value pairs).
func (h *harness) request(method, path string, body io.Reader, headers ...string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, body)
	require.NoError(h.t, err)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := h.client.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// api sends a request with the team API key.
func (h *harness) api(method, path, body string) response {
	h.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	return h.request(method, path, r, "X-Vital-API-Key", h.em.APIKey(), "Content-Type", "application/json")
}

// form posts a form to the token endpoint at path.
func (h *harness) form(path string, v url.Values) response {
	h.t.Helper()
	return h.request("POST", path, strings.NewReader(v.Encode()), "Content-Type", "application/x-www-form-urlencoded")
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	var v T
	require.NoError(t, json.Unmarshal(r.body, &v), "body %s", r.body)
	return v
}

// detail decodes a {"detail": "…"} body.
func detail(t *testing.T, r response) string {
	t.Helper()
	return decode[struct {
		Detail string `json:"detail"`
	}](t, r).Detail
}

// errorType decodes a {"detail": {"error_type": …}} body.
func errorType(t *testing.T, r response) string {
	t.Helper()
	return decode[struct {
		Detail junction.ErrorDetail `json:"detail"`
	}](t, r).Detail.ErrorType
}

// validation decodes a 422 body.
func validation(t *testing.T, r response) []emulator.ValidationError {
	t.Helper()
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "body %s", r.body)
	v := decode[struct {
		Detail []emulator.ValidationError `json:"detail"`
	}](t, r).Detail
	require.NotEmpty(t, v)
	return v
}

func (h *harness) createUser(clientUserID string) string {
	h.t.Helper()
	r := h.api("POST", "/v2/user", `{"client_user_id":`+quote(clientUserID)+`}`)
	require.Equal(h.t, http.StatusOK, r.status, "body %s", r.body)
	k := decode[junction.UserKey](h.t, r)
	require.Equal(h.t, clientUserID, k.ClientUserID)
	require.True(h.t, junction.IsUUID(k.UserID) && strings.ToLower(k.UserID) == k.UserID, "user_id %q", k.UserID)
	return k.UserID
}

func (h *harness) getUser(userID string) response {
	h.t.Helper()
	return h.api("GET", "/v2/user/"+userID, "")
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestZeroValueServesEverything(t *testing.T) {
	h := serve(t, &emulator.Emulator{})
	require.True(t, strings.HasPrefix(h.em.APIKey(), "sk_us_emulator_"), "API key prefix")
	require.True(t, junction.IsUUID(h.em.TeamID()))
	env, region := h.em.Environment()
	require.Equal(t, fsm.Sandbox, env)
	require.Equal(t, fsm.US, region)

	id := h.createUser("alice")
	u := decode[junction.User](t, h.getUser(id))
	require.Equal(t, h.em.TeamID(), u.TeamID)

	// The zero value generates its own key, and its tokens exchange.
	tok := h.signInToken(id)
	st, err := junction.DecodeSignInToken(tok, junction.DecodeOptions{})
	require.NoError(t, err)
	require.NoError(t, junction.VerifySignInToken(st, h.em.PublicKey()))
	require.Equal(t, emulator.KeyBits, h.em.PublicKey().N.BitLen())
	r := h.exchange(st.UserToken)
	require.Equal(t, http.StatusOK, r.status, "body %s", r.body)
}

func TestNewDefaultsDependOnEnvironment(t *testing.T) {
	em := emulator.New(emulator.WithEnvironment(fsm.Production, fsm.EU), emulator.WithTeamID("team-1"), emulator.WithAPIKey(""))
	require.True(t, strings.HasPrefix(em.APIKey(), "pk_eu_emulator_"), "API key %q", em.APIKey())
	require.Equal(t, "team-1", em.TeamID())
	require.Equal(t, "k", emulator.New(emulator.WithAPIKey("k")).APIKey())
	require.NotEqual(t, emulator.New().APIKey(), emulator.New().APIKey(), "default keys are random")
}

func TestOptionsPanicOnNonsense(t *testing.T) {
	require.Panics(t, func() { emulator.WithTokenTTL(0) })
	require.Panics(t, func() { emulator.WithAccessTTL(time.Millisecond) })
	require.Panics(t, func() { emulator.WithEnvironment("staging", fsm.US) })
	require.Panics(t, func() { emulator.WithEnvironment(fsm.Sandbox, "ap") })
	require.Panics(t, func() { emulator.New().Advance(-time.Second) })
}

func TestWithRandIsDeterministic(t *testing.T) {
	ids := func() (string, string, string) {
		h := newHarness(t, emulator.WithRand(mathrand.NewChaCha8([32]byte{1})))
		return h.em.APIKey(), h.em.TeamID(), h.createUser("u")
	}
	k1, t1, u1 := ids()
	k2, t2, u2 := ids()
	require.Equal(t, k1, k2)
	require.Equal(t, t1, t2)
	require.Equal(t, u1, u2)
}

func TestAPIKeyAuthentication(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name    string
		headers []string
		want    int
	}{
		{"missing", nil, http.StatusUnauthorized},
		{"wrong", []string{"X-Vital-API-Key", "sk_us_wrong"}, http.StatusUnauthorized},
		{"empty", []string{"X-Vital-API-Key", ""}, http.StatusUnauthorized},
		{"bearer scheme missing", []string{"Authorization", "Basic Zm9vOmJhcg=="}, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.request("GET", "/v2/user", nil, tc.headers...)
			require.Equal(t, tc.want, r.status, "body %s", r.body)
			require.NotEmpty(t, detail(t, r))
			require.NotContains(t, string(r.body), "sk_us_wrong", "the presented key is not echoed")
		})
	}

	// Header names are case-insensitive: the SDKs send x-vital-api-key.
	req, err := http.NewRequest("GET", h.url+"/v2/user", nil)
	require.NoError(t, err)
	req.Header["x-vital-api-key"] = []string{h.em.APIKey()}
	resp, err := h.client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestCreateUser(t *testing.T) {
	h := newHarness(t)
	h.em.Advance(time.Minute)
	before := h.em.Now()
	id := h.createUser("alice")

	r := h.getUser(id)
	require.Equal(t, http.StatusOK, r.status)
	u := decode[junction.User](t, r)
	require.Equal(t, id, u.UserID)
	require.Equal(t, "alice", u.ClientUserID)
	require.Equal(t, h.em.TeamID(), u.TeamID)
	require.True(t, u.CreatedOn.Equal(before), "created_on %v, want %v", u.CreatedOn, before)
	require.NotNil(t, u.ConnectedSources)
	require.Empty(t, u.ConnectedSources)
	require.Nil(t, u.FallbackTimeZone)
	require.Contains(t, string(r.body), `"connected_sources":[]`)

	// Optional fields round-trip in the ClientFacingUser shape.
	r = h.api("POST", "/v2/user", `{"client_user_id":"bob","fallback_time_zone":"Europe/London",
		"fallback_birth_date":"1980-03-13","ingestion_start":"2024-01-01","ingestion_end":null,"unknown":1}`)
	require.Equal(t, http.StatusOK, r.status, "body %s", r.body)
	u = decode[junction.User](t, h.getUser(decode[junction.UserKey](t, r).UserID))
	require.NotNil(t, u.FallbackTimeZone)
	require.Equal(t, "Europe/London", u.FallbackTimeZone.ID)
	require.NotNil(t, u.FallbackBirthDate)
	require.Equal(t, "1980-03-13", u.FallbackBirthDate.Value)
	require.NotNil(t, u.IngestionStart)
	require.Equal(t, "2024-01-01", *u.IngestionStart)
	require.Nil(t, u.IngestionEnd)
}

func TestCreateUserConflict(t *testing.T) {
	h := newHarness(t)
	id := h.createUser("alice")
	created := decode[junction.User](t, h.getUser(id)).CreatedOn
	h.em.Advance(time.Hour)

	r := h.api("POST", "/v2/user", `{"client_user_id":"alice"}`)
	require.Equal(t, http.StatusBadRequest, r.status)
	d := decode[struct {
		Detail junction.ErrorDetail `json:"detail"`
	}](t, r).Detail
	require.Equal(t, "INVALID_REQUEST", d.ErrorType)
	require.NotEmpty(t, d.ErrorMessage)
	require.Equal(t, id, d.UserID)
	require.NotNil(t, d.CreatedOn)
	require.True(t, d.CreatedOn.Equal(created), "created_on %v, want %v", d.CreatedOn, created)

	// client_user_id is case-sensitive.
	h.createUser("ALICE")
	require.Equal(t, 2, decode[junction.UsersPage](t, h.api("GET", "/v2/user", "")).Total)
}

func TestCreateUserConcurrentSameClientUserID(t *testing.T) {
	h := newHarness(t)
	const n = 16
	statuses := make([]int, n)
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", h.url+"/v2/user", strings.NewReader(`{"client_user_id":"same"}`))
			req.Header.Set("X-Vital-API-Key", h.em.APIKey())
			resp, err := h.client.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			var body struct {
				UserID string `json:"user_id"`
				Detail struct {
					UserID string `json:"user_id"`
				} `json:"detail"`
			}
			json.NewDecoder(resp.Body).Decode(&body)
			statuses[i], ids[i] = resp.StatusCode, body.UserID+body.Detail.UserID
		})
	}
	wg.Wait()
	ok := 0
	for i := range n {
		require.Contains(t, []int{http.StatusOK, http.StatusBadRequest}, statuses[i])
		require.Equal(t, ids[0], ids[i], "every answer names the one user")
		if statuses[i] == http.StatusOK {
			ok++
		}
	}
	require.Equal(t, 1, ok, "exactly one create succeeds")
	require.Equal(t, n, h.em.Requests(emulator.RouteCreateUser))
}

func TestCreateUserValidation(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name, body string
		loc        []any
		typ        string
	}{
		{"empty body", "", []any{"body"}, "missing"},
		{"null body", "null", []any{"body"}, "missing"},
		{"bad JSON", `{"client_user_id":`, []any{"body", float64(0)}, "json_invalid"},
		{"not an object", `["alice"]`, []any{"body"}, "model_attributes_type"},
		{"missing client_user_id", `{}`, []any{"body", "client_user_id"}, "missing"},
		{"null client_user_id", `{"client_user_id":null}`, []any{"body", "client_user_id"}, "string_type"},
		{"empty client_user_id", `{"client_user_id":""}`, []any{"body", "client_user_id"}, "string_too_short"},
		{"number client_user_id", `{"client_user_id":42}`, []any{"body", "client_user_id"}, "string_type"},
		{"bad birth date", `{"client_user_id":"a","fallback_birth_date":"13/03/1980"}`, []any{"body", "fallback_birth_date"}, "date_from_datetime_parsing"},
		{"bad ingestion end", `{"client_user_id":"a","ingestion_end":"tomorrow"}`, []any{"body", "ingestion_end"}, "date_from_datetime_parsing"},
		{"empty time zone", `{"client_user_id":"a","fallback_time_zone":""}`, []any{"body", "fallback_time_zone"}, "string_too_short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := validation(t, h.api("POST", "/v2/user", tc.body))
			require.Equal(t, tc.loc, v[0].Loc)
			require.Equal(t, tc.typ, v[0].Type)
			require.NotEmpty(t, v[0].Msg)
		})
	}
	require.Equal(t, 0, decode[junction.UsersPage](t, h.api("GET", "/v2/user", "")).Total, "no user was created")

	big := `{"client_user_id":"` + strings.Repeat("x", emulator.MaxBody) + `"}`
	require.Equal(t, http.StatusRequestEntityTooLarge, h.api("POST", "/v2/user", big).status)
}

func TestGetUser(t *testing.T) {
	h := newHarness(t)
	id := h.createUser("alice")

	// iOS reports user IDs in upper case; the API parses UUIDs.
	u := decode[junction.User](t, h.getUser(strings.ToUpper(id)))
	require.Equal(t, id, u.UserID)

	r := h.getUser("00000000-0000-4000-8000-000000000000")
	require.Equal(t, http.StatusNotFound, r.status)
	require.NotEmpty(t, detail(t, r))

	v := validation(t, h.getUser("not-a-uuid"))
	require.Equal(t, []any{"path", "user_id"}, v[0].Loc)
	require.Equal(t, "uuid_parsing", v[0].Type)
}

func TestResolveUser(t *testing.T) {
	h := newHarness(t)
	id := h.createUser("app user/1 ü")

	r := h.api("GET", "/v2/user/resolve/"+url.PathEscape("app user/1 ü"), "")
	require.Equal(t, http.StatusOK, r.status, "body %s", r.body)
	u := decode[junction.User](t, r)
	require.Equal(t, id, u.UserID)
	require.Equal(t, "app user/1 ü", u.ClientUserID)

	r = h.api("GET", "/v2/user/resolve/nobody", "")
	require.Equal(t, http.StatusNotFound, r.status)
	require.NotEmpty(t, detail(t, r))
}

func TestListUsers(t *testing.T) {
	h := newHarness(t)
	var ids []string
	for i := range 5 {
		ids = append(ids, h.createUser(string(rune('a'+i))))
	}
	require.NoError(t, h.em.DeleteUser(ids[1]))

	page := decode[junction.UsersPage](t, h.api("GET", "/v2/user", ""))
	require.Equal(t, 4, page.Total)
	require.Equal(t, 0, page.Offset)
	require.Equal(t, 100, page.Limit)
	var got []string
	for _, u := range page.Users {
		got = append(got, u.UserID)
	}
	require.Equal(t, []string{ids[0], ids[2], ids[3], ids[4]}, got, "active users in creation order")

	page = decode[junction.UsersPage](t, h.api("GET", "/v2/user?offset=1&limit=2", ""))
	require.Equal(t, 4, page.Total)
	require.Equal(t, 1, page.Offset)
	require.Equal(t, 2, page.Limit)
	require.Len(t, page.Users, 2)
	require.Equal(t, ids[2], page.Users[0].UserID)
	require.Equal(t, ids[3], page.Users[1].UserID)

	r := h.api("GET", "/v2/user?offset=10", "")
	require.Contains(t, string(r.body), `"users":[]`, "an empty page is an empty list, not null")

	for _, tc := range []struct{ query, param, typ string }{
		{"limit=0", "limit", "greater_than_equal"},
		{"limit=101", "limit", "less_than_equal"},
		{"limit=x", "limit", "int_parsing"},
		{"offset=-1", "offset", "greater_than_equal"},
		{"offset=" + strings.Repeat("9", 30), "offset", "int_parsing"},
	} {
		v := validation(t, h.api("GET", "/v2/user?"+tc.query, ""))
		require.Equal(t, []any{"query", tc.param}, v[0].Loc, tc.query)
		require.Equal(t, tc.typ, v[0].Type, tc.query)
	}
}

func TestDeleteUser(t *testing.T) {
	h := newHarness(t)
	id := h.createUser("alice")

	r := h.api("DELETE", "/v2/user/"+id, "")
	require.Equal(t, http.StatusOK, r.status, "body %s", r.body)
	require.Equal(t, junction.UserSuccessResponse{Success: true}, decode[junction.UserSuccessResponse](t, r))

	require.Equal(t, http.StatusNotFound, h.getUser(id).status)
	require.Equal(t, http.StatusNotFound, h.api("GET", "/v2/user/resolve/alice", "").status)
	require.Equal(t, http.StatusNotFound, h.api("DELETE", "/v2/user/"+id, "").status, "deleting twice")
	require.Equal(t, http.StatusNotFound, h.api("POST", "/v2/user/"+id+"/sign_in_token", "").status)
	require.Equal(t, "uuid_parsing", validation(t, h.api("DELETE", "/v2/user/x", ""))[0].Type)

	// Deletion frees the client_user_id.
	id2 := h.createUser("alice")
	require.NotEqual(t, id, id2)

	require.ErrorIs(t, h.em.DeleteUser(id), emulator.ErrUserNotFound)
	require.ErrorIs(t, h.em.DeleteUser("nope"), emulator.ErrUserNotFound)
	require.NoError(t, h.em.DeleteUser(strings.ToUpper(id2)))
	require.Equal(t, http.StatusNotFound, h.getUser(id2).status)
}

func TestUndoDelete(t *testing.T) {
	h := newHarness(t)
	undo := func(query string) response { return h.api("POST", "/v2/user/undo_delete?"+query, "") }
	id := h.createUser("alice")
	created := decode[junction.User](t, h.getUser(id)).CreatedOn
	require.NoError(t, h.em.DeleteUser(id))

	// Exactly one of the parameters.
	for _, q := range []string{"", "user_id=" + id + "&client_user_id=alice", "user_id=&client_user_id="} {
		r := undo(q)
		require.Equal(t, http.StatusBadRequest, r.status, "query %q", q)
		require.NotEmpty(t, detail(t, r))
	}
	require.Equal(t, "uuid_parsing", validation(t, undo("user_id=nope"))[0].Type)
	require.Equal(t, http.StatusNotFound, undo("user_id=00000000-0000-4000-8000-000000000000").status)
	require.Equal(t, http.StatusNotFound, undo("client_user_id=nobody").status)

	// Within the grace period, by user_id: the same user comes back.
	h.em.Advance(emulator.DeletionGracePeriod - time.Second)
	r := undo("user_id=" + id)
	require.Equal(t, http.StatusOK, r.status, "body %s", r.body)
	require.True(t, decode[junction.UserSuccessResponse](t, r).Success)
	u := decode[junction.User](t, h.getUser(id))
	require.Equal(t, "alice", u.ClientUserID)
	require.True(t, u.CreatedOn.Equal(created))
	require.Equal(t, http.StatusOK, undo("user_id="+id).status, "undoing an active user changes nothing")
	require.Equal(t, http.StatusOK, undo("client_user_id=alice").status, "undoing an active user changes nothing")

	// By client_user_id.
	require.NoError(t, h.em.DeleteUser(id))
	require.Equal(t, http.StatusOK, undo("client_user_id=alice").status)
	require.Equal(t, http.StatusOK, h.getUser(id).status)

	// Impossible once a new user took the client_user_id.
	require.NoError(t, h.em.DeleteUser(id))
	newID := h.createUser("alice")
	for _, q := range []string{"user_id=" + id, "client_user_id=alice"} {
		r = undo(q)
		require.Equal(t, http.StatusBadRequest, r.status, "query %q", q)
		d := decode[struct {
			Detail junction.ErrorDetail `json:"detail"`
		}](t, r).Detail
		require.Equal(t, "INVALID_REQUEST", d.ErrorType)
		require.Equal(t, newID, d.UserID)
	}
	// Deleting the new user makes both restorable; by client_user_id the
	// most recently deleted one comes back.
	require.NoError(t, h.em.DeleteUser(newID))
	require.Equal(t, http.StatusOK, undo("client_user_id=alice").status)
	require.Equal(t, newID, decode[junction.User](t, h.api("GET", "/v2/user/resolve/alice", "")).UserID)
	require.NoError(t, h.em.DeleteUser(newID))
	require.Equal(t, http.StatusOK, undo("user_id="+id).status)
	require.Equal(t, id, decode[junction.User](t, h.api("GET", "/v2/user/resolve/alice", "")).UserID)

	// After the grace period the user is gone for good.
	require.NoError(t, h.em.DeleteUser(id))
	h.em.Advance(emulator.DeletionGracePeriod)
	require.Equal(t, http.StatusNotFound, undo("user_id="+id).status)
	require.Equal(t, http.StatusNotFound, undo("client_user_id=alice").status)
	require.Equal(t, http.StatusNotFound, h.getUser(id).status)
}

func TestUnknownRoutesFailLoudly(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/", http.StatusNotFound, ""},
		{"GET", "/v2/users", http.StatusNotFound, ""},
		{"GET", "/v2/user//", http.StatusNotFound, ""},
		{"GET", "/securetoken.googleapis.com/v1/token", http.StatusMethodNotAllowed, "POST"},
		{"POST", "/v2/timeseries/x/steps", http.StatusNotImplemented, ""},
		{"GET", "/v2/user/a/b/c", http.StatusNotFound, ""},
		{"POST", "/v1/accounts:signInWithCustomToken", http.StatusNotImplemented, ""},
		{"GET", "/auth/v2/token", http.StatusNotFound, ""},
		{"PUT", "/v2/user", http.StatusMethodNotAllowed, "GET, POST"},
		{"PUT", "/v2/user/00000000-0000-4000-8000-000000000000", http.StatusMethodNotAllowed, "DELETE, GET, PATCH"},
		{"GET", "/v2/user/metrics", http.StatusNotImplemented, ""},
		{"DELETE", "/v2/user/x/sign_in_token", http.StatusNotImplemented, ""},
		{"GET", "/v1/token", http.StatusMethodNotAllowed, "POST"},
		{"GET", "/auth/v1/token", http.StatusMethodNotAllowed, "POST"},
		{"GET", "/v2/user/undo_delete", http.StatusMethodNotAllowed, "POST"},
		{"POST", "/v2/user/resolve/x", http.StatusMethodNotAllowed, "GET"},
		{"GET", "/v2/user/x/sign_in_token", http.StatusMethodNotAllowed, "POST"},
	} {
		r := h.request(tc.method, tc.path, nil, "X-Vital-API-Key", h.em.APIKey())
		require.Equal(t, tc.status, r.status, "%s %s", tc.method, tc.path)
		require.NotEmpty(t, detail(t, r), "%s %s", tc.method, tc.path)
		require.Equal(t, tc.allow, r.header.Get("Allow"), "%s %s", tc.method, tc.path)
	}
	require.Equal(t, 17, h.em.TotalRequests())
	for _, rt := range emulator.Routes() {
		require.Zero(t, h.em.Requests(rt), "%s", rt)
	}
}

func TestClock(t *testing.T) {
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var mu sync.Mutex
	now := base
	h := newHarness(t, emulator.WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }))
	require.Equal(t, base, h.em.Now())
	id := h.createUser("a")
	require.True(t, decode[junction.User](t, h.getUser(id)).CreatedOn.Equal(base))

	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	h.em.Advance(time.Minute)
	require.Equal(t, base.Add(time.Hour+time.Minute), h.em.Now(), "Advance adds to the injected clock")

	// The default clock stands still until advanced.
	em := emulator.New()
	t0 := em.Now()
	require.Equal(t, t0, em.Now())
	require.Equal(t, t0.Truncate(time.Second), t0)
	require.WithinDuration(t, time.Now(), t0, time.Minute)
	em.Advance(90 * time.Second)
	require.Equal(t, t0.Add(90*time.Second), em.Now())
}

func TestNoSecretsInErrorBodies(t *testing.T) {
	h := newHarness(t)
	id := h.createUser("a")
	tok := h.signInToken(id)
	st, err := junction.DecodeSignInToken(tok, junction.DecodeOptions{})
	require.NoError(t, err)
	tr := decode[junction.TokenResponse](t, h.exchange(st.UserToken))
	require.NoError(t, h.em.DeleteUser(id))

	secrets := []string{h.em.APIKey(), tok, st.UserToken, tr.AccessToken, tr.RefreshToken}
	var bodies [][]byte
	for _, r := range []response{
		h.request("GET", "/v2/user", nil, "X-Vital-API-Key", h.em.APIKey()+"x"),
		h.request("GET", "/v2/user/"+id, nil, "Authorization", "Bearer "+tr.AccessToken),
		h.exchange(st.UserToken),
		h.exchange(st.UserToken + "x"),
		h.refresh(tr.RefreshToken),
		h.form("/v1/token", url.Values{"grant_type": {"password"}, "password": {tr.RefreshToken}}),
	} {
		require.GreaterOrEqual(t, r.status, 400)
		bodies = append(bodies, r.body)
	}
	for _, b := range bodies {
		for _, s := range secrets {
			require.False(t, bytes.Contains(b, []byte(s)), "error body %s holds a secret", b)
		}
	}
}

// client_user_id is bounded: MaxClientUserIDLen characters are stored,
// one more is a 422 like FastAPI's string_too_long, and a body over the
// bound is a 413 with a JSON body.
func TestCreateUserBounds(t *testing.T) {
	h := newHarness(t)
	longest := strings.Repeat("é", emulator.MaxClientUserIDLen) // characters, not bytes
	id := h.createUser(longest)
	require.NotEmpty(t, id)
	v := validation(t, h.api("POST", "/v2/user", `{"client_user_id":"`+longest+`x"}`))
	require.Equal(t, []any{"body", "client_user_id"}, v[0].Loc)
	require.Equal(t, "string_too_long", v[0].Type)
	v = validation(t, h.api("POST", "/v2/user", `{"client_user_id":"a","fallback_time_zone":"`+strings.Repeat("z", emulator.MaxTimeZoneLen+1)+`"}`))
	require.Equal(t, []any{"body", "fallback_time_zone"}, v[0].Loc)
	require.Equal(t, "string_too_long", v[0].Type)
	require.Equal(t, 1, decode[junction.UsersPage](t, h.api("GET", "/v2/user", "")).Total)

	r := h.api("POST", "/v2/user", `{"client_user_id":"a","pad":"`+strings.Repeat("x", emulator.MaxBody)+`"}`)
	require.Equal(t, http.StatusRequestEntityTooLarge, r.status)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
}
