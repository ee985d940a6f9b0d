package junction

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The domain errors of the API. An [APIError] matches exactly one of them
// (errors.Is); one table (classify) chooses it.
var (
	// ErrConflict: create user found a user with the same client_user_id (a
	// 400 whose detail carries the existing user_id), or a 409.
	ErrConflict = errors.New("conflict")
	// ErrUnauthorized: 401, a missing or wrong API key or access token.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: 403, the credentials may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: 404 or 410, no such user (or it is deleted).
	ErrNotFound = errors.New("not found")
	// ErrValidation: the request was rejected as invalid (422, a 400 that is
	// not a conflict, any other 4xx without a specific meaning), or was
	// refused before sending (an empty or dot-only path segment, a
	// credential with control characters, a bad base URL).
	ErrValidation = errors.New("invalid request")
	// ErrRateLimited: 429; APIError.RetryAfter says when to retry. Transient.
	ErrRateLimited = errors.New("rate limited")
	// ErrServer: a 5xx. Transient.
	ErrServer = errors.New("server error")
	// ErrBadResponse: a 2xx whose body is not the expected JSON (or is too
	// large), or a 1xx/3xx status.
	ErrBadResponse = errors.New("bad response")
	// ErrTransport: no response (connection refused or dropped, DNS, TLS, the
	// per-call timeout). Transient.
	ErrTransport = errors.New("transport error")
	// ErrInvalidToken: a 4xx whose detail.error_type is "invalid_token": the
	// Sign-In Token is invalid or expired, or (on refresh) the user was
	// deleted or disabled.
	ErrInvalidToken = errors.New("invalid token")
	// ErrReauthenticationRequired: a 4xx whose detail.error_type is
	// "reauthentication_required": the refresh token was revoked.
	ErrReauthenticationRequired = errors.New("reauthentication required")
)

// APIError is a failed API call. It never holds credentials or tokens.
type APIError struct {
	Op         string        // "create user", "token exchange", …
	Status     int           // HTTP status; 0 when there was no response
	Kind       error         // one of the sentinels; errors.Is(e, e.Kind) is true
	RetryAfter time.Duration // from Retry-After on 429 and 5xx; 0 if absent
	// ConflictUserID and ConflictCreatedOn name the existing user of a
	// create-user conflict.
	ConflictUserID    string
	ConflictCreatedOn time.Time
	// Message is the server's detail message, if any; it is not part of
	// Error().
	Message string
	// LegacyEnvelope: a 4xx of a legacy Firebase endpoint had its error
	// envelope {"error":{"message","status"}} (LegacyAuthClient); Android
	// 4.2.0 fails to decode any other body (reference §10.3).
	LegacyEnvelope bool
	Err            error // the underlying error (transport, decoding), if any
}

// Error describes the failure without any body, header or credential.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("junction: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Status != 0 {
		b.WriteString(strconv.Itoa(e.Status))
		b.WriteByte(' ')
	}
	if e.Kind != nil {
		b.WriteString(e.Kind.Error())
	} else {
		b.WriteString("error")
	}
	if e.ConflictUserID != "" {
		b.WriteString(" (existing user " + e.ConflictUserID + ")")
	}
	if e.RetryAfter > 0 {
		b.WriteString(" (retry after " + e.RetryAfter.String() + ")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Is reports whether target is e's Kind.
func (e *APIError) Is(target error) bool { return target == e.Kind }

// RetryAfterHint returns the server's Retry-After (0 if none), for
// schedulers that honour it (reconcile's runner does).
func (e *APIError) RetryAfterHint() time.Duration { return e.RetryAfter }

// Unwrap returns the underlying error.
func (e *APIError) Unwrap() error { return e.Err }

// Transient reports whether retrying later may succeed: transport errors,
// 5xx and 429. Everything else is terminal.
func (e *APIError) Transient() bool {
	return e.Kind == ErrTransport || e.Kind == ErrServer || e.Kind == ErrRateLimited
}

// errorBody is a FastAPI error body: {"detail": <string | object | list>}.
type errorBody struct {
	Detail json.RawMessage `json:"detail"`
}

// wireDetail is ErrorDetail with a lenient created_on.
type wireDetail struct {
	ErrorType    string `json:"error_type"`
	ErrorMessage string `json:"error_message"`
	UserID       string `json:"user_id"`
	CreatedOn    string `json:"created_on"`
}

// outcome is what one HTTP call got back.
type outcome struct {
	canceled error // the caller's context ended: its error
	err      error // no response: the transport error
	status   int
	header   http.Header
	body     []byte
	tooLarge bool // the body exceeded maxBody and was cut
}

// classify is the one table from the outcome of a call to the package's
// errors. It returns nil for a 2xx whose body decodes into out, the
// caller's context error (wrapped, not an *APIError, not transient) when the
// caller's context ended, and an *APIError for everything else.
func classify(op string, o outcome, out any, now time.Time) error {
	e := &APIError{Op: op, Status: o.status}
	var detail wireDetail
	if o.status >= 400 && !o.tooLarge {
		detail, e.Message = parseDetail(o.body)
	}
	switch {
	case o.canceled != nil:
		return fmt.Errorf("junction: %s: %w", op, o.canceled)
	case o.err != nil:
		e.Kind, e.Err = ErrTransport, o.err
	case o.status >= 200 && o.status < 300:
		if o.tooLarge {
			e.Kind, e.Err = ErrBadResponse, errors.New("body too large")
			break
		}
		if err := json.Unmarshal(o.body, out); err != nil {
			e.Kind, e.Err = ErrBadResponse, errors.New("body is not the expected JSON")
			break
		}
		if v, ok := out.(validator); ok {
			if err := v.valid(); err != nil {
				e.Kind, e.Err = ErrBadResponse, err
				break
			}
		}
		return nil
	case o.status >= 400 && o.status < 500 && detail.ErrorType == ErrorTypeInvalidToken:
		e.Kind = ErrInvalidToken
	case o.status >= 400 && o.status < 500 && detail.ErrorType == ErrorTypeReauthRequired:
		e.Kind = ErrReauthenticationRequired
	case o.status == http.StatusBadRequest && detail.UserID != "":
		e.Kind = ErrConflict
		e.ConflictUserID = detail.UserID
		e.ConflictCreatedOn, _ = parseAPITime(detail.CreatedOn) // zero if absent or unreadable
	case o.status == http.StatusConflict:
		e.Kind = ErrConflict
	case o.status == http.StatusUnauthorized:
		e.Kind = ErrUnauthorized
	case o.status == http.StatusForbidden:
		e.Kind = ErrForbidden
	case o.status == http.StatusNotFound || o.status == http.StatusGone:
		e.Kind = ErrNotFound
	case o.status == http.StatusTooManyRequests:
		e.Kind = ErrRateLimited
		e.RetryAfter = retryAfter(o.header, now)
	case o.status >= 400 && o.status < 500: // 400, 422 and the rest
		e.Kind = ErrValidation
	case o.status >= 500 && o.status < 600:
		e.Kind = ErrServer
		e.RetryAfter = retryAfter(o.header, now)
	default: // 1xx, 3xx (redirects are not followed), nonsense
		e.Kind = ErrBadResponse
	}
	return e
}

// parseDetail reads a FastAPI error body: the object detail, or the message
// of a string detail.
func parseDetail(body []byte) (wireDetail, string) {
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil || len(eb.Detail) == 0 {
		return wireDetail{}, ""
	}
	var d wireDetail
	if json.Unmarshal(eb.Detail, &d) == nil {
		return d, d.ErrorMessage
	}
	var msg string
	if json.Unmarshal(eb.Detail, &msg) == nil {
		return wireDetail{}, msg
	}
	return wireDetail{}, ""
}

// retryAfter reads h's Retry-After with [ParseRetryAfter].
func retryAfter(h http.Header, now time.Time) time.Duration {
	return ParseRetryAfter(h.Get("Retry-After"), now)
}

// ParseRetryAfter reads a Retry-After value, delay-seconds or an HTTP date,
// as a delay from now, capped at 24 hours. Absent, invalid or past values
// give 0.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

// maxRetryAfter caps Retry-After so that nonsense cannot park a caller for
// years.
const maxRetryAfter = 24 * time.Hour

// validator is a 2xx body that can check its required fields.
type validator interface{ valid() error }
