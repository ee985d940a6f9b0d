package emulator

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vitalsync/vitalsync/adapters/junction"
)

// ErrUserNotFound is returned by [Emulator.DeleteUser] when no active user
// has the given ID.
var ErrUserNotFound = errors.New("emulator: user not found")

// maxBody bounds request bodies: a larger one answers 413 with a JSON body.
// The emulated requests need a few hundred bytes.
const maxBody = 64 << 10

// MaxClientUserIDLen is the longest client_user_id the emulator stores, in
// characters (Unicode code points, as pydantic's max_length counts them): a
// longer one answers 422 string_too_long. The real API's bound is not
// published; this one is at least issuer.MaxAppUserIDLen (256 bytes), so
// every app user ID the issuer accepts fits.
const MaxClientUserIDLen = 256

// maxTimeZoneLen bounds fallback_time_zone (IANA names are at most about 30
// characters).
const maxTimeZoneLen = 64

// user is one Junction user of the team.
type user struct {
	id           string
	clientUserID string
	createdOn    time.Time
	deletedAt    time.Time // zero while active
	timeZone     *fallback
	birthDate    *fallback
	ingestStart  *string
	ingestEnd    *string
	access       []string // access tokens issued, for revocation
	refresh      []string // refresh tokens issued, for revocation
}

// fallback is a fallback_time_zone or fallback_birth_date value.
type fallback struct {
	value     string
	updatedAt time.Time
}

// userJSON is ClientFacingUser as the API writes it: unlike junction.User,
// unset optional fields are written as null, as FastAPI does.
type userJSON struct {
	UserID            string            `json:"user_id"`
	TeamID            string            `json:"team_id"`
	ClientUserID      string            `json:"client_user_id"`
	CreatedOn         time.Time         `json:"created_on"`
	ConnectedSources  []json.RawMessage `json:"connected_sources"`
	FallbackTimeZone  *timeZoneJSON     `json:"fallback_time_zone"`
	FallbackBirthDate *birthDateJSON    `json:"fallback_birth_date"`
	IngestionStart    *string           `json:"ingestion_start"`
	IngestionEnd      *string           `json:"ingestion_end"`
}

// timeZoneJSON is FallbackTimeZone.
type timeZoneJSON struct {
	ID         string    `json:"id"`
	SourceSlug string    `json:"source_slug"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// birthDateJSON is FallbackBirthDate.
type birthDateJSON struct {
	Value      string    `json:"value"`
	SourceSlug string    `json:"source_slug"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// usersPageJSON is PaginatedUsersResponse.
type usersPageJSON struct {
	Users  []userJSON `json:"users"`
	Total  int        `json:"total"`
	Offset int        `json:"offset"`
	Limit  int        `json:"limit"`
}

// writeConflict answers the 400 of a client_user_id conflict, naming the
// user that holds it: {"detail":{"error_type":"INVALID_REQUEST",
// "error_message":msg,"user_id":…,"created_on":…}}.
func writeConflict(w http.ResponseWriter, holder *user, msg string) {
	created := holder.createdOn
	writeJSON(w, http.StatusBadRequest, struct {
		Detail errorDetail `json:"detail"`
	}{errorDetail{
		ErrorType:    errorTypeInvalidRequest,
		ErrorMessage: msg,
		UserID:       holder.id,
		CreatedOn:    &created,
	}})
}

func (e *Emulator) userJSON(u *user) userJSON {
	j := userJSON{
		UserID:           u.id,
		TeamID:           e.teamID,
		ClientUserID:     u.clientUserID,
		CreatedOn:        u.createdOn,
		ConnectedSources: []json.RawMessage{},
		IngestionStart:   u.ingestStart,
		IngestionEnd:     u.ingestEnd,
	}
	if u.timeZone != nil {
		j.FallbackTimeZone = &timeZoneJSON{u.timeZone.value, "manual", u.timeZone.updatedAt}
	}
	if u.birthDate != nil {
		j.FallbackBirthDate = &birthDateJSON{u.birthDate.value, "manual", u.birthDate.updatedAt}
	}
	return j
}

// caller is who made an API request.
type caller struct {
	team   bool   // the team API key
	userID string // else the user of a Bearer access token
}

// authenticate checks the request's credentials: the team API key, or, when
// bearerOK, a user's access token. It answers the request and reports false
// when they do not pass.
func (e *Emulator) authenticate(w http.ResponseWriter, r *http.Request, bearerOK bool) (caller, bool) {
	if keys := r.Header.Values("X-Vital-API-Key"); len(keys) > 0 {
		e.mu.Lock()
		apiKey := e.apiKey
		e.mu.Unlock()
		if len(keys) == 1 && subtle.ConstantTimeCompare([]byte(keys[0]), []byte(apiKey)) == 1 {
			return caller{team: true}, true
		}
		writeDetail(w, http.StatusUnauthorized, "invalid API key")
		return caller{}, false
	}
	authz := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(authz, " ")
	if authz == "" || !strings.EqualFold(scheme, "Bearer") {
		writeDetail(w, http.StatusUnauthorized, "missing credentials: send X-Vital-API-Key or a Bearer access token")
		return caller{}, false
	}
	e.mu.Lock()
	userID, ok := e.checkAccess(strings.TrimSpace(token))
	e.mu.Unlock()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeDetail(w, http.StatusUnauthorized, "invalid or expired access token")
		return caller{}, false
	}
	if !bearerOK {
		writeDetail(w, http.StatusForbidden, "this endpoint requires the team API key")
		return caller{}, false
	}
	return caller{userID: userID}, true
}

// activeUser returns the active user with the given ID (any case). The
// caller holds e.mu.
func (e *Emulator) activeUser(id string) *user {
	u := e.users[strings.ToLower(id)]
	if u == nil || !u.deletedAt.IsZero() {
		return nil
	}
	return u
}

// withUser calls f, with e.mu held, with the active user with the given
// ID, or answers 404 when there is none.
func (e *Emulator) withUser(w http.ResponseWriter, id string, f func(*user)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.activeUser(id)
	if u == nil {
		writeDetail(w, http.StatusNotFound, "User not found")
		return
	}
	f(u)
}

// userIDValid reports whether id is a UUID, as the real API's path
// parameters must be, or else answers 422.
func userIDValid(w http.ResponseWriter, loc []any, id string) bool {
	if junction.IsUUID(id) {
		return true
	}
	writeValidation(w, validationError{Loc: loc, Msg: "Input should be a valid UUID", Type: "uuid_parsing"})
	return false
}

// createUserRequest is the validated body of POST /v2/user.
type createUserRequest struct {
	clientUserID string
	timeZone     *string
	birthDate    *string
	ingestStart  *string
	ingestEnd    *string
}

// parseCreateUser validates a create-user body the way FastAPI would.
func parseCreateUser(body []byte) (createUserRequest, []validationError) {
	req, _, errs := parseUserBody(body, false)
	return req, errs
}

// parseUserBody validates a create-user body, or with patch a patch-user
// body: every field optional, client_user_id included, and a null clears
// an optional field (cleared names it) instead of leaving it unset.
func parseUserBody(body []byte, patch bool) (req createUserRequest, cleared map[string]bool, _ []validationError) {
	cleared = map[string]bool{}
	if len(bytes.TrimSpace(body)) == 0 {
		return req, cleared, []validationError{{Loc: []any{"body"}, Msg: "Field required", Type: "missing"}}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return req, cleared, []validationError{{Loc: []any{"body"}, Msg: "Input should be a valid dictionary or object to extract fields from", Type: "model_attributes_type"}}
		}
		return req, cleared, []validationError{{Loc: []any{"body", 0}, Msg: "JSON decode error", Type: "json_invalid"}}
	}
	if fields == nil { // the body was null
		return req, cleared, []validationError{{Loc: []any{"body"}, Msg: "Field required", Type: "missing"}}
	}
	var errs []validationError
	str := func(name string, required bool, check func(string) *validationError) *string {
		raw, ok := fields[name]
		loc := []any{"body", name}
		if ok && !required && string(raw) == "null" && patch {
			cleared[name] = true
			return nil
		}
		if !ok || (!required && string(raw) == "null") {
			if required {
				errs = append(errs, validationError{Loc: loc, Msg: "Field required", Type: "missing"})
			}
			return nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || string(raw) == "null" {
			errs = append(errs, validationError{Loc: loc, Msg: "Input should be a valid string", Type: "string_type"})
			return nil
		}
		if check != nil {
			if ve := check(s); ve != nil {
				ve.Loc = loc
				errs = append(errs, *ve)
				return nil
			}
		}
		return &s
	}
	bounded := func(max int) func(string) *validationError {
		return func(s string) *validationError {
			switch {
			case s == "":
				return &validationError{Msg: "String should have at least 1 character", Type: "string_too_short"}
			case utf8.RuneCountInString(s) > max:
				return &validationError{Msg: "String should have at most " + strconv.Itoa(max) + " characters", Type: "string_too_long"}
			}
			return nil
		}
	}
	date := func(s string) *validationError {
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return &validationError{Msg: "Input should be a valid date in the format YYYY-MM-DD", Type: "date_from_datetime_parsing"}
		}
		return nil
	}
	if patch {
		if raw, ok := fields["client_user_id"]; ok && string(raw) == "null" {
			errs = append(errs, validationError{Loc: []any{"body", "client_user_id"}, Msg: "Input should be a valid string", Type: "string_type"})
		} else if cuid := str("client_user_id", false, bounded(MaxClientUserIDLen)); cuid != nil {
			req.clientUserID = *cuid
		}
	} else if cuid := str("client_user_id", true, bounded(MaxClientUserIDLen)); cuid != nil {
		req.clientUserID = *cuid
	}
	req.timeZone = str("fallback_time_zone", false, bounded(maxTimeZoneLen))
	req.birthDate = str("fallback_birth_date", false, date)
	req.ingestStart = str("ingestion_start", false, date)
	req.ingestEnd = str("ingestion_end", false, date)
	return req, cleared, errs
}

// userRequest checks a create-user request, or with patch a patch-user
// request of the user id: the team API key, the id (a patch), and the body
// (parseUserBody). It answers 401, 413 or 422 and reports false when one
// does not pass.
func (e *Emulator) userRequest(w http.ResponseWriter, r *http.Request, id string, patch bool) (createUserRequest, map[string]bool, bool) {
	if _, ok := e.authenticate(w, r, false); !ok || patch && !userIDValid(w, []any{"path", "user_id"}, id) {
		return createUserRequest{}, nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeDetail(w, http.StatusRequestEntityTooLarge, "request body too large")
		return createUserRequest{}, nil, false
	}
	req, cleared, verrs := parseUserBody(body, patch)
	if len(verrs) > 0 {
		writeValidation(w, verrs...)
		return createUserRequest{}, nil, false
	}
	return req, cleared, true
}

// serveCreateUser serves POST /v2/user.
func (e *Emulator) serveCreateUser(w http.ResponseWriter, r *http.Request) {
	req, _, ok := e.userRequest(w, r, "", false)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u, other := e.addUser(req)
	if other != nil {
		writeConflict(w, other, "a user with this client_user_id already exists")
		return
	}
	writeJSON(w, http.StatusOK, junction.UserKey{UserID: u.id, ClientUserID: u.clientUserID})
}

// servePatchUser serves PATCH /v2/user/{user_id}: it changes the fields
// the body names (client_user_id, fallback_time_zone, fallback_birth_date,
// ingestion_start, ingestion_end), clears the optional ones given as null,
// and answers 204. A client_user_id an other active user holds answers the
// create-user conflict's 400.
func (e *Emulator) servePatchUser(w http.ResponseWriter, r *http.Request, id string) {
	req, cleared, ok := e.userRequest(w, r, id, true)
	if !ok {
		return
	}
	e.withUser(w, id, func(u *user) {
		if req.clientUserID != "" && req.clientUserID != u.clientUserID {
			if other := e.active[req.clientUserID]; other != nil {
				writeConflict(w, other, "a user with this client_user_id already exists")
				return
			}
			delete(e.active, u.clientUserID)
			u.clientUserID = req.clientUserID
			e.active[u.clientUserID] = u
		}
		now := e.now().Truncate(time.Microsecond)
		stamped := func(v string) *fallback { return &fallback{v, now} }
		u.timeZone = patched(u.timeZone, req.timeZone, cleared["fallback_time_zone"], stamped)
		u.birthDate = patched(u.birthDate, req.birthDate, cleared["fallback_birth_date"], stamped)
		u.ingestStart = patched(u.ingestStart, req.ingestStart, cleared["ingestion_start"], stringPtr)
		u.ingestEnd = patched(u.ingestEnd, req.ingestEnd, cleared["ingestion_end"], stringPtr)
		e.logUser(u)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	})
}

// patched is an optional field after a patch: made from v when the body
// gave it, nil when the body gave null (cleared), else old.
func patched[T any](old *T, v *string, cleared bool, made func(string) *T) *T {
	switch {
	case v != nil:
		return made(*v)
	case cleared:
		return nil
	}
	return old
}

func stringPtr(s string) *string { return &s }

// ErrClientUserIDTaken is returned by [Emulator.CreateUser] when an active
// user already has the client user ID.
var ErrClientUserIDTaken = errors.New("emulator: client_user_id taken by an active user")

// ErrInvalidClientUserID is returned by [Emulator.CreateUser] for a client
// user ID that POST /v2/user would refuse (empty or too long).
var ErrInvalidClientUserID = errors.New("emulator: invalid client_user_id")

// CreateUser creates a user as POST /v2/user does and returns their user
// ID. It returns [ErrInvalidClientUserID] for an empty or too long client
// user ID and [ErrClientUserIDTaken] when an active user has it.
func (e *Emulator) CreateUser(clientUserID string) (string, error) {
	if clientUserID == "" || utf8.RuneCountInString(clientUserID) > MaxClientUserIDLen {
		return "", ErrInvalidClientUserID
	}
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	u, other := e.addUser(createUserRequest{clientUserID: clientUserID})
	if other != nil {
		return "", ErrClientUserIDTaken
	}
	return u.id, nil
}

// addUser creates a user from a validated request, or returns the active
// user holding its client_user_id. The caller holds e.mu.
func (e *Emulator) addUser(req createUserRequest) (created, holder *user) {
	if other := e.active[req.clientUserID]; other != nil {
		return nil, other
	}
	now := e.now()
	u := &user{
		id:           e.newUUID(),
		clientUserID: req.clientUserID,
		createdOn:    now.Truncate(time.Microsecond),
		ingestStart:  req.ingestStart,
		ingestEnd:    req.ingestEnd,
	}
	if req.timeZone != nil {
		u.timeZone = &fallback{*req.timeZone, u.createdOn}
	}
	if req.birthDate != nil {
		u.birthDate = &fallback{*req.birthDate, u.createdOn}
	}
	e.users[u.id] = u
	e.active[u.clientUserID] = u
	e.order = append(e.order, u)
	e.logUser(u)
	return u, nil
}

// serveGetUser serves GET /v2/user/{user_id}, to the team or to the user
// themself.
func (e *Emulator) serveGetUser(w http.ResponseWriter, r *http.Request, id string) {
	c, ok := e.authenticate(w, r, true)
	if !ok || !userIDValid(w, []any{"path", "user_id"}, id) {
		return
	}
	id = strings.ToLower(id)
	if !c.team && c.userID != id {
		writeDetail(w, http.StatusForbidden, "an access token only reaches its own user")
		return
	}
	e.withUser(w, id, func(u *user) { writeJSON(w, http.StatusOK, e.userJSON(u)) })
}

// serveResolveUser serves GET /v2/user/resolve/{client_user_id}.
func (e *Emulator) serveResolveUser(w http.ResponseWriter, r *http.Request, clientUserID string) {
	if _, ok := e.authenticate(w, r, false); !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.active[clientUserID]
	if u == nil {
		writeDetail(w, http.StatusNotFound, "User not found")
		return
	}
	writeJSON(w, http.StatusOK, e.userJSON(u))
}

// Bounds of GET /v2/user's query.
const (
	defaultLimit = 100
	maxLimit     = 100
)

// serveListUsers serves GET /v2/user?offset&limit.
func (e *Emulator) serveListUsers(w http.ResponseWriter, r *http.Request) {
	if _, ok := e.authenticate(w, r, false); !ok {
		return
	}
	q := r.URL.Query()
	var errs []validationError
	param := func(name string, def, lo, hi int) int {
		s := q.Get(name)
		if s == "" {
			return def
		}
		n, err := strconv.Atoi(s)
		loc := []any{"query", name}
		switch {
		case err != nil:
			errs = append(errs, validationError{Loc: loc, Msg: "Input should be a valid integer", Type: "int_parsing"})
		case n < lo:
			errs = append(errs, validationError{Loc: loc, Msg: "Input should be greater than or equal to " + strconv.Itoa(lo), Type: "greater_than_equal"})
		case n > hi:
			errs = append(errs, validationError{Loc: loc, Msg: "Input should be less than or equal to " + strconv.Itoa(hi), Type: "less_than_equal"})
		}
		return n
	}
	offset := param("offset", 0, 0, int(^uint(0)>>1))
	limit := param("limit", defaultLimit, 1, maxLimit)
	if len(errs) > 0 {
		writeValidation(w, errs...)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	page := usersPageJSON{Users: []userJSON{}, Offset: offset, Limit: limit}
	for _, u := range e.order {
		if !u.deletedAt.IsZero() {
			continue
		}
		if page.Total >= offset && len(page.Users) < limit {
			page.Users = append(page.Users, e.userJSON(u))
		}
		page.Total++
	}
	writeJSON(w, http.StatusOK, page)
}

// serveDeleteUser serves DELETE /v2/user/{user_id}.
func (e *Emulator) serveDeleteUser(w http.ResponseWriter, r *http.Request, id string) {
	if _, ok := e.authenticate(w, r, false); !ok || !userIDValid(w, []any{"path", "user_id"}, id) {
		return
	}
	if err := e.DeleteUser(id); err != nil {
		writeDetail(w, http.StatusNotFound, "User not found")
		return
	}
	writeJSON(w, http.StatusOK, junction.UserSuccessResponse{Success: true})
}

// DeleteUser deletes a user as DELETE /v2/user/{user_id} does: the user
// becomes unreachable, their client_user_id is free for a new user, their
// access and refresh tokens are revoked (a refresh answers invalid_token),
// and POST /v2/user/undo_delete can restore them for
// [DeletionGracePeriod]. It returns [ErrUserNotFound] when no active user
// has that ID.
func (e *Emulator) DeleteUser(userID string) error {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.activeUser(userID)
	if u == nil {
		return ErrUserNotFound
	}
	u.deletedAt = e.now()
	delete(e.active, u.clientUserID)
	e.deleted[u.clientUserID] = append(e.deleted[u.clientUserID], u)
	e.logUser(u)
	for _, t := range u.access {
		delete(e.access, t)
		e.logAccess(t)
	}
	u.access = nil
	e.endRefreshTokens(u, refreshUserDeleted)
	return nil
}

// serveUndoDelete serves POST /v2/user/undo_delete?user_id=|client_user_id=.
func (e *Emulator) serveUndoDelete(w http.ResponseWriter, r *http.Request) {
	if _, ok := e.authenticate(w, r, false); !ok {
		return
	}
	q := r.URL.Query()
	id, cuid := q.Get("user_id"), q.Get("client_user_id")
	if (id == "") == (cuid == "") {
		writeDetail(w, http.StatusBadRequest, "exactly one of user_id and client_user_id is required")
		return
	}
	if id != "" && !userIDValid(w, []any{"query", "user_id"}, id) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	restorable := func(u *user) bool {
		return u != nil && !u.deletedAt.IsZero() && now.Before(u.deletedAt.Add(DeletionGracePeriod))
	}
	var u *user
	if id != "" {
		u = e.users[strings.ToLower(id)]
		if u != nil && u.deletedAt.IsZero() {
			writeJSON(w, http.StatusOK, junction.UserSuccessResponse{Success: true}) // not deleted: nothing to undo
			return
		}
		if !restorable(u) {
			u = nil
		}
	} else {
		ds := e.deleted[cuid]
		for i := len(ds) - 1; i >= 0 && u == nil; i-- {
			if restorable(ds[i]) {
				u = ds[i]
			}
		}
		if u == nil && e.active[cuid] != nil {
			writeJSON(w, http.StatusOK, junction.UserSuccessResponse{Success: true}) // not deleted: nothing to undo
			return
		}
	}
	if u == nil {
		writeDetail(w, http.StatusNotFound, "no deleted user to restore")
		return
	}
	if other := e.active[u.clientUserID]; other != nil {
		writeConflict(w, other, "another user now has this client_user_id")
		return
	}
	e.undelete(u)
	writeJSON(w, http.StatusOK, junction.UserSuccessResponse{Success: true})
}

// undelete makes a deleted user active again. The caller holds e.mu and
// has checked that no active user holds the client_user_id.
func (e *Emulator) undelete(u *user) {
	u.deletedAt = time.Time{}
	e.active[u.clientUserID] = u
	e.logUser(u)
	ds := e.deleted[u.clientUserID]
	for i, d := range ds {
		if d == u {
			e.deleted[u.clientUserID] = append(ds[:i:i], ds[i+1:]...)
			break
		}
	}
	if len(e.deleted[u.clientUserID]) == 0 {
		delete(e.deleted, u.clientUserID)
	}
}

// ErrNotRestorable is returned by [Emulator.UndoDelete] for a user deleted
// longer than [DeletionGracePeriod] ago.
var ErrNotRestorable = errors.New("emulator: deleted longer ago than the grace period")

// UndoDelete restores a deleted user as POST /v2/user/undo_delete?user_id=
// does (their tokens stay revoked); a user that is not deleted is left as
// is. It returns [ErrUserNotFound] for an unknown user, [ErrNotRestorable]
// past the grace period and [ErrClientUserIDTaken] when an active user
// now holds their client_user_id.
func (e *Emulator) UndoDelete(userID string) error {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.users[strings.ToLower(userID)]
	switch {
	case u == nil:
		return ErrUserNotFound
	case u.deletedAt.IsZero():
		return nil
	case !e.now().Before(u.deletedAt.Add(DeletionGracePeriod)):
		return ErrNotRestorable
	case e.active[u.clientUserID] != nil:
		return ErrClientUserIDTaken
	}
	e.undelete(u)
	return nil
}
