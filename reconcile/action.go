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

// SignIn signs the SDK in with a Sign-In Token for the app user.
// VitalUser is the Vital user the token is expected to carry; empty when the
// app does not know it yet and the token source decides. A token for
// another Vital user than a non-empty VitalUser is not applied (the pass
// ends, and the next plans with the token source's user).
//
// Identify and Reuse say how the action is applied; the planner sets them
// (see Plan): Identify applies the token through identifyExternalUser(app
// user, token) rather than signIn(token); Reuse takes the token an earlier
// pass of the launch minted and did not apply (Observation.UnusedToken)
// rather than minting one.
type SignIn struct {
	VitalUser string
	Identify  bool
	Reuse     bool
}

// Migrate moves an API-key sign-in of VitalUser to a Sign-In Token sign-in of
// the same user, environment and region, without signing out. Identify and
// Reuse are SignIn's.
type Migrate struct {
	VitalUser string
	Identify  bool
	Reuse     bool
}

// Reauthenticate re-exchanges a Sign-In Token for the same VitalUser after
// the SDK's refresh said reauthentication_required. It is always applied
// through signIn (identify would return at once on the session's own
// external user ID); Reuse is SignIn's.
type Reauthenticate struct {
	VitalUser string
	Reuse     bool
}

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

// SDKCall names the SDK call that applies a token action.
type SDKCall string

// The SDK calls a token action is applied through.
const (
	CallSignIn   SDKCall = "signIn"
	CallIdentify SDKCall = "identifyExternalUser"
)

// callOf returns the SDK call that applies a token action (SignIn, Migrate,
// Reauthenticate), and false for the others.
func callOf(a Action) (SDKCall, bool) {
	switch a := a.(type) {
	case SignIn:
		return callFor(a.Identify), true
	case Migrate:
		return callFor(a.Identify), true
	case Reauthenticate:
		return CallSignIn, true
	}
	return "", false
}

func callFor(identify bool) SDKCall {
	if identify {
		return CallIdentify
	}
	return CallSignIn
}

// reuses reports whether a token action takes the unused token.
func reuses(a Action) bool {
	switch a := a.(type) {
	case SignIn:
		return a.Reuse
	case Migrate:
		return a.Reuse
	case Reauthenticate:
		return a.Reuse
	}
	return false
}

// fits reports whether a token for Vital user vital may apply a: the action
// names no Vital user, or names that one (IDs compare case-insensitively).
func fits(a Action, vital string) bool {
	planned := VitalUserOf(a)
	return planned == "" || strings.EqualFold(planned, vital)
}

// sameStep reports whether a and b are the same step, however each is
// applied (Identify and Reuse aside): the same type naming the same user.
func sameStep(a, b Action) bool {
	return plain(a) == plain(b)
}

// plain returns a without the planner's word on how it is applied.
func plain(a Action) Action {
	switch v := a.(type) {
	case SignIn:
		return SignIn{VitalUser: v.VitalUser}
	case Migrate:
		return Migrate{VitalUser: v.VitalUser}
	case Reauthenticate:
		return Reauthenticate{VitalUser: v.VitalUser}
	}
	return a
}

// withReuse returns a token action with Reuse set; other actions as they
// are.
func withReuse(a Action) Action {
	switch v := a.(type) {
	case SignIn:
		v.Reuse = true
		return v
	case Migrate:
		v.Reuse = true
		return v
	case Reauthenticate:
		v.Reuse = true
		return v
	}
	return a
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
// "sign-out"). A nil action is "". ParseAction reads it back. How an action
// is applied (Identify, Reuse) is not persisted: the planner derives it
// afresh in every pass.
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
// {"type":"resolve","app_user_id":…}; a token action applied through
// identifyExternalUser adds "sdk_call":"identifyExternalUser", one that
// takes the unused token "token":"unused" (every value is a string).
type wireAction struct {
	Type        ActionType `json:"type"`
	VitalUserID string     `json:"vital_user_id,omitempty"`
	AppUserID   string     `json:"app_user_id,omitempty"`
	SDKCall     SDKCall    `json:"sdk_call,omitempty"`
	Token       string     `json:"token,omitempty"`
}

// tokenUnused is the wire form of Reuse.
const tokenUnused = "unused"

func toWire(a Action) wireAction {
	w := wireAction{Type: a.Type(), VitalUserID: VitalUserOf(a)}
	if reuses(a) {
		w.Token = tokenUnused
	}
	if c, ok := callOf(a); ok && c != CallSignIn {
		w.SDKCall = c
	}
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
	a := newAction(w.Type, user)
	switch w.SDKCall {
	case "", CallSignIn:
	case CallIdentify:
		switch v := a.(type) {
		case SignIn:
			v.Identify = true
			a = v
		case Migrate:
			v.Identify = true
			a = v
		default:
			return nil, fieldErr(field+".sdk_call", "%s is not applied through %s", w.Type, w.SDKCall)
		}
	default:
		return nil, fieldErr(field+".sdk_call", "unknown SDK call %q", string(w.SDKCall))
	}
	switch w.Token {
	case "":
	case tokenUnused:
		if _, ok := callOf(a); !ok {
			return nil, fieldErr(field+".token", "%s takes no token", w.Type)
		}
		a = withReuse(a)
	default:
		return nil, fieldErr(field+".token", "unknown token %q (want %q)", w.Token, tokenUnused)
	}
	return a, nil
}
