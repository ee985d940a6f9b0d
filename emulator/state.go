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
	"slices"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/internal/atomicfile"
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
	// Legacy marks a Secure Token refresh token of the legacy routes.
	Legacy bool `json:"legacy,omitempty"`
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
	return e.export()
}

// export returns the whole state. The caller holds e.mu, and the signing
// key exists.
func (e *Emulator) export() State {
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
		st.Users = append(st.Users, u.state())
	}
	for t, g := range e.access {
		st.AccessTokens = append(st.AccessTokens, AccessTokenState{t, g.userID, g.expires})
	}
	slices.SortFunc(st.AccessTokens, func(a, b AccessTokenState) int { return strings.Compare(a.Token, b.Token) })
	for t, g := range e.refresh {
		st.RefreshTokens = append(st.RefreshTokens, RefreshTokenState{t, g.userID, g.state.String(), g.legacy})
	}
	slices.SortFunc(st.RefreshTokens, func(a, b RefreshTokenState) int { return strings.Compare(a.Token, b.Token) })
	for _, m := range e.minted {
		st.SignInTokens = append(st.SignInTokens, SignInTokenState{m.id, m.userID, m.issuedAt, m.expires})
	}
	return st
}

// state returns the user's record.
func (u *user) state() UserState {
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
	return us
}

// NewFromState returns an emulator holding st, configured by opts. The
// state's API key, team ID, environment, region and signing key replace
// what opts say of them (a state may leave them out: see [LoadState]);
// tokens issued before st was exported (Sign-In, access and refresh) keep
// working. It returns an error matching [ErrInvalidState] when st is
// malformed or inconsistent.
func NewFromState(st State, opts ...Option) (*Emulator, error) {
	l := newLoader()
	if err := l.fromState(st); err != nil {
		return nil, err
	}
	return l.emulator(opts)
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
	if err := atomicfile.Write(path, b); err != nil {
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
	e.clearState()
	e.record(change{Reset: true})
	e.start = time.Now().UTC().Truncate(time.Second)
	e.faults = make(map[Route]*routeFaults)
	e.counts = make(map[Route]int)
	e.total = 0
	e.recent = nil
}

// clearState forgets the users, tokens, minted Sign-In Tokens and clock
// offset: what a [State] holds but the team. The caller holds e.mu.
func (e *Emulator) clearState() {
	e.offset = 0
	e.users = make(map[string]*user)
	e.active = make(map[string]*user)
	e.deleted = make(map[string][]*user)
	e.order = nil
	e.access = make(map[string]*accessGrant)
	e.refresh = make(map[string]*refreshGrant)
	e.minted = nil
}
