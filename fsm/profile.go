package fsm

// Platform is the SDK's platform.
type Platform string

// The platforms.
const (
	IOS     Platform = "ios"
	Android Platform = "android"
)

// Wrapper is a cross-platform wrapper around the native SDKs whose bridge
// changes what the app sees (reference §10.10). Its values are stable
// strings; "" (Native) means the app calls the native SDK.
type Wrapper string

// The wrappers that have profiles of their own. Both are keyed by the
// wrapper's own version and the native SDK it pins (ProfileForApp): Flutter
// has no identifyExternalUser and lower-cases the user ID; React Native
// below 5.3.0 has no identifyExternalUser, and its bridges order the status
// flags, create the Android client, wait on identify and reject errors in
// their own ways (docs/reference/profiles.md).
const (
	Native      Wrapper = ""
	Flutter     Wrapper = "flutter"
	ReactNative Wrapper = "react-native"
)

// LockedKeychain is what a profile's SDK does when it runs before the
// device's first unlock (a pre-warmed or background launch), while the
// keychain is unreadable (reference §10.6). Its values are stable strings.
type LockedKeychain string

// The locked-keychain behaviours.
const (
	// KeychainNotApplicable: Android has no keychain.
	KeychainNotApplicable LockedKeychain = ""
	// KeychainReadsSignedOut: iOS ≤1.3's automatic configuration cannot
	// read the keychain, so the status is {} and currentUserId nil while a
	// session exists: a false "signed out".
	KeychainReadsSignedOut LockedKeychain = "reads-signed-out"
	// KeychainCallsFail: iOS 1.4+ reads its status from the unprotected
	// startup params file, so it is right, but signIn, refreshToken and
	// withAccessToken read the record and throw interactionNotAllowed.
	KeychainCallsFail LockedKeychain = "calls-fail"
)

// Profile is data about one SDK line: where a platform and version range
// behave differently. Every fact cites the section of
// docs/reference/vital-sdk-behaviour.md it comes from.
type Profile struct {
	// Name is the stable profile name ("ios-1.8").
	Name string
	// Platform is ios or android.
	Platform Platform
	// Wrapper is the cross-platform wrapper the profile stands for, or
	// Native.
	Wrapper Wrapper
	// Versions is the SDK version range the profile stands for.
	Versions string

	// UpperCaseUserID: currentUserId comes back in upper case
	// (iOS 1.4+ keeps the user ID as a Swift UUID; §1.3).
	UpperCaseUserID bool
	// LowerCaseUserID: the wrapper lower-cases currentUserId before the app
	// sees it, hiding iOS's upper case (Flutter's core.dart; §10.10). It
	// wins over UpperCaseUserID.
	LowerCaseUserID bool
	// AutoSignOutOnDeletion: a refresh that says invalid_token triggers a
	// full sign-out, so the status becomes {} (iOS all versions, Android
	// up to 4.2.0). Android 4.2.1+ only erases the auth record and reports
	// {configured} with no user, keeping the JWT strategy and the external
	// user ID (§4).
	AutoSignOutOnDeletion bool
	// DetectsDeletion: the SDK reads the token endpoint's 4xx error bodies,
	// so a deleted user (invalid user) and a revoked refresh token (pending
	// reauthentication) are detected at a refresh. Android 4.2.1–4.2.2
	// decode the body as {"details":{"errorType":…}} with a non-null
	// assertion: the server's {"detail":{"error_type":…}} throws before the
	// record is touched, so the status stays signed in as the old user,
	// every refresh fails, and an invalid Sign-In Token surfaces as a
	// decoding exception rather than invalidSignInToken (§10.1).
	DetectsDeletion bool
	// RefreshesOnUnauthorized: a 401 from the data API refreshes the
	// tokens and retries once (Android's ApiKeyInterceptor). iOS's response
	// validator throws before its retry predicate sees the 401, so iOS
	// refreshes only when the access token has expired locally or on an
	// explicit refreshToken(): a deleted user is noticed only at local
	// expiry (§10.2; §3's "retries a 401" is wrong for iOS).
	RefreshesOnUnauthorized bool
	// UnauthorizedRetryCrashes: after a 401's refresh the retry crashes the
	// app. Android 4.1.0–4.2.1's ApiKeyInterceptor retries without closing
	// the 401 response, so OkHttp's second proceed throws
	// IllegalStateException, which is no IOException and kills the process;
	// 4.2.2 closes it first (706dc97, #201). The refresh has run and its
	// outcome is stored; a refresh that fails throws before the retry (as a
	// VitalRequestError, an IOException), so only a successful refresh
	// reaches the crash (docs/reference/profiles.md).
	UnauthorizedRetryCrashes bool
	// SameUserSignInThrows: signIn while a non-pending record exists throws
	// alreadySignedIn even for the same user (Android all versions, iOS up
	// to 1.3); iOS 1.4+ treats a same-user signIn as a silent no-op (§2.5).
	SameUserSignInThrows bool
	// APIKeyMigrationPersists: signIn while in API-key mode flips the SDK to
	// token mode and the flip survives a relaunch. On iOS 1.4+ the
	// deprecated signIn leaves the startup params at API-key mode, so the
	// migration is lost at the next launch; identifyExternalUser with a
	// Sign-In Token does persist it (§2.7, §1.2).
	APIKeyMigrationPersists bool
	// SignInNeedsRelaunch: after the deprecated signIn the status reads
	// {configured} with no user until the next process launch, because only
	// identifyExternalUser writes the startup params (iOS 1.4+; §1.2). A
	// reconciler signs in through identifyExternalUser on such a profile
	// where it has one (HasIdentify); under Flutter on iOS every sign-in
	// takes this path (§10.10).
	SignInNeedsRelaunch bool
	// HasIdentify: identifyExternalUser exists (iOS 1.4+, Android 4.1+;
	// §2.6) and the app can call it (Flutter's bridge has only signIn;
	// §10.10).
	HasIdentify bool
	// IdentifyShortCircuits: identifyExternalUser returns at once, with no
	// status check and no network call, when the stored external user ID
	// equals the input (§2.6). On Android 4.2.1+ that includes a user-deleted
	// SDK, which keeps its external user ID (§4).
	IdentifyShortCircuits bool
	// ReportsPendingReauth: the status can carry pendingReauthentication.
	// iOS 1.4+ declares the flag but never sets it (§1.2).
	ReportsPendingReauth bool
	// ConfigurePersists: configure(apiKey, …) survives a relaunch. iOS 1.4+
	// keeps it in memory only until setUserId/identify writes the startup
	// params (§5.2).
	ConfigurePersists bool
	// LegacyTokenEndpoint: sign-in and refresh go to the Firebase/GCIP
	// endpoints (Identity Toolkit accounts:signInWithCustomToken, Secure
	// Token v1/token) rather than the Junction auth server's /v1/token, and
	// the API hosts are the legacy api[.sandbox][.eu].tryvital.io (iOS up
	// to 1.8.1, Android up to 4.2.0; §2.3, §10.1, §10.3).
	LegacyTokenEndpoint bool
	// RecordWithoutRegion: the token record keeps no region (Android 4.2.0;
	// 4.2.1+ backfills it from the auth strategy; §10.3).
	RecordWithoutRegion bool
	// LockedKeychain: what the SDK does before the first unlock (§10.6).
	LockedKeychain LockedKeychain
	// LenientTokenBase64: the Sign-In Token may be standard or URL-safe
	// base64 (Android's okio); iOS requires strict standard base64 with
	// padding (§2.1).
	LenientTokenBase64 bool

	// The facts below are where a wrapper's bridge differs from the native
	// SDK it pins (docs/reference/profiles.md cites each at its tag).

	// StatusOrder is the order in which the app receives the status flags;
	// the zero value is the SDK's declaration order (configured, signedIn,
	// useApiKey, useSignInToken, pendingReauthentication), which Android's
	// status set keeps. React Native's iOS bridge lists signedIn before
	// configured and useSignInToken before useApiKey, so an engine compares
	// the flags as a set, never as a list (StatusNames).
	StatusOrder [5]Status
	// StatusCreatesClient: reading the status (or currentUserId) creates the
	// Android client first, so the {} of a client not yet created in the
	// process (§10.11) never reaches the app (React Native's and Flutter's
	// Android bridges call getOrCreate before they read).
	StatusCreatesClient bool
	// IdentifyWaitsUntimed: identifyExternalUser asks the app for
	// credentials through a JavaScript event and the native side waits on a
	// continuation with no timeout, holding the native identify lock: an
	// authenticate callback that never settles hangs that identify and every
	// later one (React Native 5.3.0+). On React Native 5.3.0 a rejected
	// authenticate is never answered either; 5.3.1 forwards the rejection.
	IdentifyWaitsUntimed bool
	// ErrorsByMessage: the bridge rejects with a message and no code that
	// tells the SDK errors apart (React Native: iOS always "VitalCoreError"
	// with the error's description, Android's signIn no code at all), so an
	// app tells alreadySignedIn from invalidSignInToken by the message text
	// alone.
	ErrorsByMessage bool
	// SetUserIDCrashes: setUserId stops the app (fatalError) when the SDK is
	// not configured or is in Sign-In Token mode (iOS 1.4+, and through the
	// React Native and Flutter bridges, which call it unguarded); the model
	// returns ErrNotConfigured or ErrAlreadySignedIn instead. iOS ≤1.3
	// stops only when unconfigured and ignores the call in token mode, so
	// its profiles leave this false.
	SetUserIDCrashes bool
}

// rnIOSStatusOrder is React Native's iOS bridge's order of the status flags
// (VitalClient.Status.strings()).
var rnIOSStatusOrder = [5]Status{FlagSignedIn, FlagConfigured, FlagUseSignInToken, FlagUseAPIKey, FlagPendingReauthentication}

// StatusNames returns the names of s's flags in the order the profile's app
// receives them (StatusOrder).
func (p Profile) StatusNames(s Status) []string {
	if p.StatusOrder == ([5]Status{}) {
		return s.Names()
	}
	names := make([]string, 0, 5)
	for _, f := range p.StatusOrder {
		if s.Has(f) {
			names = append(names, f.Names()[0])
		}
	}
	return names
}

// The native SDK lines. Each later line is written as its differences from
// the line before it.
var (
	ios13 = Profile{
		Name: "ios-1.3", Platform: IOS, Versions: "1.0.0–1.3.x",
		UpperCaseUserID:         false,                  // §1.3: apiKeyModeUserId.uuidString is upper case, JWT gist.userId is the claim string
		AutoSignOutOnDeletion:   true,                   // §4: userNoLongerValid → Task { signOut() }
		DetectsDeletion:         true,                   // §2.3, §10.3: USER_DISABLED/USER_NOT_FOUND, TOKEN_EXPIRED/INVALID_REFRESH_TOKEN
		SameUserSignInThrows:    true,                   // §2.5: iOS ≤1.3 same rule as Android
		APIKeyMigrationPersists: true,                   // §2.7: the exchange flips the configuration; no startup params yet
		HasIdentify:             false,                  // §2.6: identify arrived in 1.4.0
		ReportsPendingReauth:    true,                   // §1.2: computeStatus ≤1.3 reads gist.pendingReauthentication
		ConfigurePersists:       true,                   // §5.2: restoration state in the keychain
		LegacyTokenEndpoint:     true,                   // §2.3, §10.1: ≤1.8.1 uses Firebase/GCIP and the tryvital.io hosts
		LockedKeychain:          KeychainReadsSignedOut, // §10.6
	}
	// §10.1: 1.4.0–1.8.1 and 1.8.2–1.8.8 differ only in the exchange
	// protocol and hosts; every other 1.4+ fact holds across both.
	ios181 = Profile{
		Name: "ios-1.8.1", Platform: IOS, Versions: "1.4.0–1.8.1",
		UpperCaseUserID:         true,              // §1.3: startupParams.userId.uuidString is UPPERCASE
		AutoSignOutOnDeletion:   true,              // §4
		DetectsDeletion:         true,              // §10.3: the Secure Token error messages map to invalid user / reauthentication
		SameUserSignInThrows:    false,             // §2.5: same user, not pending → no-op
		APIKeyMigrationPersists: false,             // §2.7: deprecated signIn does not write startup params
		SignInNeedsRelaunch:     true,              // §1.2: {configured}, no user, until the next launch
		HasIdentify:             true,              // §2.6
		IdentifyShortCircuits:   true,              // §2.6
		ReportsPendingReauth:    false,             // §1.2: never set by computeStatus in 1.4+
		ConfigurePersists:       false,             // §5.2: configure is in-memory only
		LegacyTokenEndpoint:     true,              // §10.1: last Firebase-exchange tag 1.8.1
		LockedKeychain:          KeychainCallsFail, // §10.6
		SetUserIDCrashes:        true,              // §5.2: fatalError unconfigured or in JWT mode
	}
	ios18 = ios181.next("ios-1.8", "1.8.2–1.8.8", func(p *Profile) {
		p.LegacyTokenEndpoint = false // §10.1: first /v1/token tag 1.8.2; no auth change to 1.8.8
		// DetectsDeletion stays, from /v1/token's detail.error_type (§3).
	})
	// §10.1: 4.1.0 and 4.2.0 are identical in auth code.
	android420 = Profile{
		Name: "android-4.2.0", Platform: Android, Versions: "4.1.0–4.2.0",
		AutoSignOutOnDeletion:    true, // §4: up to 4.2.0 bind() signs out on UserNoLongerValid
		DetectsDeletion:          true, // §10.3: Secure Token error messages
		RefreshesOnUnauthorized:  true, // §10.2: ApiKeyInterceptor refreshes once on a 401
		UnauthorizedRetryCrashes: true, // the retry proceeds with the 401 response open (fixed in 4.2.2)
		SameUserSignInThrows:     true, // §2.5: Android all versions
		APIKeyMigrationPersists:  true, // §2.7: auth_strategy is persisted as JWT after the exchange
		HasIdentify:              true, // §2.6: ported in 4.1.0
		IdentifyShortCircuits:    true, // §2.6
		ReportsPendingReauth:     true, // §1.2: record.pendingReauthentication
		ConfigurePersists:        true, // §5.2: auth_strategy pref
		LegacyTokenEndpoint:      true, // §2.3, §10.1: ≤4.2.0 uses Firebase/GCIP
		RecordWithoutRegion:      true, // §10.3: the 4.2.0 record has no region
		LenientTokenBase64:       true, // §2.1: okio decodeBase64
	}
	android421 = android420.next("android-4.2.1", "4.2.1", func(p *Profile) {
		p.AutoSignOutOnDeletion = false // §4: 4.2.1 removed the observer; {configured}, no user
		p.DetectsDeletion = false       // §10.1: {"details":{"errorType"}} with !!: never detected; fixed in 4.3.0
		p.LegacyTokenEndpoint = false   // §10.1: first /v1/token tag 4.2.1
		p.RecordWithoutRegion = false   // §10.3: 4.2.1+ backfills the region from the auth strategy
		// UnauthorizedRetryCrashes stays: the retry proceeds with the 401
		// response open.
	})
	android422 = android421.next("android-4.2.2", "4.2.2", func(p *Profile) {
		p.UnauthorizedRetryCrashes = false // 4.2.2 closes the 401 response before the retry (706dc97, #201)
	})
	android50 = android422.next("android-5.0", "4.3.0–5.0.2", func(p *Profile) {
		p.DetectsDeletion = true // §10.1: 4.3.0 (#203) parses detail.error_type
		// IdentifyShortCircuits stays, even after deletion (§2.6, §4).
	})
)

// next returns the profile name for versions: p with the facts change
// sets.
func (p Profile) next(name, versions string, change func(*Profile)) Profile {
	p.Name, p.Versions = name, versions
	change(&p)
	return p
}

// flutter returns the profile of vital-flutter versions over the native
// SDK line it pins: the native facts, with Flutter's bridge (§10.10).
func flutter(native Profile, name, versions string) Profile {
	p := native
	p.Name, p.Wrapper, p.Versions = name, Flutter, versions
	p.LowerCaseUserID = true // §10.10: core.dart lower-cases currentUserId(), hiding iOS's upper case
	// §10.10: the bridge has only signIn, so on iOS every sign-in takes
	// the non-persisting path (SignInNeedsRelaunch, as the pinned 1.4+
	// line already has it).
	p.HasIdentify, p.IdentifyShortCircuits = false, false
	// SetUserIDCrashes stays: the plugin calls VitalClient.setUserId
	// unguarded.
	if p.Platform == Android {
		p.StatusCreatesClient = true // the plugin calls getOrCreate before it reads
	}
	return p
}

// reactNative returns the profile of React Native versions over the native
// SDK line it pins: the native facts plus the bridge's
// (docs/reference/profiles.md). identify says whether the bridge has
// identifyExternalUser (5.3.0+); below it the apps use the deprecated
// signIn.
func reactNative(native Profile, name, versions string, identify bool) Profile {
	p := native
	p.Name, p.Wrapper, p.Versions = name, ReactNative, versions
	// UpperCaseUserID and SetUserIDCrashes stay: the bridge passes the user
	// ID through and calls setUserId unguarded (§1.3, §5.2).
	if identify {
		p.IdentifyWaitsUntimed = true
	} else {
		p.HasIdentify, p.IdentifyShortCircuits = false, false
	}
	switch p.Platform {
	case IOS:
		p.StatusOrder = rnIOSStatusOrder
	case Android:
		p.StatusCreatesClient = true
	}
	p.ErrorsByMessage = true
	return p
}

var profiles = [...]Profile{
	ios13,
	ios181,
	ios18,
	android420,
	android422,
	android50,
	// vital-flutter 4.5.5–4.6.1 pin VitalCore ~> 1.8.2–1.8.7 (§10.10).
	flutter(ios18, "flutter-ios", "4.5.5–4.6.1 on iOS 1.8.2–1.8.8"),
	// vital-flutter 4.5.6–4.6.1 pin Android 4.2.2; 4.5.5 pins 4.2.1
	// (flutter-android-4.2.1) (§10.10).
	flutter(android422, "flutter-android", "4.5.6–4.6.1 on Android 4.2.2"),
	// vital-flutter 4.5.0–4.5.4 pin VitalCore ~> 1.6.2 (the Firebase
	// exchange).
	flutter(ios181, "flutter-ios-1.8.1", "4.5.0–4.5.4 on iOS 1.6.2–1.6.x"),
	// vital-flutter 4.5.0–4.5.4 pin Android 4.1.1–4.1.4 (4.1.x and 4.2.0
	// are identical in auth code).
	flutter(android420, "flutter-android-4.2.0", "4.5.0–4.5.4 on Android 4.1.1–4.1.4"),
	reactNative(ios13, "rn-ios-1.3", "5.0.0–5.1.0 on iOS 1.2.11–1.3.x", false),
	reactNative(ios181, "rn-5.2-ios-1.8.1", "5.1.1–5.2.3 on iOS 1.4.1–1.6.x", false),
	reactNative(ios181, "rn-ios-1.8.1", "5.3.0–5.4.0 on iOS 1.6.0–1.8.1", true),
	reactNative(ios18, "rn-ios-1.8", "5.4.0–6.0.0-rc.2, 6.0.2 on iOS 1.8.2–1.8.8", true),
	reactNative(android420, "rn-android-4.2.0", "5.3.0–5.4.0 on Android 4.1.0–4.2.0", true),
	reactNative(android422, "rn-android-4.2.2", "5.4.2–5.4.3 on Android 4.2.2", true),
	reactNative(android50, "rn-android-5.0", "5.5.0–6.0.0-rc.2, 6.0.2 on Android 4.3.0–5.0.2", true),
	android421,
	// vital-flutter 4.5.5 pins Android 4.2.1.
	flutter(android421, "flutter-android-4.2.1", "4.5.5 on Android 4.2.1"),
	reactNative(android421, "rn-android-4.2.1", "5.4.1 on Android 4.2.1", true),
}

// Profiles returns every profile, in a fixed order.
func Profiles() []Profile { return append([]Profile(nil), profiles[:]...) }

// ProfileNames returns the names of every profile, in the order of Profiles.
func ProfileNames() []string {
	names := make([]string, len(profiles))
	for i, p := range profiles {
		names[i] = p.Name
	}
	return names
}

// ParseProfile returns the profile with the given name.
func ParseProfile(name string) (Profile, bool) {
	for _, p := range profiles {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}

// String returns the profile name.
func (p Profile) String() string { return p.Name }
