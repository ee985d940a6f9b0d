package junction

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/vitalsync/vitalsync/fsm"
)

// Form values of the token endpoint (POST {authBase}/v1/token) and the
// error_type values of its error bodies.
const (
	// GrantTokenExchange is the grant_type that exchanges a Sign-In Token's
	// JWT for an access and refresh token.
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	// SubjectTokenTypeSignIn is the subject_token_type of the token exchange.
	SubjectTokenTypeSignIn = "urn:junction:sign-in-token"
	// GrantRefreshToken is the grant_type of a refresh.
	GrantRefreshToken = "refresh_token"
	// ErrorTypeInvalidToken is the error_type of an invalid or expired
	// Sign-In Token, or of a refresh for a deleted or disabled user.
	ErrorTypeInvalidToken = "invalid_token"
	// ErrorTypeReauthRequired is the error_type of a refresh with a revoked
	// refresh token.
	ErrorTypeReauthRequired = "reauthentication_required"
)

// Header names of the API.
const (
	// HeaderAPIKey carries the team API key.
	HeaderAPIKey = "X-Vital-API-Key"
)

// ErrorDetail is the object form of a FastAPI error body's "detail":
// {"detail": {...}}. The token endpoint sets only ErrorType; the create-user
// conflict (400) sets all four. Other errors use a string detail, and 422 a
// list of validation errors.
type ErrorDetail struct {
	ErrorType    string     `json:"error_type,omitempty"`
	ErrorMessage string     `json:"error_message,omitempty"`
	UserID       string     `json:"user_id,omitempty"`
	CreatedOn    *time.Time `json:"created_on,omitempty"`
}

// UserKey is the API's ClientFacingUserKey, the response of create user.
type UserKey struct {
	UserID       string `json:"user_id"`
	ClientUserID string `json:"client_user_id"`
}

// User is the API's ClientFacingUser.
type User struct {
	UserID           string            `json:"user_id"`
	TeamID           string            `json:"team_id"`
	ClientUserID     string            `json:"client_user_id"`
	CreatedOn        time.Time         `json:"created_on"`
	ConnectedSources []json.RawMessage `json:"connected_sources"`
	// FallbackTimeZone is the user's fallback time zone, if set.
	FallbackTimeZone *FallbackTimeZone `json:"fallback_time_zone,omitempty"`
	// FallbackBirthDate is the user's fallback birth date, if set.
	FallbackBirthDate *FallbackBirthDate `json:"fallback_birth_date,omitempty"`
	// IngestionStart and IngestionEnd are dates (YYYY-MM-DD), if set.
	IngestionStart *string `json:"ingestion_start,omitempty"`
	IngestionEnd   *string `json:"ingestion_end,omitempty"`
}

// UnmarshalJSON decodes a ClientFacingUser. It reads created_on as RFC 3339
// or, since FastAPI writes naive datetimes, without a zone (as UTC).
func (u *User) UnmarshalJSON(b []byte) error {
	type plain User
	var aux struct {
		plain
		CreatedOn apiTime `json:"created_on"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*u = User(aux.plain)
	u.CreatedOn = time.Time(aux.CreatedOn)
	return nil
}

// apiTime is a datetime as the API writes it.
type apiTime time.Time

// UnmarshalJSON reads RFC 3339, or a naive ISO 8601 datetime as UTC; null
// leaves the zero time.
func (t *apiTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := parseAPITime(s)
	if err != nil {
		return err
	}
	*t = apiTime(v)
	return nil
}

// parseAPITime parses RFC 3339, or a naive ISO 8601 datetime as UTC.
func parseAPITime(s string) (time.Time, error) {
	if v, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return v, nil
	}
	return time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC)
}

// FallbackTimeZone is the API's FallbackTimeZone.
type FallbackTimeZone struct {
	ID         string     `json:"id"` // IANA time zone, e.g. "Europe/London"
	SourceSlug string     `json:"source_slug,omitempty"`
	UpdatedAt  *time.Time `json:"updated_at,omitempty"`
}

// FallbackBirthDate is the API's FallbackBirthDate.
type FallbackBirthDate struct {
	Value      string     `json:"value"` // YYYY-MM-DD
	SourceSlug string     `json:"source_slug,omitempty"`
	UpdatedAt  *time.Time `json:"updated_at,omitempty"`
}

// UsersPage is the API's PaginatedUsersResponse.
type UsersPage struct {
	Users  []User `json:"users"`
	Total  int    `json:"total"`
	Offset int    `json:"offset"`
	Limit  int    `json:"limit"`
}

// SignInTokenResponse is the API's UserSignInTokenResponse.
type SignInTokenResponse struct {
	UserID      string `json:"user_id"`
	SignInToken string `json:"sign_in_token"`
}

// String hides the token.
func (r SignInTokenResponse) String() string { return "{user_id:" + r.UserID + " sign_in_token:…}" }

// UserSuccessResponse is the API's UserSuccessResponse (delete, undo delete).
type UserSuccessResponse struct {
	Success bool `json:"success"`
}

// TokenResponse is the token endpoint's 2xx body. ExpiresIn is a JSON integer
// (iOS requires one). [AuthClient] treats a 2xx body that lacks either token
// or has a non-positive expires_in as [ErrBadResponse].
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
}

// String hides the tokens.
func (r TokenResponse) String() string { return "{access_token:… refresh_token:… expires_in:…}" }

// GoString hides the tokens from %#v.
func (r TokenResponse) GoString() string { return "junction.TokenResponse{…}" }

// valid reports whether a 2xx body holds what the SDKs require.
func (r TokenResponse) valid() error {
	if r.AccessToken == "" || r.RefreshToken == "" || r.ExpiresIn <= 0 {
		return errors.New("token response lacks access_token, refresh_token or a positive expires_in")
	}
	return nil
}

func (k UserKey) valid() error {
	if k.UserID == "" {
		return errors.New("user key lacks user_id")
	}
	return nil
}

func (u User) valid() error {
	if u.UserID == "" {
		return errors.New("user lacks user_id")
	}
	return nil
}

func (p UsersPage) valid() error {
	for _, u := range p.Users {
		if err := u.valid(); err != nil {
			return err
		}
	}
	return nil
}

func (r SignInTokenResponse) valid() error {
	if r.UserID == "" || r.SignInToken == "" {
		return errors.New("sign-in token response lacks user_id or sign_in_token")
	}
	return nil
}

func (r UserSuccessResponse) valid() error {
	if !r.Success {
		return errors.New("success is false")
	}
	return nil
}

// APIBaseURL returns the team API's base URL for an environment and region,
// e.g. https://api.sandbox.us.junction.com. It returns "" for an unknown
// environment or region.
func APIBaseURL(env fsm.Environment, region fsm.Region) string { return baseURL("api", env, region) }

// AuthBaseURL returns the auth server's base URL for an environment and
// region, e.g. https://auth.sandbox.us.junction.com; the token endpoint is
// {AuthBaseURL}/v1/token. It returns "" for an unknown environment or region.
func AuthBaseURL(env fsm.Environment, region fsm.Region) string {
	return baseURL("auth", env, region)
}

func baseURL(service string, env fsm.Environment, region fsm.Region) string {
	if _, ok := fsm.ParseRegion(string(region)); !ok {
		return ""
	}
	switch env {
	case fsm.Production:
		return "https://" + service + "." + string(region) + ".junction.com"
	case fsm.Sandbox, fsm.Dev:
		return "https://" + service + "." + string(env) + "." + string(region) + ".junction.com"
	}
	return ""
}

// IsUUID reports whether s is a UUID in the 8-4-4-4-12 hex form, any case:
// the form of every Junction user and team ID, the one the API's path
// parameters must have and the one Swift's UUID(uuidString:) accepts.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
