// Package vitalsdk is a Go implementation of the Vital (Junction) Core
// SDK's authentication behaviour, per SDK profile, persisted through the
// Store it declares. It is the SDK adapter of Go clients and the device of
// every simulation. Facts cite docs/reference/vital-sdk-behaviour.md by
// section.
//
// # Operating manual
//
// A Client is one app installation on one fsm.Profile. The caller's duties:
//
//  1. Open the device's Store (sqlite.OpenDevice for a device database,
//     memory.NewDeviceStore in simulations and unit tests) and call New once
//     per process launch. New loads the installation's state; nothing else
//     reads the store afterwards. On iOS 1.4+ New also runs the SDK's automatic
//     configuration (§5.3): the startup params restore the configuration,
//     and when there are none a stored token record becomes startup params
//     in token mode (and a 1.3-era API-key sign-in becomes API-key params).
//     With Options.DeferCreate an Android process has no SDK client yet and
//     reads status {} (§10.11): call Initialize before the first read. On
//     iOS, ProtectedDataAvailable says whether the keychain can be read
//     (see Locked keychain).
//  2. Read Status and CurrentUserID freely: they do no IO. Classify the
//     status with fsm.Classify, keeping the last observed state, since
//     Android 4.2.1+'s user-deleted status {configured} is otherwise
//     indistinguishable from an API-key configuration without a user.
//  3. Change the state only through the Client: Configure, SetUserID,
//     SignIn, IdentifyExternalUser, SignOut; refreshes happen in
//     AccessToken, Refresh and GetOwnUser. Each change is saved whole, in
//     one Store write (one SQLite transaction), before the in-memory state
//     changes, so the store always holds a valid state of the machine,
//     whatever the moment of a crash; a relaunch (New) continues from it.
//     A failed write changes nothing and its error is returned, wrapped in
//     an *Error (errors.Is finds the store's sentinels).
//  4. Classify errors with errors.Is: ErrAlreadySignedIn (sign out, then
//     sign in), ErrInvalidSignInToken (fetch a fresh token), ErrInvalidUser
//     (the Vital user is gone), ErrNeedsReauthentication (sign in again with
//     a token for the same user), and transport/server errors, which change
//     nothing (reconcile.IsTransient).
//
// # State and its store
//
// This package owns the persisted state and the port it is kept through:
// DeviceState, TokenRecord and Strategy are its types, Store its interface
// (LoadDevice, SaveDevice, DeleteDevice), ErrInvalidState and StateError
// what a store answers to a state that fails DeviceState.Validate.
// adapters/store/sqlite implements Store (sealing the secrets at rest) and
// adapters/store/memory does in memory; adapters/store/storetest holds the contract
// both pass. To crash a device from outside, at any write, wrap its store
// with memory.CrashAfter.
//
// The persisted state (DeviceState) is the SDK's: the strategy
// (none, apiKey or jwt) with its environment and region, the API key, the
// API-key user ID, the token record (user, team, environment, region,
// access and refresh tokens, expiry, pending reauthentication), the external
// user ID of identify, and on iOS 1.4+ the startup params.
//
// The profiles follow two models:
//
//   - Persisted configuration (Android, iOS ≤1.3; ConfigurePersists and
//     APIKeyMigrationPersists): the strategy row is Android's auth_strategy
//     pref / iOS's restoration state. Status: {} without a strategy;
//     API-key mode is signedIn iff a user ID is set; token mode is signedIn
//     iff a token record exists, plus pendingReauthentication when the
//     record is pending and the profile reports it (§1.2).
//   - Startup params (iOS 1.4+): the configuration lives in memory only;
//     the startup params (the row's Strategy, Environment, Region, APIKey,
//     StartupStrategy and StartupUserID) are written only by
//     IdentifyExternalUser (and SetUserID, which goes through it). Status:
//     configured iff a configuration is in memory; signedIn with useApiKey
//     or useSignInToken iff startup params exist, whatever the token record
//     says; pendingReauthentication never (§1.2). CurrentUserID is the
//     params' UUID in upper case (§1.3).
//
// CurrentUserID is the API-key user ID as passed (Android; in upper case on
// iOS, which keeps it as a UUID) or the token record's user ID (§1.3).
//
// Consequences on iOS 1.4+, all reproduced: Configure does not survive a
// relaunch; a deprecated SignIn from signed-out leaves status {configured}
// with no user until the next launch, when the record becomes token-mode
// startup params; a deprecated SignIn in API-key mode keeps reporting
// useApiKey and the old user, and after a relaunch the SDK is back in
// API-key mode (the migration is lost) — IdentifyExternalUser with a
// Sign-In Token does persist it (§2.7).
//
// # Sign-in
//
// SignIn decodes the token (strict standard base64 on iOS, URL-safe too on
// Android; tenant_id required, iat and exp not read, Android knowing only the
// issuer environments dev, stg and prd; a token that does not decode is
// ErrMalformedSignInToken, not ErrInvalidSignInToken, §10.2), then applies the already-signed-in rules (§2.5), which look only
// at the token record (an API-key sign-in never blocks it):
//
//   - a record that is not pending: ErrAlreadySignedIn for a different user;
//     for the same user (team, user, environment and region) also
//     ErrAlreadySignedIn on profiles with SameUserSignInThrows (Android,
//     iOS ≤1.3), a silent no-op on iOS 1.4+;
//   - a pending record of the same user: re-exchange;
//   - a pending record of another user: ErrInvalidSignInToken (Android,
//     iOS ≤1.3), ErrAlreadySignedIn (iOS 1.4+);
//   - no record (including API-key mode): exchange, which migrates API-key
//     mode to token mode without any compatibility check (§2.7).
//
// The exchange goes to the auth server of the token's environment and
// region, never the app configuration's (§2.2). Only after it succeeded is
// the record stored and the SDK put in token mode (persisted, or in memory
// on iOS 1.4+). The Sign-In Token is not kept.
//
// # The legacy exchange
//
// The legacy profiles (LegacyTokenEndpoint: iOS ≤1.8.1, Android ≤4.2.0)
// exchange and refresh through Firebase/GCIP exactly as §10.3 describes
// (junction.LegacyAuthClient): Identity Toolkit's
// accounts:signInWithCustomToken?key=<the token's public_key> with the
// user_token and the tenant_id claim, then Secure Token's v1/token with the
// public key the record keeps. Only a 401 on sign-in is
// ErrInvalidSignInToken; on refresh USER_DISABLED/USER_NOT_FOUND are
// ErrInvalidUser and TOKEN_EXPIRED/INVALID_REFRESH_TOKEN
// ErrNeedsReauthentication; any other answer changes nothing. Android
// 4.2.0's record has no region (the strategy's is used for the API host,
// and 4.2.1+ backfill it), and on a refresh a 4xx body without the Secure
// Token envelope is ErrUndecodableTokenError. Options.LegacyAuthBaseURL
// addresses a local emulator as Firebase client libraries do; the legacy
// profiles' API host defaults to api[.sandbox][.eu].tryvital.io (§10.1).
//
// # Profiles that cannot read token errors
//
// Android 4.2.1–4.2.2 (DetectsDeletion false) decode a 4xx body of the
// token endpoint with a shape the server never sends, so every 4xx — a
// deleted user, a revoked refresh token, an invalid Sign-In Token, a 429 —
// is ErrUndecodableTokenError, the record is untouched, the status stays
// signed in as the old user, and every later refresh fails the same way
// (§10.1). The error is not transient: retrying cannot help.
//
// # Refresh and deletion
//
// AccessToken refreshes when the access token has expired (expiry <= now on
// iOS, expiry strictly before now on Android; no early margin, §10.2) and
// GetOwnUser when the API answers 401 (then retries once; Android only,
// RefreshesOnUnauthorized: iOS never refreshes on a 401, §10.2). On iOS 1.4+
// the public AccessToken and Refresh need useSignInToken in the status (so
// they fail after the deprecated SignIn until the next launch), while
// GetOwnUser, an internal call, uses the session in memory. A pending
// session still serves its unexpired access token.
// One refresh runs at a time; concurrent callers wait for it and share its
// result. The request is not abandoned when a caller gives up, and its answer
// is always recorded: rotated refresh tokens are persisted in one
// transaction. A transport error, a 5xx or another unexpected answer changes
// nothing. invalid_token means the user was deleted or disabled: the record
// is erased and ErrInvalidUser returned; on profiles with
// AutoSignOutOnDeletion the SDK signs out fully in the same transaction
// (status {}); on Android 4.2.1+ the strategy and external user ID stay, so
// the status is {configured} with no user, and IdentifyExternalUser with the
// same external user ID short-circuits (§4). reauthentication_required
// marks the record pending (persisted) and returns ErrNeedsReauthentication;
// later refreshes fail the same way at once, with no network call, until a
// SignIn with a token for the same user re-exchanges (§3). API-key mode has
// no refresh and no deletion detection.
//
// # Locked keychain
//
// Options.KeychainLocked launches before the device's first unlock (§10.6):
// iOS ≤1.3 reads status {} and no user while a session exists; iOS 1.4+
// reads the right status from its unprotected startup params, but SignIn,
// Refresh and AccessToken fail with ErrKeychainLocked (interactionNotAllowed),
// which is transient (Transient() true), and the migration of a keychain
// record into startup params waits. ProtectedDataAvailable tells a caller
// beforehand, as UIApplication.isProtectedDataAvailable does; Unlock is the
// first unlock. Nothing is ever erased on it. Android has no keychain.
//
// # Identify, configure, set user, sign out
//
// IdentifyExternalUser (iOS 1.4+, Android 4.1+) short-circuits on the stored
// external user ID, and otherwise signs in with an API key or a Sign-In
// Token (§2.6; see the method). Configure and SetUserID are the deprecated
// API-key calls (§5.2). SignOut erases every row of the installation's SDK
// state and the in-memory configuration; it is local only (§5.1).
//
// # Deviations from the SDKs
//
//   - On Android 4.2.0 a legacy answer whose expiresIn does not parse is
//     refused as a bad response; iOS falls back to 3600 seconds (§10.3).
//     What Android does is not in the reference.
//   - Callers waiting on a refresh share its result, errors included; in the
//     SDKs each released waiter re-reads the still-expired record after a
//     failure and starts its own refresh, one at a time (§3).
//   - Where an SDK crashes (fatalError, a force-unwrapped UUID) the Client
//     returns ErrNotConfigured, ErrAlreadySignedIn or ErrInvalidArgument.
//     iOS 1.4+'s setUserId swallows identify's errors; SetUserID still
//     reports storage errors.
//   - A locked keychain on iOS ≤1.3 also fails SignIn, Refresh and
//     AccessToken with ErrKeychainLocked; the reference says only that its
//     status reads {} (§10.6).
//   - The SDKs persist in several writes and sign out asynchronously
//     (§10.7, §10.8); the Client saves every change in one transaction, so
//     it never leaves their intermediate states, but it reads them as the
//     SDKs do when a store holds one: Android's record without a strategy
//     (status {}, SignIn throws ErrAlreadySignedIn), a region-less record
//     without a strategy (wiped at launch, §10.9), iOS 1.4+'s startup
//     params without a record (signed in as the old user, identify
//     short-circuits, token calls ErrNotSignedIn). iOS's keychain/gist
//     disagreement is not expressible: the record and its gist are one.
//   - Not modelled: the child SDKs' resets, and the legacy keychain items
//     the SDKs leave behind.
//
// Secrets (API keys, Sign-In Tokens, access and refresh tokens) never appear
// in logs or error strings; APIKeyAuth and SignInTokenAuth print without
// them.
package vitalsdk
