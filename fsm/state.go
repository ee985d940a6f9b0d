package fsm

// State is an observable auth state of one SDK installation. Its value is a
// stable string: it is persisted and printed as is.
type State string

// The SDK auth states.
const (
	// SignedOut: nothing configured; status {}.
	SignedOut State = "signed-out"
	// Configured: an API key is configured but no user is set; status {configured}.
	Configured State = "configured"
	// APIKey: signed in with an API key and a user ID; status {configured, signedIn, useApiKey}.
	APIKey State = "api-key"
	// Token: signed in with a Sign-In Token; status {configured, signedIn, useSignInToken}.
	Token State = "token"
	// ReauthRequired: a token session whose refresh said reauthentication_required;
	// status {configured, signedIn, useSignInToken, pendingReauthentication}.
	ReauthRequired State = "reauth-required"
	// UserDeleted: a refresh said invalid_token, so the SDK's Vital user is gone.
	// On profiles without auto sign-out the status is {configured} with no user.
	UserDeleted State = "user-deleted"
)

var allStates = [...]State{SignedOut, Configured, APIKey, Token, ReauthRequired, UserDeleted}

// States returns every state, in a fixed order.
func States() []State { return append([]State(nil), allStates[:]...) }

// ParseState parses a persisted state name.
func ParseState(s string) (State, bool) { return parseName(allStates[:], s) }

// parseName returns the value of all named s, and false if none is.
func parseName[T ~string](all []T, s string) (T, bool) {
	for _, v := range all {
		if string(v) == s {
			return v, true
		}
	}
	return "", false
}

// String returns the stable name of the state.
func (s State) String() string { return string(s) }

// SignedIn reports whether the SDK holds a user session in this state.
func (s State) SignedIn() bool { return s == APIKey || s == Token || s == ReauthRequired }

// Event is a named transition trigger. Its value is a stable string.
type Event string

// The events of the state machine.
const (
	EventConfigure      Event = "configure"
	EventSetUser        Event = "set-user"
	EventSignIn         Event = "sign-in"
	EventMigrate        Event = "migrate"
	EventSignOut        Event = "sign-out"
	EventReauthRequired Event = "reauth-required"
	EventReauthenticate Event = "reauthenticate"
	EventUserDeleted    Event = "user-deleted"
	EventAutoSignOut    Event = "auto-sign-out"
)

var allEvents = [...]Event{
	EventConfigure, EventSetUser, EventSignIn, EventMigrate, EventSignOut,
	EventReauthRequired, EventReauthenticate, EventUserDeleted, EventAutoSignOut,
}

// Events returns every event, in a fixed order.
func Events() []Event { return append([]Event(nil), allEvents[:]...) }

// ParseEvent parses an event name.
func ParseEvent(s string) (Event, bool) { return parseName(allEvents[:], s) }

// String returns the stable name of the event.
func (e Event) String() string { return string(e) }
