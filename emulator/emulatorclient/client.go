// Package emulatorclient is the Go client of a running emulator's control
// plane (the routes under emulator.ControlPrefix): look at its users, tokens
// and faults, queue faults, revoke and expire a user's tokens, delete a
// user, move the clock, reset. vitalsync emulator's subcommands are built on
// it, and a test that runs against an emulator in another process uses it
// the same way:
//
//	c := emulatorclient.New("http://127.0.0.1:8787", emulatorclient.WithToken(os.Getenv("VITALSYNC_EMULATOR_TOKEN")))
//	if _, err := c.Fail(ctx, "create-user", 503, 2); err != nil { … }
//	st, err := c.State(ctx)
//
// Reads need no token; changes need the emulator's control token (printed
// when it started), and without it the emulator refuses them (403). An
// emulator on this machine's loopback leaves its token for its user
// (PublishToken), where DiscoverToken finds it.
package emulatorclient

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

	"github.com/vitalsync/vitalsync/emulator"
)

// DefaultURL is where vitalsync emulator listens by default.
const DefaultURL = "http://127.0.0.1:8787"

// DefaultTimeout bounds one request when the context has no earlier
// deadline.
const DefaultTimeout = 10 * time.Second

// maxAnswer bounds the body of an answer read.
const maxAnswer = 16 << 20

// ErrRefused is matched by the *Error of a request the emulator answered
// with a 4xx or 5xx.
var ErrRefused = errors.New("emulatorclient: the emulator refused")

// Error is a refusal from the control plane: its status and its message
// ({"detail":…}).
type Error struct {
	Status int
	Detail string
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("the emulator refused (%d): %s", e.Status, e.Detail)
}

// Is matches ErrRefused.
func (e *Error) Is(target error) bool { return target == ErrRefused }

// Client talks to one emulator's control plane. It is safe for concurrent
// use.
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// Option configures New.
type Option func(*Client)

// WithToken sets the emulator's control token, sent with every request
// (needed for changes).
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient sets the HTTP client (default http.DefaultClient).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// New returns a client of the emulator at baseURL (its root, as
// DefaultURL; a trailing slash is dropped).
func New(baseURL string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), hc: http.DefaultClient}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Do sends one request to the control plane route path (relative to
// emulator.ControlPrefix, as "faults/fail"), with body as JSON when it is
// not nil, and returns the body of a 2xx answer. A refusal is an *Error.
func (c *Client) Do(ctx context.Context, method, path string, body any) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+emulator.ControlPrefix+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set(emulator.HeaderControlToken, c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("is the emulator running? %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		var d struct {
			Detail string `json:"detail"`
		}
		if json.Unmarshal(b, &d) != nil || d.Detail == "" {
			d.Detail = http.StatusText(resp.StatusCode)
		}
		return nil, &Error{Status: resp.StatusCode, Detail: d.Detail}
	}
	return b, nil
}

// call sends a request and decodes its answer into out (nil: ignored).
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	b, err := c.Do(ctx, method, path, body)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("emulatorclient: %s %s: the answer does not decode: %w", method, path, err)
	}
	return nil
}

// Health is the answer of the health route.
type Health struct {
	Status string    `json:"status"`
	Time   time.Time `json:"time"` // the emulator's clock
}

// Health checks that the emulator answers.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	return h, c.call(ctx, http.MethodGet, "health", nil, &h)
}

// State returns what the emulator holds: users (deleted ones too), token
// counts, the Sign-In Tokens minted (never a token), queued faults and the
// last requests.
func (c *Client) State(ctx context.Context) (emulator.Overview, error) {
	var o emulator.Overview
	return o, c.call(ctx, http.MethodGet, "state", nil, &o)
}

// Reset forgets every user, token and fault (the API key, team and signing
// key stay) and returns what the emulator holds after it.
func (c *Client) Reset(ctx context.Context) (emulator.Overview, error) {
	var o emulator.Overview
	return o, c.call(ctx, http.MethodPost, "reset", nil, &o)
}

// ClearFaults drops every queued fault and returns the routes' faults after
// it (none queued).
func (c *Client) ClearFaults(ctx context.Context) ([]emulator.FaultOverview, error) {
	var f []emulator.FaultOverview
	return f, c.call(ctx, http.MethodDelete, "faults", nil, &f)
}

// Fail makes the next count requests of route (a name such as
// "create-user", or "METHOD /pattern") answer status.
func (c *Client) Fail(ctx context.Context, route string, status, count int) (emulator.FaultOverview, error) {
	return c.fault(ctx, "fail", map[string]any{"route": route, "status": status, "count": count})
}

// Delay makes the next count requests of route wait d first.
func (c *Client) Delay(ctx context.Context, route string, d time.Duration, count int) (emulator.FaultOverview, error) {
	return c.fault(ctx, "delay", map[string]any{"route": route, "delay": d.String(), "count": count})
}

// Drop makes the next count requests of route lose their connection.
func (c *Client) Drop(ctx context.Context, route string, count int) (emulator.FaultOverview, error) {
	return c.fault(ctx, "drop", map[string]any{"route": route, "count": count})
}

// RateLimit makes the next count requests of route answer 429 with
// Retry-After retryAfter.
func (c *Client) RateLimit(ctx context.Context, route string, retryAfter time.Duration, count int) (emulator.FaultOverview, error) {
	return c.fault(ctx, "rate-limit", map[string]any{"route": route, "retry_after": retryAfter.String(), "count": count})
}

func (c *Client) fault(ctx context.Context, kind string, body map[string]any) (emulator.FaultOverview, error) {
	var f emulator.FaultOverview
	return f, c.call(ctx, http.MethodPost, "faults/"+kind, body, &f)
}

// RevokeRefreshTokens revokes a user's refresh tokens: their next refresh
// needs reauthentication.
func (c *Client) RevokeRefreshTokens(ctx context.Context, userID string) (emulator.UserOverview, error) {
	return c.user(ctx, http.MethodPost, userID, "revoke-refresh-tokens")
}

// ExpireAccessTokens expires a user's access tokens now.
func (c *Client) ExpireAccessTokens(ctx context.Context, userID string) (emulator.UserOverview, error) {
	return c.user(ctx, http.MethodPost, userID, "expire-access-tokens")
}

// DeleteUser deletes a user, as DELETE /v2/user/{user_id} does.
func (c *Client) DeleteUser(ctx context.Context, userID string) (emulator.UserOverview, error) {
	return c.user(ctx, http.MethodDelete, userID, "")
}

// UndoDelete restores a deleted user within the grace period, as POST
// /v2/user/undo_delete does.
func (c *Client) UndoDelete(ctx context.Context, userID string) (emulator.UserOverview, error) {
	return c.user(ctx, http.MethodPost, userID, "undo-delete")
}

func (c *Client) user(ctx context.Context, method, userID, action string) (emulator.UserOverview, error) {
	path := "users/" + url.PathEscape(userID)
	if action != "" {
		path += "/" + action
	}
	var u emulator.UserOverview
	return u, c.call(ctx, method, path, nil, &u)
}

// Clock is the emulator's clock after an Advance.
type Clock struct {
	Time        time.Time `json:"time"`
	ClockOffset string    `json:"clock_offset"` // how far it was advanced in all
}

// Advance moves the emulator's clock forward by d (token expiry, grace
// periods).
func (c *Client) Advance(ctx context.Context, d time.Duration) (Clock, error) {
	var a Clock
	return a, c.call(ctx, http.MethodPost, "clock/advance", map[string]string{"by": d.String()}, &a)
}
