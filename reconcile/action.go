package reconcile

import (
	"fmt"
	"strings"
)

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

// FormatAction renders a as its stable persisted form: the type, then ':'
// and the user it names, if any ("sign-in:7d3c…", "resolve:alice",
// "sign-out"). A nil action is "". ParseAction reads it back.
func FormatAction(a Action) string {
	if a == nil {
		return ""
	}
	user := VitalUserOf(a)
	if r, ok := a.(Resolve); ok {
		user = r.AppUser
	}
	if user == "" {
		return string(a.Type())
	}
	return string(a.Type()) + ":" + user
}

// ParseAction parses FormatAction's form; "" is the nil action.
func ParseAction(s string) (Action, bool) {
	if s == "" {
		return nil, true
	}
	name, user, _ := strings.Cut(s, ":")
	t, ok := ParseActionType(name)
	if !ok {
		return nil, false
	}
	return newAction(t, user), true
}

// newAction builds the action of type t naming user (the app user of a
// Resolve, the Vital user of the others).
func newAction(t ActionType, user string) Action {
	switch t {
	case TypeSignOut:
		return SignOut{}
	case TypeSignIn:
		return SignIn{VitalUser: user}
	case TypeMigrate:
		return Migrate{VitalUser: user}
	case TypeReauthenticate:
		return Reauthenticate{VitalUser: user}
	case TypeResolve:
		return Resolve{AppUser: user}
	}
	return nil
}

// wireAction is an action's JSON form: {"type":…,"vital_user_id":…} or
// {"type":"resolve","app_user_id":…}.
type wireAction struct {
	Type        ActionType `json:"type"`
	VitalUserID string     `json:"vital_user_id,omitempty"`
	AppUserID   string     `json:"app_user_id,omitempty"`
}

func toWire(a Action) wireAction {
	w := wireAction{Type: a.Type(), VitalUserID: VitalUserOf(a)}
	if r, ok := a.(Resolve); ok {
		w.AppUserID = r.AppUser
	}
	return w
}

func (w wireAction) action(field string) (Action, error) {
	if _, ok := ParseActionType(string(w.Type)); !ok {
		return nil, &FieldError{Field: field + ".type", Err: errUnknownAction(w.Type)}
	}
	user := w.VitalUserID
	if w.Type == TypeResolve {
		user = w.AppUserID
	}
	return newAction(w.Type, user), nil
}
