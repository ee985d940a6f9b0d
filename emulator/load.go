package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/fsm"

	"github.com/vitalsync/vitalsync/adapters/junction"
)

// MaxStateBytes bounds a state read by [LoadState] and [LoadStateFile]: a
// longer one is refused with [ErrStateTooLarge] once that many bytes are
// read, so that reading never holds more than the state's own records plus
// one record being decoded.
const MaxStateBytes = 1 << 30

// ErrStateTooLarge is matched by the error of [LoadState] for a state
// longer than [MaxStateBytes]. It matches [ErrInvalidState] too.
var ErrStateTooLarge = fmt.Errorf("%w: longer than %d bytes", ErrInvalidState, MaxStateBytes)

// stateByteLimit is MaxStateBytes; tests lower it.
var stateByteLimit int64 = MaxStateBytes

// LoadStateFile is [LoadState] of the file at path. A missing file matches
// fs.ErrNotExist.
func LoadStateFile(path string, opts ...Option) (*Emulator, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("emulator: read state: %w", err)
	}
	defer f.Close()
	e, err := LoadState(f, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}

// LoadState returns an emulator holding the state r holds (the JSON of
// [MarshalState]), as [NewFromState] of [UnmarshalState] would, but reads
// it record by record: no copy of the file or of a [State] is held, and a
// stream that is not a state (or longer than [MaxStateBytes]) is refused
// as soon as that shows. The JSON is read as strictly as by
// [UnmarshalState] (unknown or repeated fields, trailing data) and the
// state checked as by NewFromState; errors match [ErrInvalidState].
//
// A hand-written state may leave out the signing key (one is generated
// when first needed), the API key, team ID, environment and region (opts
// or their defaults apply) and any of the lists.
func LoadState(r io.Reader, opts ...Option) (*Emulator, error) {
	lr := &limitedReader{r: r, n: stateByteLimit}
	l := newLoader()
	if err := l.decode(json.NewDecoder(lr)); err != nil {
		if lr.n <= 0 {
			return nil, ErrStateTooLarge
		}
		return nil, err
	}
	return l.emulator(opts)
}

// limitedReader reads at most n bytes of r, then fails.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, ErrStateTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// loader gathers a state's records into the structures an emulator keeps.
type loader struct {
	identity State // the scalar fields only
	users    map[string]*user
	order    []*user
	access   map[string]*accessGrant
	refresh  map[string]*refreshGrant
	minted   []mintRecord
}

func newLoader() *loader {
	return &loader{users: map[string]*user{}, access: map[string]*accessGrant{}, refresh: map[string]*refreshGrant{}}
}

// decode reads a state's JSON object from dec, record by record.
func (l *loader) decode(dec *json.Decoder) error {
	dec.DisallowUnknownFields()
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidState, fmt.Sprintf(format, args...))
	}
	if err := expectDelim(dec, '{'); err != nil {
		return invalid("not a JSON object: %v", err)
	}
	// fields reads each field of a state: a scalar into l.identity, a list
	// record by record.
	scalar := func(v any) func(*json.Decoder) error {
		return func(dec *json.Decoder) error { return dec.Decode(v) }
	}
	fields := map[string]func(*json.Decoder) error{
		"version":         scalar(&l.identity.Version),
		"api_key":         scalar(&l.identity.APIKey),
		"team_id":         scalar(&l.identity.TeamID),
		"environment":     scalar(&l.identity.Environment),
		"region":          scalar(&l.identity.Region),
		"signing_key":     scalar(&l.identity.SigningKey),
		"clock_offset_ns": scalar(&l.identity.ClockOffset),
		"users":           func(dec *json.Decoder) error { return decodeList(dec, l.addUser) },
		"access_tokens":   func(dec *json.Decoder) error { return decodeList(dec, l.addAccess) },
		"refresh_tokens":  func(dec *json.Decoder) error { return decodeList(dec, l.addRefresh) },
		"sign_in_tokens":  func(dec *json.Decoder) error { return decodeList(dec, l.addMinted) },
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return invalid("%v", err)
		}
		key, _ := t.(string)
		if seen[key] {
			return invalid("field %q repeated", key)
		}
		seen[key] = true
		read, ok := fields[key]
		if !ok {
			return invalid("unknown field %q", key)
		}
		if err := read(dec); err != nil {
			if errors.Is(err, ErrInvalidState) || errors.Is(err, ErrStateTooLarge) {
				return err
			}
			return invalid("%s: %v", key, err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return invalid("%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("trailing data after the state")
	}
	return nil
}

// expectDelim reads the next token, which must be d.
func expectDelim(dec *json.Decoder, d json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != d {
		return fmt.Errorf("want %q, got %v", d, t)
	}
	return nil
}

// decodeList decodes a JSON array (or null) element by element.
func decodeList[T any](dec *json.Decoder, add func(int, T) error) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t == nil {
		return nil
	}
	if t != json.Delim('[') {
		return fmt.Errorf("not a list")
	}
	for i := 0; dec.More(); i++ {
		var v T
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
		if err := add(i, v); err != nil {
			return err
		}
	}
	_, err = dec.Token() // ']'
	return err
}

// fromState feeds a whole State to the loader.
func (l *loader) fromState(st State) error {
	l.identity = st
	l.identity.Users, l.identity.AccessTokens, l.identity.RefreshTokens, l.identity.SignInTokens = nil, nil, nil, nil
	if err := addEach(st.Users, l.addUser); err != nil {
		return err
	}
	if err := addEach(st.AccessTokens, l.addAccess); err != nil {
		return err
	}
	if err := addEach(st.RefreshTokens, l.addRefresh); err != nil {
		return err
	}
	return addEach(st.SignInTokens, l.addMinted)
}

// addEach hands each record to add, with its index, up to the first error.
func addEach[T any](records []T, add func(int, T) error) error {
	for i, r := range records {
		if err := add(i, r); err != nil {
			return err
		}
	}
	return nil
}

// newUser checks a user's record and returns the user it describes.
func newUser(us UserState) (*user, error) {
	switch {
	case !junction.IsUUID(us.UserID) || strings.ToLower(us.UserID) != us.UserID:
		return nil, fmt.Errorf("user_id %q is not a lower-case UUID", us.UserID)
	case us.ClientUserID == "" || len([]rune(us.ClientUserID)) > MaxClientUserIDLen:
		return nil, fmt.Errorf("client_user_id of user %q is empty or too long", us.UserID)
	case us.DeletedAt != nil && us.DeletedAt.IsZero():
		return nil, fmt.Errorf("deleted_at of user %q is the zero time", us.UserID)
	}
	u := &user{id: us.UserID, clientUserID: us.ClientUserID, createdOn: us.CreatedOn,
		ingestStart: us.IngestionStart, ingestEnd: us.IngestionEnd}
	if us.DeletedAt != nil {
		u.deletedAt = *us.DeletedAt
	}
	if us.FallbackTimeZone != nil {
		u.timeZone = &fallback{us.FallbackTimeZone.Value, us.FallbackTimeZone.UpdatedAt}
	}
	if us.FallbackBirthDate != nil {
		u.birthDate = &fallback{us.FallbackBirthDate.Value, us.FallbackBirthDate.UpdatedAt}
	}
	return u, nil
}

func (l *loader) addUser(i int, us UserState) error {
	u, err := newUser(us)
	if err == nil && l.users[u.id] != nil {
		err = fmt.Errorf("user_id %q repeated", u.id)
	}
	if err != nil {
		return fmt.Errorf("%w: users[%d]: %w", ErrInvalidState, i, err)
	}
	l.users[u.id] = u
	l.order = append(l.order, u)
	return nil
}

func (l *loader) addAccess(i int, a AccessTokenState) error {
	if a.Token == "" || l.access[a.Token] != nil {
		return fmt.Errorf("%w: access_tokens[%d]: empty or repeated token", ErrInvalidState, i)
	}
	l.access[a.Token] = &accessGrant{userID: a.UserID, expires: a.ExpiresAt}
	return nil
}

func (l *loader) addRefresh(i int, r RefreshTokenState) error {
	s, ok := parseRefreshState(r.State)
	switch {
	case r.Token == "" || l.refresh[r.Token] != nil:
		return fmt.Errorf("%w: refresh_tokens[%d]: empty or repeated token", ErrInvalidState, i)
	case !ok:
		return fmt.Errorf("%w: refresh_tokens[%d]: unknown state %q", ErrInvalidState, i, r.State)
	}
	l.refresh[r.Token] = &refreshGrant{userID: r.UserID, state: s, legacy: r.Legacy}
	return nil
}

func (l *loader) addMinted(i int, m SignInTokenState) error {
	if len(l.minted) == maxMinted {
		return fmt.Errorf("%w: more than %d sign_in_tokens", ErrInvalidState, maxMinted)
	}
	l.minted = append(l.minted, mintRecord{id: m.ID, userID: m.UserID, issuedAt: m.IssuedAt, expires: m.ExpiresAt})
	return nil
}

// emulator checks the gathered state and returns the emulator holding it,
// configured by opts; the state's identity replaces what opts say of it.
func (l *loader) emulator(opts []Option) (*Emulator, error) {
	st := l.identity
	if st.Version != StateVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrInvalidState, st.Version, StateVersion)
	}
	if st.ClockOffset < 0 {
		return nil, fmt.Errorf("%w: negative clock offset", ErrInvalidState)
	}
	opts = slices.Clone(opts)
	if st.Environment != "" || st.Region != "" {
		env, ok := fsm.ParseEnvironment(st.Environment)
		if !ok {
			return nil, fmt.Errorf("%w: unknown environment %q", ErrInvalidState, st.Environment)
		}
		region, ok := fsm.ParseRegion(st.Region)
		if !ok {
			return nil, fmt.Errorf("%w: unknown region %q", ErrInvalidState, st.Region)
		}
		opts = append(opts, WithEnvironment(env, region))
	}
	if st.APIKey != "" {
		opts = append(opts, WithAPIKey(st.APIKey))
	}
	if st.TeamID != "" {
		opts = append(opts, WithTeamID(st.TeamID))
	}
	if st.SigningKey != "" {
		key, err := parseSigningKey(st.SigningKey)
		if err != nil {
			return nil, err
		}
		opts = append(opts, WithSigningKey(key))
	}
	e := New(opts...)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.offset = time.Duration(st.ClockOffset)
	e.users, e.order, e.access, e.refresh, e.minted = l.users, l.order, l.access, l.refresh, l.minted
	if err := e.reindex(); err != nil {
		return nil, err
	}
	return e, nil
}

// reindex rebuilds what the emulator derives from its users and tokens
// (the active and deleted users by client_user_id, each user's tokens) and
// checks that they agree. The caller holds e.mu.
func (e *Emulator) reindex() error {
	e.active = make(map[string]*user)
	e.deleted = make(map[string][]*user)
	for _, u := range e.order {
		u.access, u.refresh = nil, nil
		if !u.deletedAt.IsZero() {
			e.deleted[u.clientUserID] = append(e.deleted[u.clientUserID], u)
			continue
		}
		if e.active[u.clientUserID] != nil {
			return fmt.Errorf("%w: two active users have client_user_id %q", ErrInvalidState, u.clientUserID)
		}
		e.active[u.clientUserID] = u
	}
	for _, ds := range e.deleted {
		slices.SortStableFunc(ds, func(a, b *user) int { return a.deletedAt.Compare(b.deletedAt) })
	}
	// Each user's tokens in token order, as an export lists them.
	for _, t := range slices.Sorted(maps.Keys(e.access)) {
		g := e.access[t]
		u := e.users[g.userID]
		if u == nil {
			return fmt.Errorf("%w: an access token of unknown user %q", ErrInvalidState, g.userID)
		}
		u.access = append(u.access, t)
	}
	for _, t := range slices.Sorted(maps.Keys(e.refresh)) {
		g := e.refresh[t]
		u := e.users[g.userID]
		if u == nil {
			return fmt.Errorf("%w: a refresh token of unknown user %q", ErrInvalidState, g.userID)
		}
		if g.state == refreshActive {
			u.refresh = append(u.refresh, t)
		}
	}
	for i, m := range e.minted {
		if e.users[m.userID] == nil {
			return fmt.Errorf("%w: sign_in_tokens[%d]: unknown user %q", ErrInvalidState, i, m.userID)
		}
	}
	return nil
}
