package reconcile

import "fmt"

// ActionType is the stable name of an action kind, used in plan JSON.
type ActionType string

// The action kinds.
const (
	TypeSignOut        ActionType = "sign-out"
	TypeSignIn         ActionType = "sign-in"
	TypeMigrate        ActionType = "migrate"
	TypeReauthenticate ActionType = "reauthenticate"
	TypeResolve        ActionType = "resolve"
)

// ParseActionType parses an action kind name.
func ParseActionType(s string) (ActionType, bool) {
	switch ActionType(s) {
	case TypeSignOut, TypeSignIn, TypeMigrate, TypeReauthenticate, TypeResolve:
		return ActionType(s), true
	}
	return "", false
}

// Action is one step of a plan. The concrete types are SignOut, SignIn,
// Migrate, Reauthenticate and Resolve; they are plain values, compared with ==.
type Action interface {
	// Type returns the action's kind.
	Type() ActionType
	// String renders the action for people: "sign-in(7d3c…)".
	String() string
	isAction()
}

// SignOut erases the SDK's session and configuration (a local operation).
type SignOut struct{}

// SignIn signs the SDK in with a fresh Sign-In Token for the app user.
// VitalUser is the Vital user the token is expected to carry; empty when the
// app does not know it yet and the token source decides.
type SignIn struct{ VitalUser string }

// Migrate moves an API-key sign-in of VitalUser to a Sign-In Token sign-in of
// the same user, environment and region, without signing out.
type Migrate struct{ VitalUser string }

// Reauthenticate re-exchanges a Sign-In Token for the same VitalUser after
// the SDK's refresh said reauthentication_required.
type Reauthenticate struct{ VitalUser string }

// Resolve learns the app user's Vital user without minting a token.
type Resolve struct{ AppUser string }

func (SignOut) Type() ActionType        { return TypeSignOut }
func (SignIn) Type() ActionType         { return TypeSignIn }
func (Migrate) Type() ActionType        { return TypeMigrate }
func (Reauthenticate) Type() ActionType { return TypeReauthenticate }
func (Resolve) Type() ActionType        { return TypeResolve }

func (SignOut) isAction()        {}
func (SignIn) isAction()         {}
func (Migrate) isAction()        {}
func (Reauthenticate) isAction() {}
func (Resolve) isAction()        {}

func (SignOut) String() string { return string(TypeSignOut) }

func (a SignIn) String() string { return withUser(TypeSignIn, a.VitalUser, "from token source") }

func (a Migrate) String() string { return withUser(TypeMigrate, a.VitalUser, "") }

func (a Reauthenticate) String() string { return withUser(TypeReauthenticate, a.VitalUser, "") }

func (a Resolve) String() string { return fmt.Sprintf("%s(app user %s)", TypeResolve, a.AppUser) }

func withUser(t ActionType, user, unknown string) string {
	if user == "" {
		user = unknown
	}
	return string(t) + "(" + user + ")"
}

// VitalUserOf returns the Vital user an action names, if any.
func VitalUserOf(a Action) string {
	switch a := a.(type) {
	case SignIn:
		return a.VitalUser
	case Migrate:
		return a.VitalUser
	case Reauthenticate:
		return a.VitalUser
	}
	return ""
}
