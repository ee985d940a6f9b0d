package vitalsdk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/fsm"
)

// SignIn signs in with a Vital Sign-In Token: the SDK's deprecated
// signIn(withRawToken:) (reference §2). The token is decoded (URL-safe
// base64 accepted on profiles with LenientTokenBase64), then, unless the
// profile's already-signed-in rules say otherwise (§2.5), its inner JWT is
// exchanged at the auth server of the token's environment and region. Only
// after the exchange succeeded is the token record stored and the SDK put in
// token mode; the Sign-In Token itself is not kept.
//
// Errors: ErrMalformedSignInToken (does not decode; the SDKs' DecodingError
// or IllegalArgumentException, §10.2), ErrInvalidSignInToken (rejected by
// the server, or a pending session of another user on profiles with
// SameUserSignInThrows),
// ErrAlreadySignedIn, or a transport/server error from the junction package
// (reconcile.IsTransient). A failed SignIn changes nothing.
func (c *Client) SignIn(ctx context.Context, rawSignInToken string) error {
	if err := c.crashedErr("sign in"); err != nil {
		return err
	}
	c.create()
	c.opMu.Lock()
	defer c.opMu.Unlock()
	return c.signInLocked(ctx, "sign in", rawSignInToken, nil)
}

// signInLocked is SignIn with opMu held. ext, when not nil, is the external
// user ID of an identify call: it is stored in the same transaction as the
// session, with startup params on iOS 1.4+.
func (c *Client) signInLocked(ctx context.Context, op, raw string, ext *string) error {
	c.mu.Lock()
	err := c.keychainLockedLocked(op)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	tok, err := junction.DecodeSignInToken(raw, junction.DecodeOptions{
		Lenient: c.profile.LenientTokenBase64, ShorthandOnly: c.profile.Platform == fsm.Android})
	if err != nil {
		// DecodingError on iOS, IllegalArgumentException on Android: not
		// invalidSignInToken (§10.2).
		return opError(op, ErrMalformedSignInToken, err)
	}
	cl := tok.Claims
	if rec := c.st.Record; rec != nil {
		// iOS compares team, user and environment-with-region; Android's
		// pending check leaves the region out (§2.5, §10.2).
		// The user IDs compare exactly (§10.2).
		same := rec.TeamID == cl.TeamID && rec.UserID == cl.UserID &&
			rec.Environment == cl.Environment && (c.profile.Platform != fsm.IOS || rec.Region == cl.Region)
		switch {
		case !rec.PendingReauth && (!same || c.profile.SameUserSignInThrows):
			return opError(op, ErrAlreadySignedIn, nil)
		case !rec.PendingReauth:
			// iOS 1.4+: the same user, not pending, is a silent no-op.
			c.log.Info("sign in: already signed in as the same user", "user_id", rec.UserID)
			if ext == nil && !c.profile.APIKeyMigrationPersists {
				// Nothing to persist: only the in-memory configuration
				// switches to token mode.
				c.mu.Lock()
				c.mem = &config{strategy: StrategyJWT, env: rec.Environment, region: rec.Region}
				c.mu.Unlock()
				return nil
			}
			return c.finishSignIn(ctx, op, *rec, cl.Region, ext)
		case !same && c.profile.SameUserSignInThrows:
			return opError(op, ErrInvalidSignInToken, errors.New("pending session belongs to another user"))
		case !same:
			return opError(op, ErrAlreadySignedIn, nil)
		}
		// The same user, pending reauthentication: re-exchange.
	}
	c.crash(op + ":before-network")
	rec, err := c.exchange(ctx, tok)
	c.crash(op + ":after-network")
	if err != nil {
		if c.undecodable(err, false) {
			return opError(op, ErrUndecodableTokenError, undecodableCause(err))
		}
		if errors.Is(err, junction.ErrInvalidToken) {
			return opError(op, ErrInvalidSignInToken, err)
		}
		return opError(op, nil, err)
	}
	return c.finishSignIn(ctx, op, rec, cl.Region, ext)
}

// finishSignIn stores rec as the session and enters token mode, in region
// (the token's; Android 4.2.0's record has none, its strategy does): persisted
// on profiles with APIKeyMigrationPersists, in memory on iOS 1.4+ (where the
// startup params are written only by identify, ext != nil).
func (c *Client) finishSignIn(ctx context.Context, op string, rec TokenRecord, region fsm.Region, ext *string) error {
	next := c.st.Clone()
	next.Record = &rec
	mem := c.mem
	if c.profile.APIKeyMigrationPersists {
		next.Strategy, next.Environment, next.Region, next.APIKey = StrategyJWT, rec.Environment, region, ""
	} else {
		mem = &config{strategy: StrategyJWT, env: rec.Environment, region: region}
	}
	if ext != nil {
		next.ExternalUserID = *ext
		if c.startupParams() {
			next.Strategy, next.Environment, next.Region, next.APIKey = StrategyJWT, rec.Environment, region, ""
			next.StartupStrategy, next.StartupUserID = StrategyJWT, rec.UserID
		}
	}
	if err := c.commit(ctx, op, next, mem); err != nil {
		return err
	}
	c.log.Info("signed in with sign-in token", "user_id", rec.UserID, "environment", rec.Environment, "region", rec.Region)
	return nil
}

// exchange trades tok for a session: at the Junction auth server of the
// token's environment and region (§2.2), or on the legacy profiles through
// Identity Toolkit's accounts:signInWithCustomToken with the token's public
// key and tenant (§10.3). The record keeps the tenant, and on the legacy
// profiles the public key; Android 4.2.0's keeps no region.
func (c *Client) exchange(ctx context.Context, tok junction.SignInToken) (TokenRecord, error) {
	cl := tok.Claims
	rec := TokenRecord{
		UserID:      cl.UserID,
		TeamID:      cl.TeamID,
		TenantID:    cl.TenantID,
		Environment: cl.Environment,
		Region:      cl.Region,
	}
	if c.profile.RecordWithoutRegion {
		rec.Region = ""
	}
	if !c.profile.LegacyTokenEndpoint {
		resp, err := junction.NewAuthClient(c.authURL(cl.Environment, cl.Region), c.httpOptions()...).Exchange(ctx, tok.UserToken)
		if err != nil {
			return TokenRecord{}, err
		}
		rec.AccessToken, rec.RefreshToken = resp.AccessToken, resp.RefreshToken
		rec.Expiry = c.now().Add(time.Duration(resp.ExpiresIn) * time.Second)
		return rec, nil
	}
	resp, err := c.legacyAuth().SignInWithCustomToken(ctx, tok.PublicKey, tok.UserToken, cl.TenantID)
	if err != nil {
		return TokenRecord{}, err
	}
	secs, err := c.legacyExpiresIn(resp)
	if err != nil {
		return TokenRecord{}, err
	}
	rec.PublicAPIKey = tok.PublicKey
	rec.AccessToken, rec.RefreshToken = resp.IDToken, resp.RefreshToken
	rec.Expiry = c.now().Add(time.Duration(secs) * time.Second)
	return rec, nil
}

// legacyExpiresIn reads a legacy answer's string expiresIn: iOS falls back
// to 3600 seconds when it does not parse (§10.3); on Android the answer is
// refused as a bad response.
func (c *Client) legacyExpiresIn(t junction.LegacyTokens) (int, error) {
	if n, ok := t.ExpiresInSeconds(); ok {
		return n, nil
	}
	if c.profile.Platform == fsm.IOS {
		return junction.LegacyExpiresInFallback, nil
	}
	return 0, &junction.APIError{Op: "legacy token", Kind: junction.ErrBadResponse, Err: errors.New("expiresIn is not a number of seconds")}
}

// undecodable reports whether the SDK on this profile fails to decode the
// token endpoint's error answer err and throws before touching its state:
// on profiles that do not read token errors (Android 4.2.1–4.2.2, §10.1)
// every 4xx; on Android 4.2.0's legacy refresh (refresh true) a 4xx without
// the Secure Token error envelope (§10.3).
func (c *Client) undecodable(err error, refresh bool) bool {
	var ae *junction.APIError
	if !errors.As(err, &ae) || ae.Status < 400 || ae.Status >= 500 {
		return false
	}
	if !c.profile.DetectsDeletion {
		return true
	}
	return refresh && c.profile.LegacyTokenEndpoint && c.profile.Platform == fsm.Android && !ae.LegacyEnvelope
}

// undecodableCause is the cause of an ErrUndecodableTokenError: the status
// the SDK got, without the meaning it could not read.
func undecodableCause(err error) error {
	var ae *junction.APIError
	errors.As(err, &ae)
	return &junction.APIError{Op: ae.Op, Status: ae.Status, Kind: junction.ErrBadResponse, Err: errors.New("error body does not decode")}
}

// Authenticate is how IdentifyExternalUser signs in: APIKeyAuth or
// SignInTokenAuth.
type Authenticate interface{ isAuthenticate() }

// APIKeyAuth signs in in API-key mode as UserID (deprecated in the SDKs).
// On iOS UserID must be a UUID.
type APIKeyAuth struct {
	Key         string
	UserID      string
	Environment fsm.Environment
	Region      fsm.Region
}

// SignInTokenAuth signs in with a Vital Sign-In Token.
type SignInTokenAuth struct {
	Token string
}

func (APIKeyAuth) isAuthenticate()      {}
func (SignInTokenAuth) isAuthenticate() {}

// String hides the API key.
func (a APIKeyAuth) String() string {
	return fmt.Sprintf("APIKeyAuth{UserID:%s Environment:%s Region:%s}", a.UserID, a.Environment, a.Region)
}

// GoString hides the API key.
func (a APIKeyAuth) GoString() string { return "vitalsdk." + a.String() }

// String hides the token.
func (SignInTokenAuth) String() string { return "SignInTokenAuth{…}" }

// GoString hides the token.
func (SignInTokenAuth) GoString() string { return "vitalsdk.SignInTokenAuth{…}" }

// IdentifyExternalUser is the SDK's identifyExternalUser (reference §2.6):
// an idempotent sign-in keyed on the app's own user ID. ErrUnsupported on
// profiles without it (HasIdentify). Calls are serialized.
//
//   - When the stored external user ID equals externalUserID it returns at
//     once (IdentifyShortCircuits): no status check, no network call. On
//     Android 4.2.1+ that includes an SDK whose user was deleted, which keeps
//     its external user ID.
//   - APIKeyAuth: configure with the key if not configured; sign out first if
//     signed in as a different user (case-insensitive); then set the user.
//     On Android the sign-out also clears the strategy, so a user switch
//     leaves status {} (the SDK's bug); iOS writes startup params that carry
//     the strategy and so ends in API-key mode.
//   - SignInTokenAuth: sign in; on ErrAlreadySignedIn sign out and sign in
//     again. On Android that re-signs-in even the same user; on iOS 1.4+ the
//     same user is a no-op.
//
// Success stores the external user ID, and on iOS 1.4+ the startup params,
// in the same transaction as the session.
func (c *Client) IdentifyExternalUser(ctx context.Context, externalUserID string, auth Authenticate) error {
	if err := c.crashedErr("identify"); err != nil {
		return err
	}
	c.create()
	if !c.profile.HasIdentify {
		return opError("identify", ErrUnsupported, nil)
	}
	if externalUserID == "" {
		return opError("identify", ErrInvalidArgument, errors.New("empty external user ID"))
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	return c.identifyLocked(ctx, externalUserID, auth)
}

// identifyLocked is IdentifyExternalUser with opMu held.
func (c *Client) identifyLocked(ctx context.Context, ext string, auth Authenticate) error {
	if c.profile.IdentifyShortCircuits && c.st.ExternalUserID == ext {
		return nil
	}
	switch a := auth.(type) {
	case APIKeyAuth:
		return c.identifyAPIKey(ctx, ext, a)
	case *APIKeyAuth:
		if a != nil {
			return c.identifyAPIKey(ctx, ext, *a)
		}
	case SignInTokenAuth:
		return c.identifyToken(ctx, ext, a.Token)
	case *SignInTokenAuth:
		if a != nil {
			return c.identifyToken(ctx, ext, a.Token)
		}
	}
	return opError("identify", ErrInvalidArgument, errors.New("no authentication"))
}

func (c *Client) identifyAPIKey(ctx context.Context, ext string, a APIKeyAuth) error {
	const op = "identify"
	if err := checkAPIKeyConfig(a.Key, a.Environment, a.Region); err != nil {
		return opError(op, ErrInvalidArgument, err)
	}
	if a.UserID == "" || c.profile.Platform == fsm.IOS && !junction.IsUUID(a.UserID) {
		return opError(op, ErrInvalidArgument, errors.New("bad user ID"))
	}
	c.mu.Lock()
	signedIn, current := c.statusLocked().Has(fsm.FlagSignedIn), c.userIDLocked()
	c.mu.Unlock()
	if c.startupParams() {
		next := c.st.Clone()
		if signedIn && !strings.EqualFold(current, a.UserID) {
			if err := c.commitSignOut(ctx, op); err != nil {
				return err
			}
			next = DeviceState{Installation: c.inst}
		}
		next.Strategy, next.Environment, next.Region, next.APIKey = StrategyAPIKey, a.Environment, a.Region, a.Key
		next.StartupStrategy, next.StartupUserID, next.APIKeyUserID = StrategyAPIKey, a.UserID, ""
		next.ExternalUserID = ext
		mem := paramsConfig(next)
		c.mu.Lock()
		if c.mem != nil {
			// Already configured: the in-memory configuration stays until the
			// next launch; only the startup params change at once (§10.2).
			mem = c.mem
		}
		c.mu.Unlock()
		if err := c.commit(ctx, op, next, mem); err != nil {
			return err
		}
		c.log.Info("identified with API key", "user_id", a.UserID)
		return nil
	}
	next := c.st.Clone()
	if next.Strategy == "" {
		next.Strategy, next.Environment, next.Region, next.APIKey = StrategyAPIKey, a.Environment, a.Region, a.Key
	}
	if signedIn && !strings.EqualFold(current, a.UserID) {
		if err := c.commitSignOut(ctx, op); err != nil {
			return err
		}
		// signOut cleared the strategy too: setUserId alone does not bring
		// it back (status {}).
		next = DeviceState{Installation: c.inst}
	}
	if next.Strategy != StrategyJWT { // setUserId is a no-op in token mode
		next.APIKeyUserID = a.UserID
	}
	next.ExternalUserID = ext
	if err := c.commit(ctx, op, next, nil); err != nil {
		return err
	}
	c.log.Info("identified with API key", "user_id", a.UserID)
	return nil
}

func (c *Client) identifyToken(ctx context.Context, ext, raw string) error {
	const op = "identify"
	err := c.signInLocked(ctx, op, raw, &ext)
	if !errors.Is(err, ErrAlreadySignedIn) {
		return err
	}
	if err := c.commitSignOut(ctx, op); err != nil {
		return err
	}
	return c.signInLocked(ctx, op, raw, &ext)
}

// IdentifyWithSignInToken is IdentifyExternalUser with a Sign-In Token:
// the reconciler's sign-in on profiles where a plain SignIn does not persist
// (reconcile.Identifier).
func (c *Client) IdentifyWithSignInToken(ctx context.Context, externalUserID, signInToken string) error {
	return c.IdentifyExternalUser(ctx, externalUserID, SignInTokenAuth{Token: signInToken})
}
