package vitalsdk

import (
	"context"
	"errors"
	"time"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/fsm"
)

// flight is one refresh in progress. Callers that find it wait on done and
// share its result.
type flight struct {
	done  chan struct{}
	token string // the new access token
	err   error
}

// errSuperseded: the session changed (sign-out, a new sign-in) while a
// refresh was on the wire, so its result was dropped. Callers retry from
// the new state.
var errSuperseded = errors.New("session changed during refresh")

// maxSuperseded bounds how often token starts over after errSuperseded.
const maxSuperseded = 3

// sessionLocked returns the token record a refresh or an access token needs,
// or the error the SDK throws: ErrKeychainLocked, ErrNotConfigured,
// ErrNotSignedIn (not in token mode, or no record). A pending record is
// returned: token serves its unexpired access token and refuses a refresh
// (ErrNeedsReauthentication, no network call). The caller holds mu.
func (c *Client) sessionLocked(op string) (TokenRecord, error) {
	if err := c.keychainLockedLocked(op); err != nil {
		return TokenRecord{}, err
	}
	cfg, ok := c.configLocked()
	switch {
	case !ok:
		return TokenRecord{}, opError(op, ErrNotConfigured, nil)
	case cfg.strategy != StrategyJWT || c.st.Record == nil:
		return TokenRecord{}, opError(op, ErrNotSignedIn, nil)
	}
	rec := *c.st.Record
	if rec.Region == "" && !c.profile.RecordWithoutRegion {
		// A record written by Android 4.2.0 has no region; 4.2.1+ backfill
		// it from the auth strategy (§10.3, §10.9).
		rec.Region = c.st.Region
	}
	return rec, nil
}

// AccessToken returns the session's access token, refreshing it first when
// it has expired (expiry <= now; there is no early margin, as in the SDKs)
// or when a refresh is already in progress (it waits for that one). Only one
// refresh runs at a time; concurrent callers share its result.
//
// On iOS 1.4+ it is the public getAccessToken, which throws ErrNotSignedIn
// unless the status contains useSignInToken, so after the deprecated
// SignIn it fails until the next launch (§10.2); GetOwnUser, an internal
// call, uses the session regardless. While reauthentication is pending the
// stored token is still served until it expires (§10.2).
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	if err := c.publicTokenCall("access token"); err != nil {
		return "", err
	}
	return c.accessToken(ctx)
}

// accessToken is AccessToken for the SDK's internal calls.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	return c.token(ctx, "access token", c.unexpired)
}

// unexpired reports whether rec's access token is still usable: iOS treats
// expiry <= now as expired, Android only an expiry strictly before now
// (§3, §10.2).
func (c *Client) unexpired(rec TokenRecord) bool {
	now := c.now()
	if c.profile.Platform == fsm.Android {
		return !rec.Expiry.Before(now)
	}
	return now.Before(rec.Expiry)
}

// publicTokenCall is iOS 1.4+'s check on getAccessToken and refreshToken:
// they require useSignInToken in the status (§10.2).
func (c *Client) publicTokenCall(op string) error {
	c.create()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.startupParams() && !c.locked && !c.statusLocked().Has(fsm.FlagUseSignInToken) {
		if _, ok := c.configLocked(); !ok {
			return opError(op, ErrNotConfigured, nil)
		}
		return opError(op, ErrNotSignedIn, errors.New("the status lacks useSignInToken"))
	}
	return nil
}

// Refresh refreshes the session's tokens now, or joins the refresh in
// progress (reference §3). The rotated refresh token, the new access token
// and expiry are persisted in one transaction. Outcomes:
//   - a transport error, a 5xx or any other unexpected answer: nothing
//     changes, the error is returned (reconcile.IsTransient tells retryable);
//   - invalid_token: ErrInvalidUser; the record is erased, and on profiles
//     with AutoSignOutOnDeletion the SDK signs out fully (status {}); on
//     Android 4.2.1+ the strategy and external user ID stay (status
//     {configured}, no user);
//   - reauthentication_required: ErrNeedsReauthentication; the session is
//     marked pending (persisted), and later refreshes fail at once with no
//     network call until a SignIn for the same user re-exchanges.
//
// The refresh request is not abandoned when ctx is cancelled: its answer is
// always recorded, because the server may already have rotated the refresh
// token.
func (c *Client) Refresh(ctx context.Context) error {
	if err := c.publicTokenCall("refresh"); err != nil {
		return err
	}
	_, err := c.token(ctx, "refresh", func(TokenRecord) bool { return false })
	return err
}

// token returns the session's access token when usable says the stored one
// is and no refresh is in progress; otherwise it starts or joins a refresh
// and returns its access token. A refresh whose session was replaced while
// it ran is retried from the new session.
func (c *Client) token(ctx context.Context, op string, usable func(TokenRecord) bool) (string, error) {
	if err := c.crashedErr(op); err != nil {
		return "", err
	}
	c.create()
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		rec, err := c.sessionLocked(op)
		if err != nil {
			c.mu.Unlock()
			return "", err
		}
		if c.flight == nil && usable(rec) {
			// Also while reauthentication is pending: the stored token is
			// served until it expires (§10.2).
			c.mu.Unlock()
			return rec.AccessToken, nil
		}
		if rec.PendingReauth {
			// Pending: no network call (§3).
			c.mu.Unlock()
			return "", opError(op, ErrNeedsReauthentication, nil)
		}
		f := c.refreshLocked(ctx, rec)
		c.mu.Unlock()
		tok, err := c.wait(ctx, op, f)
		if errors.Is(err, errSuperseded) && attempt < maxSuperseded {
			continue
		}
		return tok, err
	}
}

// wait waits for f, or for ctx (then the refresh goes on without the caller).
func (c *Client) wait(ctx context.Context, op string, f *flight) (string, error) {
	c.crash("refresh:wait")
	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		return "", opError(op, nil, ctx.Err())
	}
}

// refreshLocked returns the refresh in progress, or starts one for rec. The
// caller holds mu.
func (c *Client) refreshLocked(ctx context.Context, rec TokenRecord) *flight {
	if c.flight != nil {
		return c.flight
	}
	f := &flight{done: make(chan struct{})}
	c.flight = f
	go c.runRefresh(context.WithoutCancel(ctx), f, rec)
	return f
}

// runRefresh performs one refresh of rec and records its outcome.
func (c *Client) runRefresh(ctx context.Context, f *flight, rec TokenRecord) {
	c.crash("refresh:before-network")
	resp, err := c.refreshCall(ctx, rec)
	c.crash("refresh:after-network")
	c.opMu.Lock()
	tok, err := c.applyRefresh(ctx, rec, resp, err)
	c.opMu.Unlock()
	c.mu.Lock()
	f.token, f.err = tok, err
	c.flight = nil
	c.mu.Unlock()
	close(f.done)
}

// refreshCall posts rec's refresh token: to the Junction auth server of
// the record's environment and region (§3), or on the legacy profiles to
// Secure Token's v1/token with the record's public key (§10.3). A legacy
// answer is read as a Junction one (the ID token is the access token).
func (c *Client) refreshCall(ctx context.Context, rec TokenRecord) (junction.TokenResponse, error) {
	if !c.profile.LegacyTokenEndpoint {
		return junction.NewAuthClient(c.authURL(rec.Environment, rec.Region), c.httpOptions()...).Refresh(ctx, rec.RefreshToken)
	}
	t, err := c.legacyAuth().Refresh(ctx, rec.PublicAPIKey, rec.RefreshToken)
	if err != nil {
		return junction.TokenResponse{}, err
	}
	secs, err := c.legacyExpiresIn(t)
	if err != nil {
		return junction.TokenResponse{}, err
	}
	return junction.TokenResponse{AccessToken: t.IDToken, RefreshToken: t.RefreshToken, ExpiresIn: secs}, nil
}

// applyRefresh records the outcome of refreshing rec. The caller holds opMu.
func (c *Client) applyRefresh(ctx context.Context, rec TokenRecord, resp junction.TokenResponse, err error) (string, error) {
	const op = "refresh"
	cur := c.st.Record
	if cur == nil || cur.UserID != rec.UserID || cur.RefreshToken != rec.RefreshToken {
		return "", opError(op, errSuperseded, nil)
	}
	switch {
	case c.undecodable(err, true):
		// Android 4.2.1–4.2.2 (and 4.2.0 on a body of another shape): the
		// SDK throws while decoding, before the record is touched; a
		// deleted user or a revoked token is never noticed (§10.1, §10.3).
		c.log.Info("refresh failed: error body does not decode; session unchanged", "user_id", rec.UserID)
		return "", opError(op, ErrUndecodableTokenError, undecodableCause(err))
	case err == nil:
		next := c.st.Clone()
		next.Record.Region = rec.Region // backfilled by sessionLocked where the profile does
		next.Record.AccessToken = resp.AccessToken
		if resp.RefreshToken != "" {
			next.Record.RefreshToken = resp.RefreshToken
		}
		next.Record.Expiry = c.now().Add(time.Duration(resp.ExpiresIn) * time.Second)
		if err := c.commit(ctx, op, next, c.mem); err != nil {
			return "", err
		}
		c.log.Info("tokens refreshed", "user_id", rec.UserID)
		return resp.AccessToken, nil
	case errors.Is(err, junction.ErrInvalidToken):
		c.log.Warn("refresh: user no longer valid", "user_id", rec.UserID)
		if c.profile.AutoSignOutOnDeletion {
			if serr := c.commitSignOut(ctx, op); serr != nil {
				return "", serr
			}
		} else {
			next := c.st.Clone()
			next.Record = nil
			if serr := c.commit(ctx, op, next, c.mem); serr != nil {
				return "", serr
			}
		}
		return "", opError(op, ErrInvalidUser, err)
	case errors.Is(err, junction.ErrReauthenticationRequired):
		c.log.Warn("refresh: reauthentication required", "user_id", rec.UserID)
		next := c.st.Clone()
		next.Record.PendingReauth = true
		if serr := c.commit(ctx, op, next, c.mem); serr != nil {
			return "", serr
		}
		return "", opError(op, ErrNeedsReauthentication, err)
	}
	c.log.Info("refresh failed; session unchanged", "user_id", rec.UserID, "error", err)
	return "", opError(op, nil, err)
}

// GetOwnUser fetches the signed-in user with the user-level API
// (GET /v2/user/{id}). In token mode it sends the access token as a Bearer
// token (refreshing an expired one first) and, on a 401, refreshes and
// retries once on profiles with RefreshesOnUnauthorized (Android; on
// Android 4.1.0–4.2.1 the retry crashes the process, ErrProcessCrashed,
// after the refresh is stored); iOS
// returns the 401 and refreshes only at local expiry (§10.2). In API-key mode it sends the API key, and a 401 is not
// retried (the SDKs treat it as a revoked key).
func (c *Client) GetOwnUser(ctx context.Context) (junction.User, error) {
	const op = "get user"
	if err := c.crashedErr(op); err != nil {
		return junction.User{}, err
	}
	c.create()
	c.mu.Lock()
	cfg, ok := c.configLocked()
	st := c.st
	c.mu.Unlock()
	if !ok {
		return junction.User{}, opError(op, ErrNotConfigured, nil)
	}
	if cfg.strategy == StrategyAPIKey {
		userID := st.APIKeyUserID
		if c.startupParams() {
			userID = st.StartupUserID
		}
		if userID == "" || c.startupParams() && st.StartupStrategy != StrategyAPIKey {
			return junction.User{}, opError(op, ErrNotSignedIn, nil)
		}
		u, err := junction.NewClient(c.apiURL(cfg.env, cfg.region), cfg.apiKey, c.httpOptions()...).GetUser(ctx, userID)
		if err != nil {
			return junction.User{}, opError(op, nil, err)
		}
		return u, nil
	}
	tok, err := c.accessToken(ctx)
	if err != nil {
		return junction.User{}, err
	}
	c.mu.Lock()
	rec, err := c.sessionLocked(op)
	c.mu.Unlock()
	if err != nil {
		return junction.User{}, err
	}
	c.mu.Lock()
	region := c.recordRegion(rec)
	c.mu.Unlock()
	uc := junction.NewUserClient(c.apiURL(rec.Environment, region), c.httpOptions()...)
	u, err := uc.GetUser(ctx, tok, rec.UserID)
	if errors.Is(err, junction.ErrUnauthorized) && c.profile.RefreshesOnUnauthorized {
		c.log.Info("get user: 401, refreshing", "user_id", rec.UserID)
		// Refresh unless another caller already replaced the token.
		stale := tok
		if tok, err = c.token(ctx, "refresh", func(r TokenRecord) bool { return r.AccessToken != stale }); err != nil {
			// A failed refresh throws before the retry (Android wraps it in
			// an IOException, VitalRequestError): no crash.
			return junction.User{}, err
		}
		if c.profile.UnauthorizedRetryCrashes {
			// Android 4.1.0–4.2.1: the retry proceeds while the 401
			// response is open; OkHttp throws IllegalStateException, no
			// IOException, and the process dies. The refresh is stored.
			c.log.Warn("get user: the retry after a 401 crashed the process", "user_id", rec.UserID)
			c.mu.Lock()
			c.crashed = true
			c.mu.Unlock()
			return junction.User{}, opError(op, ErrProcessCrashed, nil)
		}
		u, err = uc.GetUser(ctx, tok, rec.UserID)
	}
	if err != nil {
		return junction.User{}, opError(op, nil, err)
	}
	return u, nil
}
