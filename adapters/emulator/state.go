package emulator

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
)

// StateVersion is the version of the [State] format this package writes
// and reads.
const StateVersion = 1

// ErrInvalidState is matched by the errors of [NewFromState] and
// [ReadStateFile] when a state is malformed or inconsistent; the error
// names the first problem found.
var ErrInvalidState = errors.New("emulator: invalid state")

// State is everything an emulator keeps, as JSON: the team (API key, team
// ID, environment, region, signing key), the clock's offset, the users
// (deleted ones too), the access and refresh tokens, and the Sign-In
// Tokens minted (their jti, user and times; a Sign-In Token is not stored
// and needs none: the signing key verifies it). Fault queues, request
// counts and the recent-request list are not part of it.
//
// A State holds secrets (the API key, the signing key and every token):
// files holding one must be private ([WriteStateFile] writes them 0600).
// [Emulator.Export] followed by [NewFromState] and Export again yields the
// same State, and so the same JSON bytes.
type State struct {
	Version     int    `json:"version"`
	APIKey      string `json:"api_key"`
	TeamID      string `json:"team_id"`
	Environment string `json:"environment"`
	Region      string `json:"region"`
	// SigningKey is the RSA key signing Sign-In Tokens, PKCS #8 in PEM.
	SigningKey string `json:"signing_key"`
	// ClockOffset is the sum of [Emulator.Advance] calls, in nanoseconds.
	ClockOffset   int64               `json:"clock_offset_ns"`
	Users         []UserState         `json:"users"`
	AccessTokens  []AccessTokenState  `json:"access_tokens"`
	RefreshTokens []RefreshTokenState `json:"refresh_tokens"`
	SignInTokens  []SignInTokenState  `json:"sign_in_tokens"`
}

// UserState is one user, in creation order.
type UserState struct {
	UserID            string         `json:"user_id"`
	ClientUserID      string         `json:"client_user_id"`
	CreatedOn         time.Time      `json:"created_on"`
	DeletedAt         *time.Time     `json:"deleted_at,omitempty"`
	FallbackTimeZone  *FallbackState `json:"fallback_time_zone,omitempty"`
	FallbackBirthDate *FallbackState `json:"fallback_birth_date,omitempty"`
	IngestionStart    *string        `json:"ingestion_start,omitempty"`
	IngestionEnd      *string        `json:"ingestion_end,omitempty"`
}

// FallbackState is a fallback_time_zone or fallback_birth_date.
type FallbackState struct {
	Value     string    `json:"value"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AccessTokenState is an issued access token, sorted by token.
type AccessTokenState struct {
	Token     string    `json:"token"`
	UserID    string    `json:"user_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// RefreshTokenState is an issued refresh token, sorted by token. State is
// "active", "rotated", "user-deleted" or "revoked".
type RefreshTokenState struct {
	Token  string `json:"token"`
	UserID string `json:"user_id"`
	State  string `json:"state"`
}

// SignInTokenState is a minted Sign-In Token, oldest first: its jti, user
// and times.
type SignInTokenState struct {
	ID        string    `json:"jti"`
	UserID    string    `json:"user_id"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Export returns the emulator's whole state, generating the signing key if
// none exists yet. It panics if key generation fails (see
// [Emulator.PublicKey]).
func (e *Emulator) Export() State {
	if _, err := e.signingKey(); err != nil {
		panic("emulator: " + err.Error())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	der, err := x509.MarshalPKCS8PrivateKey(e.key)
	if err != nil {
		panic("emulator: marshal signing key: " + err.Error())
	}
	st := State{
		Version:       StateVersion,
		APIKey:        e.apiKey,
		TeamID:        e.teamID,
		Environment:   string(e.cfg.environment),
		Region:        string(e.cfg.region),
		SigningKey:    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		ClockOffset:   int64(e.offset),
		Users:         []UserState{},
		AccessTokens:  []AccessTokenState{},
		RefreshTokens: []RefreshTokenState{},
		SignInTokens:  []SignInTokenState{},
	}
	for _, u := range e.order {
		us := UserState{UserID: u.id, ClientUserID: u.clientUserID, CreatedOn: u.createdOn,
			IngestionStart: u.ingestStart, IngestionEnd: u.ingestEnd}
		if !u.deletedAt.IsZero() {
			d := u.deletedAt
			us.DeletedAt = &d
		}
		if u.timeZone != nil {
			us.FallbackTimeZone = &FallbackState{u.timeZone.value, u.timeZone.updatedAt}
		}
		if u.birthDate != nil {
			us.FallbackBirthDate = &FallbackState{u.birthDate.value, u.birthDate.updatedAt}
		}
		st.Users = append(st.Users, us)
	}
	for t, g := range e.access {
		st.AccessTokens = append(st.AccessTokens, AccessTokenState{t, g.userID, g.expires})
	}
	slices.SortFunc(st.AccessTokens, func(a, b AccessTokenState) int { return strings.Compare(a.Token, b.Token) })
	for t, g := range e.refresh {
		st.RefreshTokens = append(st.RefreshTokens, RefreshTokenState{t, g.userID, g.state.String()})
	}
	slices.SortFunc(st.RefreshTokens, func(a, b RefreshTokenState) int { return strings.Compare(a.Token, b.Token) })
	for _, m := range e.minted {
		st.SignInTokens = append(st.SignInTokens, SignInTokenState{m.id, m.userID, m.issuedAt, m.expires})
	}
	return st
}

// NewFromState returns an emulator holding st, configured by opts. The
// state's API key, team ID, environment, region and signing key replace
// what opts say of them; tokens issued before st was exported (Sign-In,
// access and refresh) keep working. It returns an error matching
// [ErrInvalidState] when st is malformed or inconsistent.
func NewFromState(st State, opts ...Option) (*Emulator, error) {
	if st.Version != StateVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrInvalidState, st.Version, StateVersion)
	}
	env, ok := fsm.ParseEnvironment(st.Environment)
	if !ok {
		return nil, fmt.Errorf("%w: unknown environment %q", ErrInvalidState, st.Environment)
	}
	region, ok := fsm.ParseRegion(st.Region)
	if !ok {
		return nil, fmt.Errorf("%w: unknown region %q", ErrInvalidState, st.Region)
	}
	if st.APIKey == "" || st.TeamID == "" {
		return nil, fmt.Errorf("%w: the API key and the team ID are required", ErrInvalidState)
	}
	if st.ClockOffset < 0 {
		return nil, fmt.Errorf("%w: negative clock offset", ErrInvalidState)
	}
	key, err := parseSigningKey(st.SigningKey)
	if err != nil {
		return nil, err
	}
	e := New(append(slices.Clone(opts), WithAPIKey(st.APIKey), WithTeamID(st.TeamID),
		WithEnvironment(env, region), WithSigningKey(key))...)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.offset = time.Duration(st.ClockOffset)
	for i, us := range st.Users {
		if err := e.restoreUser(us); err != nil {
			return nil, fmt.Errorf("%w: users[%d]: %w", ErrInvalidState, i, err)
		}
	}
	for i, a := range st.AccessTokens {
		u := e.users[a.UserID]
		switch {
		case a.Token == "" || e.access[a.Token] != nil:
			return nil, fmt.Errorf("%w: access_tokens[%d]: empty or repeated token", ErrInvalidState, i)
		case u == nil:
			return nil, fmt.Errorf("%w: access_tokens[%d]: unknown user %q", ErrInvalidState, i, a.UserID)
		}
		e.access[a.Token] = &accessGrant{userID: u.id, expires: a.ExpiresAt}
		u.access = append(u.access, a.Token)
	}
	for i, r := range st.RefreshTokens {
		u := e.users[r.UserID]
		s, ok := parseRefreshState(r.State)
		switch {
		case r.Token == "" || e.refresh[r.Token] != nil:
			return nil, fmt.Errorf("%w: refresh_tokens[%d]: empty or repeated token", ErrInvalidState, i)
		case u == nil:
			return nil, fmt.Errorf("%w: refresh_tokens[%d]: unknown user %q", ErrInvalidState, i, r.UserID)
		case !ok:
			return nil, fmt.Errorf("%w: refresh_tokens[%d]: unknown state %q", ErrInvalidState, i, r.State)
		}
		e.refresh[r.Token] = &refreshGrant{userID: u.id, state: s}
		if s == refreshActive {
			u.refresh = append(u.refresh, r.Token)
		}
	}
	if len(st.SignInTokens) > maxMinted {
		return nil, fmt.Errorf("%w: more than %d sign_in_tokens", ErrInvalidState, maxMinted)
	}
	for i, m := range st.SignInTokens {
		if e.users[m.UserID] == nil {
			return nil, fmt.Errorf("%w: sign_in_tokens[%d]: unknown user %q", ErrInvalidState, i, m.UserID)
		}
		e.minted = append(e.minted, mintRecord{id: m.ID, userID: m.UserID, issuedAt: m.IssuedAt, expires: m.ExpiresAt})
	}
	return e, nil
}

// restoreUser adds a user of a state. The caller holds e.mu.
func (e *Emulator) restoreUser(us UserState) error {
	switch {
	case !isUUID(us.UserID) || strings.ToLower(us.UserID) != us.UserID:
		return fmt.Errorf("user_id %q is not a lower-case UUID", us.UserID)
	case e.users[us.UserID] != nil:
		return fmt.Errorf("user_id %q repeated", us.UserID)
	case us.ClientUserID == "" || len([]rune(us.ClientUserID)) > MaxClientUserIDLen:
		return fmt.Errorf("client_user_id of user %q is empty or too long", us.UserID)
	case us.DeletedAt == nil && e.active[us.ClientUserID] != nil:
		return fmt.Errorf("two active users have client_user_id %q", us.ClientUserID)
	}
	u := &user{id: us.UserID, clientUserID: us.ClientUserID, createdOn: us.CreatedOn,
		ingestStart: us.IngestionStart, ingestEnd: us.IngestionEnd}
	if us.FallbackTimeZone != nil {
		u.timeZone = &fallback{us.FallbackTimeZone.Value, us.FallbackTimeZone.UpdatedAt}
	}
	if us.FallbackBirthDate != nil {
		u.birthDate = &fallback{us.FallbackBirthDate.Value, us.FallbackBirthDate.UpdatedAt}
	}
	e.users[u.id] = u
	e.order = append(e.order, u)
	if us.DeletedAt != nil {
		if us.DeletedAt.IsZero() {
			return fmt.Errorf("deleted_at of user %q is the zero time", us.UserID)
		}
		u.deletedAt = *us.DeletedAt
		e.deleted[u.clientUserID] = append(e.deleted[u.clientUserID], u)
	} else {
		e.active[u.clientUserID] = u
	}
	return nil
}

// parseSigningKey parses a PKCS #8 RSA key in PEM.
func parseSigningKey(s string) (*rsa.PrivateKey, error) {
	block, rest := pem.Decode([]byte(s))
	if block == nil || block.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("%w: signing_key is not one PEM \"PRIVATE KEY\" block", ErrInvalidState)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: signing_key does not parse as PKCS #8", ErrInvalidState)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok || rk.N.BitLen() < 2048 {
		return nil, fmt.Errorf("%w: signing_key is not an RSA key of at least 2048 bits", ErrInvalidState)
	}
	return rk, nil
}

// MarshalState returns st as indented JSON ending in a newline: the format
// of the files [WriteStateFile] writes.
func MarshalState(st State) ([]byte, error) {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("emulator: marshal state: %w", err)
	}
	return append(b, '\n'), nil
}

// UnmarshalState parses a state file's JSON strictly: unknown fields and
// trailing data are errors matching [ErrInvalidState].
func UnmarshalState(data []byte) (State, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var st State
	if err := dec.Decode(&st); err != nil {
		return State{}, fmt.Errorf("%w: %w", ErrInvalidState, err)
	}
	if dec.More() {
		return State{}, fmt.Errorf("%w: trailing data after the state", ErrInvalidState)
	}
	return st, nil
}

// WriteStateFile writes st to path atomically (a temporary file in the same
// directory, synced, then renamed) with mode 0600, so a crash leaves the old
// file or the new one, never a mix.
func WriteStateFile(path string, st State) error {
	b, err := MarshalState(st)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("emulator: write state: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing to remove
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("emulator: write state: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("emulator: write state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("emulator: write state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("emulator: write state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("emulator: write state: %w", err)
	}
	return nil
}

// ReadStateFile reads a state file written by [WriteStateFile] (or by
// hand). A file that does not parse is an error matching
// [ErrInvalidState]; a missing file matches fs.ErrNotExist.
func ReadStateFile(path string) (State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return State{}, fmt.Errorf("emulator: read state: %w", err)
	}
	st, err := UnmarshalState(b)
	if err != nil {
		return State{}, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// Reset forgets every user, token, minted Sign-In Token, queued fault,
// request count and recent request, and undoes every [Emulator.Advance],
// as if the emulator had just started: the default clock reads the wall
// clock again, an injected one its own reading. The API key, team ID and
// signing key stay.
func (e *Emulator) Reset() {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.offset = 0
	e.start = time.Now().UTC().Truncate(time.Second)
	e.users = make(map[string]*user)
	e.active = make(map[string]*user)
	e.deleted = make(map[string][]*user)
	e.order = nil
	e.access = make(map[string]*accessGrant)
	e.refresh = make(map[string]*refreshGrant)
	e.faults = make(map[Route]*routeFaults)
	e.counts = make(map[Route]int)
	e.total = 0
	e.minted = nil
	e.recent = nil
}
