package fsm

import (
	"fmt"
	"strings"
)

// Status is the SDK's status flag set (iOS VitalClient.Status, Android
// VitalClient.Status, React Native VitalCoreStatus), as a bit set.
// Reference §1.1.
type Status uint8

// The status flags, with the bit values of the iOS OptionSet.
const (
	FlagConfigured              Status = 1 << 0
	FlagSignedIn                Status = 1 << 1
	FlagUseAPIKey               Status = 1 << 2
	FlagUseSignInToken          Status = 1 << 3
	FlagPendingReauthentication Status = 1 << 4
)

const allFlags = FlagConfigured | FlagSignedIn | FlagUseAPIKey | FlagUseSignInToken | FlagPendingReauthentication

// flagNames are the names the SDKs use (React Native and Flutter spell them so).
var flagNames = [...]struct {
	flag Status
	name string
}{
	{FlagConfigured, "configured"},
	{FlagSignedIn, "signedIn"},
	{FlagUseAPIKey, "useApiKey"},
	{FlagUseSignInToken, "useSignInToken"},
	{FlagPendingReauthentication, "pendingReauthentication"},
}

// ParseFlag parses one flag name, as the SDKs spell it ("signedIn").
func ParseFlag(s string) (Status, bool) {
	for _, f := range flagNames {
		if f.name == s {
			return f.flag, true
		}
	}
	return 0, false
}

// Has reports whether every flag of f is set in s.
func (s Status) Has(f Status) bool { return s&f == f }

// Names returns the set flags' names, in the SDK's declaration order.
func (s Status) Names() []string {
	names := make([]string, 0, 5)
	for _, f := range flagNames {
		if s.Has(f.flag) {
			names = append(names, f.name)
		}
	}
	return names
}

// String formats the set as "{configured,signedIn,useSignInToken}".
func (s Status) String() string { return "{" + strings.Join(s.Names(), ",") + "}" }

// ParseStatus parses a list of flag names. Duplicates are allowed.
// Unknown names are reported with their index.
func ParseStatus(names []string) (Status, error) {
	var s Status
	for i, n := range names {
		f, ok := ParseFlag(n)
		if !ok {
			return 0, fmt.Errorf("status[%d]: unknown flag %q", i, n)
		}
		s |= f
	}
	return s, nil
}

// Valid reports whether s is a combination the SDKs can report
// (reference §1.1 and §1.2): {}, {configured}, or configured+signedIn with
// exactly one of useApiKey and useSignInToken; pendingReauthentication only
// with useSignInToken.
func (s Status) Valid() bool {
	switch s {
	case 0,
		FlagConfigured,
		FlagConfigured | FlagSignedIn | FlagUseAPIKey,
		FlagConfigured | FlagSignedIn | FlagUseSignInToken,
		FlagConfigured | FlagSignedIn | FlagUseSignInToken | FlagPendingReauthentication:
		return true
	}
	return false
}

// StatusOf returns the flags an SDK on profile p reports in state st.
// A user-deleted SDK reports {} on profiles that sign out automatically, and
// {configured} on those that keep the JWT strategy (reference §4).
// iOS 1.4+ never reports pendingReauthentication (reference §1.2).
func StatusOf(st State, p Profile) Status {
	switch st {
	case Configured:
		return FlagConfigured
	case APIKey:
		return FlagConfigured | FlagSignedIn | FlagUseAPIKey
	case Token:
		return FlagConfigured | FlagSignedIn | FlagUseSignInToken
	case ReauthRequired:
		if !p.ReportsPendingReauth {
			return FlagConfigured | FlagSignedIn | FlagUseSignInToken
		}
		return FlagConfigured | FlagSignedIn | FlagUseSignInToken | FlagPendingReauthentication
	case UserDeleted:
		if p.AutoSignOutOnDeletion {
			return 0
		}
		return FlagConfigured
	}
	return 0
}

// Classify maps the flags an SDK reports, together with the state the
// reconciler last observed (empty when unknown), to a state on profile p.
//
// The flags alone cannot tell Android 4.2.1+'s user-deleted ({configured},
// JWT strategy kept, no user) from an API-key configuration without a user;
// the last observed state can: {configured} after token or reauth-required is
// user-deleted on such a profile.
func Classify(s Status, last State, p Profile) (State, error) {
	if s&^allFlags != 0 || !s.Valid() {
		return "", &StatusError{Status: s, Profile: p.Name}
	}
	switch {
	case s == 0:
		return SignedOut, nil
	case s == FlagConfigured:
		if !p.AutoSignOutOnDeletion && (last == Token || last == ReauthRequired || last == UserDeleted) {
			return UserDeleted, nil
		}
		return Configured, nil
	case s.Has(FlagUseAPIKey):
		return APIKey, nil
	case s.Has(FlagPendingReauthentication):
		if !p.ReportsPendingReauth {
			return "", &StatusError{Status: s, Profile: p.Name}
		}
		return ReauthRequired, nil
	default:
		return Token, nil
	}
}

// StatusError reports a flag combination that no SDK on the profile reports.
type StatusError struct {
	Status  Status
	Profile string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("impossible status %s for profile %s", e.Status, e.Profile)
}
