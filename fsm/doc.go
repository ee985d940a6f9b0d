// Package fsm models the authentication state of the Vital (Junction) Mobile
// SDK as an explicit state machine.
//
// It holds the six observable states (signed-out, configured, api-key, token,
// reauth-required, user-deleted), the events that move between them, one
// transition table, the SDK's status flag set, and the SDK profiles: data that
// records where the real iOS and Android SDKs differ by version.
//
// Everything here is pure: no IO, no clock, no randomness. States, events,
// flags, profiles, environments and regions are stable strings, safe to persist
// and print; every Parse function returns (value, ok).
//
// The profiles are data (profile.go), each fact citing the section of the
// reference it comes from. ProfileFor (version.go) maps a native SDK
// version to its profile, ProfileForApp a Flutter or React Native app by the
// wrapper's version and the native version it resolved, and
// ProfileForWrapper such an app by the native version alone where that
// decides it; ProfileTable renders the profiles for
// docs/reference/profiles.md.
package fsm
