// Package junction speaks the Junction (Vital) wire protocol: the Sign-In Token
// codec, and HTTP clients for the team API, the user-level API and the auth
// server's token endpoint.
//
// # Sign-In Tokens
//
// A Sign-In Token is standard base64 of the JSON object
// {"public_key","user_token"}, where user_token is an RS256 JWT whose claims
// name the issuer (and through it the environment and region), the Vital user,
// the tenant and the team. [DecodeSignInToken] checks the structure the way the
// mobile SDKs do and never verifies the signature; [VerifySignInToken] does,
// for servers that mint and accept tokens. [EncodeSignInToken] mints tokens
// that both SDK families can parse.
//
// # Clients
//
// [Client] calls the team API with the X-Vital-API-Key header, [UserClient]
// calls the API as one user with a Bearer access token, and [AuthClient] calls
// the token endpoint (token exchange and refresh). Every call takes a context
// and has a per-call timeout ([WithTimeout], 10 s by default); the
// *http.Client is injectable ([WithHTTPClient]). Redirects are never followed,
// so credentials never leave the configured host.
//
// # Errors
//
// One table, a single function, maps every response and transport failure
// to an [APIError] matching one of the sentinel errors ([ErrConflict],
// [ErrUnauthorized], …). Whether a failure is worth retrying is a property of
// the error: see [reconcile.IsTransient]. A cancelled or expired caller context surfaces
// as context.Canceled or context.DeadlineExceeded and is not transient.
// Secrets (API keys, Sign-In Tokens, access and refresh tokens) never appear in
// URLs or error strings.
package junction
