package junction

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout is the per-call timeout unless [WithTimeout] says otherwise.
const DefaultTimeout = 10 * time.Second

// maxBody bounds how much of a response body is read.
const maxBody = 1 << 20

// Option configures a client.
type Option func(*options)

type options struct {
	httpClient *http.Client
	timeout    time.Duration
	now        func() time.Time
}

// WithHTTPClient makes the client send its requests through c (its
// Transport, Jar and Timeout). The client uses a copy of c that never follows
// redirects, so credentials never leave the base URL's host.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) {
		if c != nil {
			o.httpClient = c
		}
	}
}

// WithTimeout sets the per-call timeout (10 s by default). A non-positive d
// leaves only the caller's context to bound a call.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithClock sets the clock used to turn a Retry-After HTTP date into a delay
// (time.Now by default).
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// caller is what the three clients share: it sends one request and puts the
// outcome through the error table.
type caller struct {
	base    string
	hc      *http.Client
	timeout time.Duration
	now     func() time.Time
}

func newCaller(baseURL string, opts []Option) caller {
	o := options{httpClient: http.DefaultClient, timeout: DefaultTimeout, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	hc := *o.httpClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return caller{base: strings.TrimRight(baseURL, "/"), hc: &hc, timeout: o.timeout, now: o.now}
}

// request is one API call.
type request struct {
	op          string
	method      string
	path        string // already escaped
	query       url.Values
	header      http.Header
	body        io.Reader
	contentType string
	// classify reads the outcome; nil means the package's one table
	// (classify). The legacy endpoints bring their own (legacyClassify).
	classify func(op string, o outcome, out any, now time.Time) error
}

// do sends r and decodes a 2xx body into out.
func (c caller) do(ctx context.Context, r request, out any) error {
	callCtx := ctx
	if c.timeout > 0 {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(callCtx, r.method, u, r.body)
	if err != nil {
		// A bad base URL; the error names the URL, which holds no secret.
		return &APIError{Op: r.op, Kind: ErrValidation, Err: err}
	}
	for k, vs := range r.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Accept", "application/json")
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	cl := classify
	if r.classify != nil {
		cl = r.classify
	}
	return cl(r.op, c.exchange(ctx, req), out, c.now())
}

// exchange sends req and reads a bounded body. ctx is the caller's context,
// which tells a cancellation by the caller from the per-call timeout.
func (c caller) exchange(ctx context.Context, req *http.Request) outcome {
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return outcome{canceled: ctx.Err()}
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			// net/http names the URL; its query may carry a key (the legacy
			// endpoints' ?key=), so it is left out.
			if i := strings.IndexByte(ue.URL, '?'); i >= 0 {
				ue.URL = ue.URL[:i]
			}
		}
		return outcome{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		if ctx.Err() != nil {
			return outcome{canceled: ctx.Err()}
		}
		return outcome{err: err}
	}
	o := outcome{status: resp.StatusCode, header: resp.Header, body: body}
	if len(body) > maxBody {
		o.body, o.tooLarge = body[:maxBody], true
	}
	return o
}

// decoded sends r with do and returns the 2xx body decoded as a T, or the
// zero T and do's error.
func decoded[T any](ctx context.Context, do func(context.Context, request, any) error, r request) (T, error) {
	var v T
	if err := do(ctx, r, &v); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// segment escapes one path segment, refusing those that would change the
// path's meaning: empty, "." and "..".
func segment(op, s string) (string, error) {
	if s == "" || s == "." || s == ".." {
		return "", &APIError{Op: op, Kind: ErrValidation, Err: errors.New("empty or dot-only path segment")}
	}
	return url.PathEscape(s), nil
}

// validHeaderValue reports whether s can be sent as a header value: no
// control characters but tab. A credential that cannot is refused before
// sending, as a terminal error, instead of failing in net/http as a
// transport error that looks transient.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// jsonBody marshals v for a request body.
func jsonBody(v any) io.Reader {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the package's own plain structs are marshalled.
		panic("junction: marshal request: " + err.Error())
	}
	return bytes.NewReader(b)
}

// Client calls the team API with a team API key. It is safe for concurrent
// use.
type Client struct {
	c      caller
	apiKey string
}

// NewClient returns a team API client for baseURL (e.g. [APIBaseURL], or an
// emulator's URL) that authenticates with apiKey.
func NewClient(baseURL, apiKey string, opts ...Option) *Client {
	return &Client{c: newCaller(baseURL, opts), apiKey: apiKey}
}

// String hides the API key.
func (c *Client) String() string { return "junction.Client{" + c.c.base + "}" }

// GoString hides the API key from %#v.
func (c *Client) GoString() string { return c.String() }

func (c *Client) do(ctx context.Context, r request, out any) error {
	if !validHeaderValue(c.apiKey) {
		return &APIError{Op: r.op, Kind: ErrValidation, Err: errors.New("the API key holds characters a header cannot carry")}
	}
	r.header = http.Header{HeaderAPIKey: {c.apiKey}}
	return c.c.do(ctx, r, out)
}

// CreateUser creates a user: POST /v2/user. A user with the same
// clientUserID gives an [ErrConflict] *APIError naming it (ConflictUserID,
// ConflictCreatedOn).
func (c *Client) CreateUser(ctx context.Context, clientUserID string) (UserKey, error) {
	return decoded[UserKey](ctx, c.do, request{
		op: "create user", method: http.MethodPost, path: "/v2/user",
		body: jsonBody(struct {
			ClientUserID string `json:"client_user_id"`
		}{clientUserID}),
		contentType: "application/json",
	})
}

// GetUser returns a user: GET /v2/user/{userID}.
func (c *Client) GetUser(ctx context.Context, userID string) (User, error) {
	return c.user(ctx, "get user", "/v2/user/", userID)
}

// ResolveUser returns the user with a client user ID: GET
// /v2/user/resolve/{clientUserID}.
func (c *Client) ResolveUser(ctx context.Context, clientUserID string) (User, error) {
	return c.user(ctx, "resolve user", "/v2/user/resolve/", clientUserID)
}

// user GETs the user at prefix followed by id as one path segment.
func (c *Client) user(ctx context.Context, op, prefix, id string) (User, error) {
	seg, err := segment(op, id)
	if err != nil {
		return User{}, err
	}
	return decoded[User](ctx, c.do, request{op: op, method: http.MethodGet, path: prefix + seg})
}

// ListUsers returns a page of the team's users: GET /v2/user?offset&limit.
func (c *Client) ListUsers(ctx context.Context, offset, limit int) (UsersPage, error) {
	return decoded[UsersPage](ctx, c.do, request{
		op: "list users", method: http.MethodGet, path: "/v2/user",
		query: url.Values{"offset": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(limit)}},
	})
}

// DeleteUser deletes a user: DELETE /v2/user/{userID}. Its data is erased
// after a grace period, during which [Client.UndoDeleteUser] restores it;
// its client user ID is free at once.
func (c *Client) DeleteUser(ctx context.Context, userID string) error {
	const op = "delete user"
	seg, err := segment(op, userID)
	if err != nil {
		return err
	}
	var r UserSuccessResponse
	return c.do(ctx, request{op: op, method: http.MethodDelete, path: "/v2/user/" + seg}, &r)
}

// UndoDeleteUser restores a deleted user within the grace period: POST
// /v2/user/undo_delete?user_id=… or ?client_user_id=…. Exactly one of userID
// and clientUserID must be set, else it returns an [ErrValidation] error
// without calling the API.
func (c *Client) UndoDeleteUser(ctx context.Context, userID, clientUserID string) error {
	const op = "undo delete user"
	q := url.Values{}
	switch {
	case userID != "" && clientUserID == "":
		q.Set("user_id", userID)
	case userID == "" && clientUserID != "":
		q.Set("client_user_id", clientUserID)
	default:
		return &APIError{Op: op, Kind: ErrValidation, Err: errors.New("exactly one of user ID and client user ID must be set")}
	}
	var r UserSuccessResponse
	return c.do(ctx, request{op: op, method: http.MethodPost, path: "/v2/user/undo_delete", query: q}, &r)
}

// CreateSignInToken mints a Sign-In Token for a user: POST
// /v2/user/{userID}/sign_in_token.
func (c *Client) CreateSignInToken(ctx context.Context, userID string) (SignInTokenResponse, error) {
	const op = "create sign-in token"
	seg, err := segment(op, userID)
	if err != nil {
		return SignInTokenResponse{}, err
	}
	return decoded[SignInTokenResponse](ctx, c.do, request{op: op, method: http.MethodPost, path: "/v2/user/" + seg + "/sign_in_token"})
}

// UserClient calls the API as one user, with the access token of an SDK
// session (Authorization: Bearer). It is safe for concurrent use.
type UserClient struct{ c caller }

// NewUserClient returns a user-level API client for baseURL.
func NewUserClient(baseURL string, opts ...Option) *UserClient {
	return &UserClient{c: newCaller(baseURL, opts)}
}

// GetUser returns the signed-in user: GET /v2/user/{userID}. An expired or
// revoked access token gives [ErrUnauthorized].
func (u *UserClient) GetUser(ctx context.Context, accessToken, userID string) (User, error) {
	const op = "get own user"
	seg, err := segment(op, userID)
	if err != nil {
		return User{}, err
	}
	if !validHeaderValue(accessToken) {
		return User{}, &APIError{Op: op, Kind: ErrValidation, Err: errors.New("the access token holds characters a header cannot carry")}
	}
	return decoded[User](ctx, u.c.do, request{
		op: op, method: http.MethodGet, path: "/v2/user/" + seg,
		header: http.Header{"Authorization": {"Bearer " + accessToken}},
	})
}

// AuthClient calls the auth server's token endpoint, POST {baseURL}/v1/token,
// as the SDKs do (form-encoded, no credentials). It is safe for concurrent
// use.
type AuthClient struct{ c caller }

// NewAuthClient returns a token endpoint client for baseURL (e.g.
// [AuthBaseURL]).
func NewAuthClient(baseURL string, opts ...Option) *AuthClient {
	return &AuthClient{c: newCaller(baseURL, opts)}
}

func (a *AuthClient) token(ctx context.Context, op string, form url.Values) (TokenResponse, error) {
	return decoded[TokenResponse](ctx, a.c.do, request{
		op: op, method: http.MethodPost, path: "/v1/token",
		body: strings.NewReader(form.Encode()), contentType: "application/x-www-form-urlencoded",
	})
}

// Exchange trades a Sign-In Token's user token (the inner JWT, not the raw
// Sign-In Token) for an access and refresh token. An invalid or expired
// token gives [ErrInvalidToken].
func (a *AuthClient) Exchange(ctx context.Context, userTokenJWT string) (TokenResponse, error) {
	return a.token(ctx, "token exchange", url.Values{
		"grant_type":         {GrantTokenExchange},
		"subject_token_type": {SubjectTokenTypeSignIn},
		"subject_token":      {userTokenJWT},
	})
}

// Refresh trades a refresh token for new tokens (the refresh token rotates).
// A deleted or disabled user gives [ErrInvalidToken]; a revoked refresh
// token gives [ErrReauthenticationRequired]; transport errors, 5xx and 429
// are transient and mean nothing changed.
func (a *AuthClient) Refresh(ctx context.Context, refreshToken string) (TokenResponse, error) {
	return a.token(ctx, "token refresh", url.Values{
		"grant_type":    {GrantRefreshToken},
		"refresh_token": {refreshToken},
	})
}
