package emulatortest

import (
	"context"
	"net/http"
	"testing"

	"github.com/vitalsync/vitalsync/adapters/junction"
	"github.com/vitalsync/vitalsync/emulator"
)

// Hosts at which [NewStack] serves the emulator on its [Transport]. They are
// under the reserved .test top-level domain, so they can never reach a real
// host.
const (
	// APIHost serves the team API.
	APIHost = "api.emulator.test"
	// AuthHost serves the auth server; the emulator is one handler for both,
	// as its doc's Limitations say, but clients see two hosts as on the
	// real service.
	AuthHost = "auth.emulator.test"
)

// Stack is an emulator on an in-process [Transport], driven by one virtual
// [Clock], with a team API client for it: the world most tests of this
// module start from. Other handlers (an issuer) join it with
// [Stack.Mount].
type Stack struct {
	// Clock is the only time source: the emulator reads it, DelayNext waits
	// on it, and the team client uses it. Pass Clock.Now to every other
	// component under test.
	Clock *Clock
	// Emulator signs with [SigningKey] and has its fault knobs.
	Emulator *emulator.Emulator
	// Transport serves the emulator at [APIHost] and [AuthHost].
	Transport *Transport
	// HTTP is an http.Client over Transport, for every client under test.
	HTTP *http.Client
	// APIURL is the team API's base URL, "http://api.emulator.test".
	APIURL string
	// AuthURL is the auth server's base URL, "http://auth.emulator.test/auth"
	// (the layout of the iOS SDK's local environment).
	AuthURL string
	// Team is a team API client with the emulator's API key.
	Team *junction.Client
	// Secrets holds the emulator's API key; tests add the tokens they are
	// handed.
	Secrets *Secrets
}

// NewStack returns a Stack whose emulator is built with [SigningKey], the
// stack's clock (emulator.WithClock and emulator.WithAfter), then opts.
func NewStack(opts ...emulator.Option) *Stack {
	clk := &Clock{}
	base := []emulator.Option{
		emulator.WithSigningKey(SigningKey()),
		emulator.WithClock(clk.Now),
		emulator.WithAfter(clk.After),
	}
	em := emulator.New(append(base, opts...)...)
	tr := &Transport{}
	s := &Stack{
		Clock:     clk,
		Emulator:  em,
		Transport: tr,
		HTTP:      tr.Client(),
		APIURL:    tr.Handle(APIHost, em),
		Secrets:   &Secrets{},
	}
	s.AuthURL = tr.Handle(AuthHost, em) + "/auth"
	s.Team = junction.NewClient(s.APIURL, em.APIKey(), s.JunctionOptions()...)
	s.Secrets.Add(em.APIKey())
	return s
}

// JunctionOptions returns the junction client options that put a client on
// the stack: its HTTP client and its clock.
func (s *Stack) JunctionOptions() []junction.Option {
	return []junction.Option{junction.WithHTTPClient(s.HTTP), junction.WithClock(s.Clock.Now)}
}

// Mount serves h at host on the stack's transport and returns its base URL
// ("http://<host>").
func (s *Stack) Mount(host string, h http.Handler) string { return s.Transport.Handle(host, h) }

// SignedUpUser creates a user with clientUserID through the team client and
// mints a Sign-In Token for them, failing tb on any error. The token is
// added to Secrets.
func (s *Stack) SignedUpUser(tb testing.TB, clientUserID string) (junction.UserKey, junction.SignInToken) {
	tb.Helper()
	ctx := context.Background()
	k, err := s.Team.CreateUser(ctx, clientUserID)
	if err != nil {
		tb.Fatalf("create user %q: %v", clientUserID, err)
	}
	st, err := s.Team.CreateSignInToken(ctx, k.UserID)
	if err != nil {
		tb.Fatalf("create sign-in token: %v", err)
	}
	s.Secrets.Add(st.SignInToken)
	tok, err := junction.DecodeSignInToken(st.SignInToken, junction.DecodeOptions{})
	if err != nil {
		tb.Fatalf("decode sign-in token: %v", err)
	}
	return k, tok
}

// UserIDsOf returns the IDs of the team's active users with clientUserID,
// read through team page by page, failing tb on an error; with
// clientUserID "" it returns every active user's.
func UserIDsOf(tb testing.TB, team *junction.Client, clientUserID string) []string {
	tb.Helper()
	const pageSize = 100
	var ids []string
	for off := 0; ; off += pageSize {
		page, err := team.ListUsers(context.Background(), off, pageSize)
		if err != nil {
			tb.Fatalf("list users: %v", err)
		}
		for _, u := range page.Users {
			if clientUserID == "" || u.ClientUserID == clientUserID {
				ids = append(ids, u.UserID)
			}
		}
		if len(page.Users) < pageSize {
			return ids
		}
	}
}
