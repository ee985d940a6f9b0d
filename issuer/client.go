package issuer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vitalsync/vitalsync/adapters/junction"
)

// Client calls an issuer on behalf of one signed-in app user, identified by
// a bearer session (for HMACAuthenticator, a token from NewSession). It is
// the app side's source of Sign-In Tokens (it implements the launch
// runner's TokenSource).
//
// A failed call returns an *Error naming the request's method and URL
// (without query or user information) whose Kind is ErrUnauthorized,
// ErrForbidden, ErrBadRequest, ErrNotFound, ErrMethodNotAllowed,
// ErrUnavailable (with RetryAfter when the issuer gave one), ErrUpstream,
// ErrServer, ErrBadResponse or ErrTransport, with the issuer's stable error
// code (Error.Code) and message when it sent them; for 401 and 403 the code's
// sentinel (ErrSessionExpired, ErrBadSignature, ErrAnotherUser, …) matches
// too. Error.Transient (and reconcile.IsTransient) say whether retrying later may help. When ctx ends first the
// error wraps ctx.Err() instead and is not transient. Errors never hold the
// session or a token. A Client is safe for concurrent use.
type Client struct {
	base    string
	session string
	hc      *http.Client
	now     func() time.Time
}

// String hides the session.
func (c *Client) String() string { return "issuer.Client{" + c.base + "}" }

// GoString hides the session from %#v.
func (c *Client) GoString() string { return c.String() }

// ClientOption configures NewClient.
type ClientOption func(*Client)

// WithHTTPClient sets the HTTP client (default: one with a 30 s timeout).
// A nil hc keeps the default.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithClientClock sets the clock used to turn an HTTP-date Retry-After into
// a duration (default time.Now). A nil now keeps the default.
func WithClientClock(now func() time.Time) ClientOption {
	return func(c *Client) {
		if now != nil {
			c.now = now
		}
	}
}

// NewClient returns a client for the issuer at baseURL (the scheme, host and
// any path prefix the handler is mounted under) that authenticates with
// session.
func NewClient(baseURL, session string, opts ...ClientOption) *Client {
	c := &Client{
		base:    strings.TrimRight(baseURL, "/"),
		session: session,
		hc:      &http.Client{Timeout: 30 * time.Second},
		now:     time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// SignInToken returns a fresh Sign-In Token for appUserID's Vital user,
// creating that user if needed. appUserID must be the session's app user:
// otherwise the issuer answers ErrForbidden.
func (c *Client) SignInToken(ctx context.Context, appUserID string) (vitalUserID, token string, err error) {
	const op = "sign-in token"
	if err := ValidateAppUserID(appUserID); err != nil {
		return "", "", &Error{Op: op, Kind: ErrBadRequest, Err: err}
	}
	body, _ := json.Marshal(map[string]string{"app_user_id": appUserID})
	var out signInTokenBody
	if err := c.do(ctx, op, http.MethodPost, PathSignInToken, body, &out); err != nil {
		return "", "", err
	}
	if out.UserID == "" || out.SignInToken == "" {
		return "", "", &Error{Op: op, Method: http.MethodPost, URL: c.displayURL(PathSignInToken), Status: http.StatusOK,
			Kind: ErrBadResponse, Err: errors.New("missing user_id or sign_in_token")}
	}
	return out.UserID, out.SignInToken, nil
}

// ResolveVitalUser returns appUserID's Vital user without minting a token,
// creating the user if needed. appUserID must be the session's app user.
func (c *Client) ResolveVitalUser(ctx context.Context, appUserID string) (string, error) {
	const op = "resolve vital user"
	if err := ValidateAppUserID(appUserID); err != nil {
		return "", &Error{Op: op, Kind: ErrBadRequest, Err: err}
	}
	var out vitalUserBody
	path := PathVitalUser + "?app_user_id=" + url.QueryEscape(appUserID)
	if err := c.do(ctx, op, http.MethodGet, path, nil, &out); err != nil {
		return "", err
	}
	if out.UserID == "" {
		return "", &Error{Op: op, Method: http.MethodGet, URL: c.displayURL(PathVitalUser), Status: http.StatusOK,
			Kind: ErrBadResponse, Err: errors.New("missing user_id")}
	}
	return out.UserID, nil
}

// do sends one request and decodes a 200 answer into out.
func (c *Client) do(ctx context.Context, op, method, path string, body []byte, out any) error {
	return c.doWith(ctx, op, method, path, body, out, nil)
}

// doWith is do with extra request headers.
func (c *Client) doWith(ctx context.Context, op, method, path string, body []byte, out any, extra http.Header) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return &Error{Op: op, Kind: ErrBadRequest, Err: err}
	}
	where := displayURL(req.URL)
	if c.session != "" {
		req.Header.Set("Authorization", "Bearer "+c.session)
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range extra {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up: neither an issuer failure nor transient.
			return fmt.Errorf("issuer: %s: %w", op, ctx.Err())
		}
		return &Error{Op: op, Method: method, URL: where, Kind: ErrTransport, Err: stripURL(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return &Error{Op: op, Method: method, URL: where, Status: resp.StatusCode, Kind: ErrTransport, Err: err}
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, out); err != nil {
			return &Error{Op: op, Method: method, URL: where, Status: resp.StatusCode, Kind: ErrBadResponse, Err: errors.New("undecodable JSON")}
		}
		return nil
	}
	e := &Error{Op: op, Method: method, URL: where, Status: resp.StatusCode, Kind: kindForStatus(resp.StatusCode)}
	var eb errorBody
	if json.Unmarshal(data, &eb) == nil {
		e.Code = printable(eb.Error, maxCodeLen)
		e.Message = printable(eb.Message, maxMessageLen)
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusConflict {
			e.Reason = codeReasons[e.Code]
		}
	}
	if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests {
		e.RetryAfter = junction.ParseRetryAfter(resp.Header.Get("Retry-After"), c.now())
	}
	return e
}

// Bounds of what an error answer may put into an *Error.
const (
	maxCodeLen    = 64
	maxMessageLen = 256
)

// printable returns s without control and other non-printable characters,
// cut to at most max bytes (at a character boundary): an issuer's answer is
// shown to people and must not be able to forge terminal output.
func printable(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > max {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// displayURL is the URL of path under the base URL, as errors show it.
func (c *Client) displayURL(path string) string {
	u, err := url.Parse(c.base + path)
	if err != nil {
		return ""
	}
	return displayURL(u)
}

// displayURL is u without its query, fragment and user information, for
// errors: the query may name the app user, and a base URL may hold
// credentials.
func displayURL(u *url.URL) string {
	c := *u
	c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment, c.User = "", false, "", "", nil
	return c.String()
}

// kindForStatus is the one table from issuer statuses to client errors.
func kindForStatus(status int) error {
	switch status {
	case http.StatusBadRequest:
		return ErrBadRequest
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusMethodNotAllowed:
		return ErrMethodNotAllowed
	case http.StatusConflict:
		return ErrConflict
	case http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusGatewayTimeout:
		return ErrUnavailable
	case http.StatusBadGateway:
		return ErrUpstream
	}
	if status >= 500 {
		return ErrServer
	}
	return ErrBadResponse
}

// stripURL keeps a transport error's cause but drops the request URL, which
// the caller already knows.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
	}
	return err
}
