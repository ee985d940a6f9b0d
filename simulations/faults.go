package simulations

import (
	"errors"
	"fmt"
	"strings"
)

// Fault is a class of fault the world schedules, by its stable name (flags,
// traces and reports use it as such).
type Fault string

// The fault classes. The network classes hit one request of a launch (the
// SDK core's or the token source's), answered by the world's transport in
// front of the real handlers; the others act between launches or on the
// launch's process.
const (
	// FaultLostRequest: a request is lost before any server sees it.
	FaultLostRequest Fault = "lost-request"
	// FaultLostResponse: a request is applied by its server and the response
	// is lost (the client cannot know the outcome).
	FaultLostResponse Fault = "lost-response"
	// Fault5xx: a request is answered 503.
	Fault5xx Fault = "5xx"
	// Fault429: a request is answered 429 with a Retry-After.
	Fault429 Fault = "429"
	// FaultTimeout: a request never answers; the client gives up after its
	// timeout, which advances the virtual clock.
	FaultTimeout Fault = "timeout"
	// FaultCrash: the launch's process dies after its k-th write, counted
	// across the SDK's store and the journal. The coverage tells apart a
	// crash between an SDK call's write and the journal write that records
	// it (crash-sdk) from one at any other write (crash-journal).
	FaultCrash Fault = "crash"
	// FaultUserDeleted: the backend deletes the installation's Vital user;
	// the app's next data sync lets the SDK notice.
	FaultUserDeleted Fault = "user-deleted"
	// FaultTokenExpiry: the access token expires before a data sync, which
	// refreshes it.
	FaultTokenExpiry Fault = "token-expiry"
	// FaultRefreshRevoked: the Vital user's refresh tokens are revoked, then
	// a data sync meets reauthentication_required.
	FaultRefreshRevoked Fault = "refresh-revoked"
	// FaultReinstall: the app is reinstalled: the app's data (its session
	// and the journal) is gone, the SDK's as the platform keeps it
	// (reference §10.5).
	FaultReinstall Fault = "reinstall"
	// FaultConcurrentLaunch: a second launch task runs in the same process,
	// right after the first, on the same SDK client.
	FaultConcurrentLaunch Fault = "concurrent-launch"
	// FaultHerdDeletion: at one instant of the run the backend deletes every
	// installation's Vital user.
	FaultHerdDeletion Fault = "herd-deletion"
	// FaultHerdUpgrade: on a release day every installation on an older SDK
	// line upgrades, and the first request after it meets the rate limit
	// (429 with a long Retry-After).
	FaultHerdUpgrade Fault = "herd-upgrade"
	// FaultLockedKeychain: the launch's process starts before the device's
	// first unlock (a pre-warmed or background launch): on iOS the
	// keychain cannot be read (reference §10.6); Android is unaffected.
	FaultLockedKeychain Fault = "locked-keychain"
)

// Faults returns every fault class, in a fixed order.
func Faults() []Fault {
	return []Fault{FaultLostRequest, FaultLostResponse, Fault5xx, Fault429, FaultTimeout, FaultCrash,
		FaultUserDeleted, FaultTokenExpiry, FaultRefreshRevoked, FaultReinstall, FaultConcurrentLaunch,
		FaultHerdDeletion, FaultHerdUpgrade, FaultLockedKeychain}
}

// ParseFault returns the fault class named s.
func ParseFault(s string) (Fault, bool) {
	for _, f := range Faults() {
		if string(f) == s {
			return f, true
		}
	}
	return "", false
}

// baseRate is f's chance per launch step at swarm scale 1.
func (f Fault) baseRate() float64 {
	switch f {
	case FaultLostRequest, FaultLostResponse, Fault5xx, Fault429, FaultTimeout:
		return 0.01
	case FaultCrash:
		return 0.01
	case FaultUserDeleted, FaultRefreshRevoked:
		return 0.004
	case FaultTokenExpiry:
		return 0.03
	case FaultReinstall:
		return 0.003
	case FaultConcurrentLaunch, FaultLockedKeychain:
		return 0.01
	}
	return 0 // the herds happen once a run
}

// ErrUnknownName is matched (errors.Is) by the error for a name in a list
// flag (fault, strategy, profile) that names nothing; the error names the
// value.
var ErrUnknownName = errors.New("simulations: unknown name")

// NameError is an unknown name in a list: Kind is "fault", "strategy" or
// "profile".
type NameError struct {
	Kind, Name string
}

func (e *NameError) Error() string { return fmt.Sprintf("unknown %s %q", e.Kind, e.Name) }

// Is reports whether target is ErrUnknownName.
func (e *NameError) Is(target error) bool { return target == ErrUnknownName }

// ParseFaults parses a comma-separated list of fault classes, or "all" or
// "none". The result keeps the order of Faults.
func ParseFaults(list string) ([]Fault, error) {
	switch strings.TrimSpace(list) {
	case "", "all":
		return Faults(), nil
	case "none":
		return []Fault{}, nil
	}
	want := map[Fault]bool{}
	for _, s := range strings.Split(list, ",") {
		f, ok := ParseFault(strings.TrimSpace(s))
		if !ok {
			return nil, &NameError{Kind: "fault", Name: strings.TrimSpace(s)}
		}
		want[f] = true
	}
	var out []Fault
	for _, f := range Faults() {
		if want[f] {
			out = append(out, f)
		}
	}
	return out, nil
}
