// The SDK's auth state machine: states, status flags, the transition table
// and the classification of a status on a profile. A port of vitalsync's Go
// package fsm; every name and value is the same stable string.

/** An observable auth state of one SDK installation (a stable string). */
export type State = "signed-out" | "configured" | "api-key" | "token" | "reauth-required" | "user-deleted";

export const States: readonly State[] = ["signed-out", "configured", "api-key", "token", "reauth-required", "user-deleted"];

export function parseState(s: string): State | undefined {
  return (States as readonly string[]).includes(s) ? (s as State) : undefined;
}

/** Whether the SDK holds a user session in state st. */
export function stateSignedIn(st: State | ""): boolean {
  return st === "api-key" || st === "token" || st === "reauth-required";
}

/** A transition trigger (a stable string). */
export type Event =
  | "configure" | "set-user" | "sign-in" | "migrate" | "sign-out"
  | "reauth-required" | "reauthenticate" | "user-deleted" | "auto-sign-out";

/** A status flag as the SDKs spell it (React Native's VitalCoreStatus). */
export type Flag = "configured" | "signedIn" | "useApiKey" | "useSignInToken" | "pendingReauthentication";

/** The flags in the SDK's declaration order, with the bits of the iOS OptionSet. */
export const Flags: readonly Flag[] = ["configured", "signedIn", "useApiKey", "useSignInToken", "pendingReauthentication"];

/** A status flag set as a bit set (bit i is Flags[i]). */
export type Status = number;

export const FlagConfigured = 1 << 0;
export const FlagSignedIn = 1 << 1;
export const FlagUseAPIKey = 1 << 2;
export const FlagUseSignInToken = 1 << 3;
export const FlagPendingReauthentication = 1 << 4;
const allFlags = 0b11111;

export function parseFlag(s: string): number | undefined {
  const i = (Flags as readonly string[]).indexOf(s);
  return i < 0 ? undefined : 1 << i;
}

export function hasFlag(s: Status, f: number): boolean {
  return (s & f) === f;
}

/** The set flags' names, in the SDK's declaration order. */
export function statusNames(s: Status): Flag[] {
  return Flags.filter((_, i) => (s & (1 << i)) !== 0);
}

export function formatStatus(s: Status): string {
  return "{" + statusNames(s).join(",") + "}";
}

/** Whether s is a combination the SDKs can report (reference §1.1, §1.2). */
export function statusValid(s: Status): boolean {
  switch (s) {
    case 0:
    case FlagConfigured:
    case FlagConfigured | FlagSignedIn | FlagUseAPIKey:
    case FlagConfigured | FlagSignedIn | FlagUseSignInToken:
    case FlagConfigured | FlagSignedIn | FlagUseSignInToken | FlagPendingReauthentication:
      return true;
  }
  return false;
}

/** A flag combination that no SDK on the profile reports. */
export class StatusError extends Error {
  constructor(readonly status: Status, readonly profile: string) {
    super(`impossible status ${formatStatus(status)} for profile ${profile}`);
    this.name = "StatusError";
  }
}

/** The platform of a native SDK. */
export type Platform = "ios" | "android";

/** The wrapper around the native SDK whose bridge changes what the app sees. */
export type Wrapper = "" | "flutter" | "react-native";

/**
 * Data about one SDK line: where a platform and version range behave
 * differently. The fields are the Go profile's (fsm.Profile), by the same
 * names; reference sections in vitalsync's fsm/profile.go.
 */
export interface Profile {
  readonly name: string;
  readonly platform: Platform;
  readonly wrapper: Wrapper;
  readonly versions: string;
  readonly upperCaseUserID: boolean;
  readonly lowerCaseUserID: boolean;
  readonly autoSignOutOnDeletion: boolean;
  readonly detectsDeletion: boolean;
  readonly refreshesOnUnauthorized: boolean;
  readonly sameUserSignInThrows: boolean;
  readonly apiKeyMigrationPersists: boolean;
  readonly signInNeedsRelaunch: boolean;
  readonly hasIdentify: boolean;
  readonly identifyShortCircuits: boolean;
  readonly reportsPendingReauth: boolean;
  readonly configurePersists: boolean;
  readonly legacyTokenEndpoint: boolean;
  /** What the SDK does before the device's first unlock (§10.6): "" on Android. */
  readonly lockedKeychain: LockedKeychain;
}

/**
 * A profile's SDK before the first unlock: iOS ≤1.3 reads signed out while
 * a session exists; iOS 1.4+ reads the right status and its token calls
 * fail. Android has no keychain ("").
 */
export type LockedKeychain = "" | "reads-signed-out" | "calls-fail";

const no = {
  upperCaseUserID: false, lowerCaseUserID: false, autoSignOutOnDeletion: false, detectsDeletion: false,
  refreshesOnUnauthorized: false, sameUserSignInThrows: false, apiKeyMigrationPersists: false,
  signInNeedsRelaunch: false, hasIdentify: false, identifyShortCircuits: false, reportsPendingReauth: false,
  configurePersists: false, legacyTokenEndpoint: false, lockedKeychain: "" as LockedKeychain,
};

/**
 * Every profile, in the order of Go's fsm.Profiles, with the facts the
 * engine reads (the table's facts are cited in fsm/profile.go and
 * docs/reference/profiles.md; a test holds this table to the exported
 * profiles.json). The React Native profiles are the native profile's facts
 * plus the bridge's: below RN 5.3.0 the bridge has no
 * identifyExternalUser, so iOS 1.4+ apps sign in through the deprecated
 * signIn, which reads {configured} until relaunch.
 */
export const Profiles: readonly Profile[] = [
  { ...no, name: "ios-1.3", platform: "ios", wrapper: "", versions: "1.0.0–1.3.x",
    autoSignOutOnDeletion: true, detectsDeletion: true, sameUserSignInThrows: true, apiKeyMigrationPersists: true, reportsPendingReauth: true, configurePersists: true, legacyTokenEndpoint: true, lockedKeychain: "reads-signed-out" },
  { ...no, name: "ios-1.8.1", platform: "ios", wrapper: "", versions: "1.4.0–1.8.1",
    upperCaseUserID: true, autoSignOutOnDeletion: true, detectsDeletion: true, signInNeedsRelaunch: true, hasIdentify: true, identifyShortCircuits: true, legacyTokenEndpoint: true, lockedKeychain: "calls-fail" },
  { ...no, name: "ios-1.8", platform: "ios", wrapper: "", versions: "1.8.2–1.8.8",
    upperCaseUserID: true, autoSignOutOnDeletion: true, detectsDeletion: true, signInNeedsRelaunch: true, hasIdentify: true, identifyShortCircuits: true, lockedKeychain: "calls-fail" },
  { ...no, name: "android-4.2.0", platform: "android", wrapper: "", versions: "4.1.0–4.2.0",
    autoSignOutOnDeletion: true, detectsDeletion: true, refreshesOnUnauthorized: true, sameUserSignInThrows: true, apiKeyMigrationPersists: true, hasIdentify: true, identifyShortCircuits: true, reportsPendingReauth: true, configurePersists: true, legacyTokenEndpoint: true },
  { ...no, name: "android-4.2.2", platform: "android", wrapper: "", versions: "4.2.1–4.2.2",
    refreshesOnUnauthorized: true, sameUserSignInThrows: true, apiKeyMigrationPersists: true, hasIdentify: true, identifyShortCircuits: true, reportsPendingReauth: true, configurePersists: true },
  { ...no, name: "android-5.0", platform: "android", wrapper: "", versions: "4.3.0–5.0.2",
    detectsDeletion: true, refreshesOnUnauthorized: true, sameUserSignInThrows: true, apiKeyMigrationPersists: true, hasIdentify: true, identifyShortCircuits: true, reportsPendingReauth: true, configurePersists: true },
  { ...no, name: "flutter-ios", platform: "ios", wrapper: "flutter", versions: "4.5.5–4.6.1 on iOS 1.8.2–1.8.8",
    upperCaseUserID: true, lowerCaseUserID: true, autoSignOutOnDeletion: true, detectsDeletion: true, signInNeedsRelaunch: true, lockedKeychain: "calls-fail" },
  { ...no, name: "flutter-android", platform: "android", wrapper: "flutter", versions: "4.5.5–4.6.1 on Android 4.2.1–4.2.2",
    lowerCaseUserID: true, refreshesOnUnauthorized: true, sameUserSignInThrows: true, apiKeyMigrationPersists: true, reportsPendingReauth: true, configurePersists: true },
  { ...no, name: "flutter-ios-1.8.1", platform: "ios", wrapper: "flutter", versions: "4.5.0–4.5.4 on iOS 1.6.2–1.6.x",
    upperCaseUserID: true, lowerCaseUserID: true, autoSignOutOnDeletion: true, detectsDeletion: true, signInNeedsRelaunch: true, legacyTokenEndpoint: true, lockedKeychain: "calls-fail" },
  { ...no, name: "flutter-android-4.2.0", platform: "android", wrapper: "flutter", versions: "4.5.0–4.5.4 on Android 4.1.1–4.1.4",
    lowerCaseUserID: true, autoSignOutOnDeletion: true, detectsDeletion: true, refreshesOnUnauthorized: true, sameUserSignInThrows: true, apiKeyMigrationPersists: true, reportsPendingReauth: true, configurePersists: true, legacyTokenEndpoint: true },
  { ...no, name: "rn-ios-1.3", platform: "ios", wrapper: "react-native", versions: "5.0.0–5.1.0 on iOS 1.2.11–1.3.x",
    autoSignOutOnDeletion: true, detectsDeletion: true, sameUserSignInThrows: true, apiKeyMigrationPersists: true, reportsPendingReauth: true, configurePersists: true, legacyTokenEndpoint: true, lockedKeychain: "reads-signed-out" },
  { ...no, name: "rn-5.2-ios-1.8.1", platform: "ios", wrapper: "react-native", versions: "5.1.1–5.2.3 on iOS 1.4.1–1.6.x",
    upperCaseUserID: true, autoSignOutOnDeletion: true, detectsDeletion: true, signInNeedsRelaunch: true, legacyTokenEndpoint: true, lockedKeychain: "calls-fail" },
  { ...no, name: "rn-ios-1.8.1", platform: "ios", wrapper: "react-native", versions: "5.3.0–5.4.0 on iOS 1.6.0–1.8.1",
    upperCaseUserID: true, autoSignOutOnDeletion: true, detectsDeletion: true, signInNeedsRelaunch: true, hasIdentify: true, identifyShortCircuits: true, legacyTokenEndpoint: true, lockedKeychain: "calls-fail" },
  { ...no, name: "rn-ios-1.8", platform: "ios", wrapper: "react-native", versions: "5.4.0–6.0.0-rc.2 on iOS 1.8.2–1.8.8",
    upperCaseUserID: true, autoSignOutOnDeletion: true, detectsDeletion: true, signInNeedsRelaunch: true, hasIdentify: true, identifyShortCircuits: true, lockedKeychain: "calls-fail" },
  { ...no, name: "rn-android-4.2.0", platform: "android", wrapper: "react-native", versions: "5.3.0–5.4.0 on Android 4.1.0–4.2.0",
    autoSignOutOnDeletion: true, detectsDeletion: true, refreshesOnUnauthorized: true, sameUserSignInThrows: true, apiKeyMigrationPersists: true, hasIdentify: true, identifyShortCircuits: true, reportsPendingReauth: true, configurePersists: true, legacyTokenEndpoint: true },
  { ...no, name: "rn-android-4.2.2", platform: "android", wrapper: "react-native", versions: "5.4.1–5.4.3 on Android 4.2.1–4.2.2",
    refreshesOnUnauthorized: true, sameUserSignInThrows: true, apiKeyMigrationPersists: true, hasIdentify: true, identifyShortCircuits: true, reportsPendingReauth: true, configurePersists: true },
  { ...no, name: "rn-android-5.0", platform: "android", wrapper: "react-native", versions: "5.5.0–6.0.0-rc.2 on Android 4.3.0–5.0.2",
    detectsDeletion: true, refreshesOnUnauthorized: true, sameUserSignInThrows: true, apiKeyMigrationPersists: true, hasIdentify: true, identifyShortCircuits: true, reportsPendingReauth: true, configurePersists: true },
];

export function parseProfile(name: string): Profile | undefined {
  return Profiles.find((p) => p.name === name);
}

export const ProfileNames: readonly string[] = Profiles.map((p) => p.name);

/**
 * classify maps the flags an SDK reports, with the state the reconciler
 * last observed ("" when unknown), to a state on profile p. {configured}
 * after a token session is user-deleted on a profile without auto sign-out
 * (Android 4.2.1+, reference §4).
 */
export function classify(s: Status, last: State | "", p: Profile): State {
  if ((s & ~allFlags) !== 0 || !statusValid(s)) throw new StatusError(s, p.name);
  if (s === 0) return "signed-out";
  if (s === FlagConfigured) {
    if (!p.autoSignOutOnDeletion && (last === "token" || last === "reauth-required" || last === "user-deleted")) {
      return "user-deleted";
    }
    return "configured";
  }
  if (hasFlag(s, FlagUseAPIKey)) return "api-key";
  if (hasFlag(s, FlagPendingReauthentication)) {
    if (!p.reportsPendingReauth) throw new StatusError(s, p.name);
    return "reauth-required";
  }
  return "token";
}

interface Transition {
  event: Event;
  src: State[];
  dst: State;
  when?: (p: Profile) => boolean;
}

// The one transition table (Go's fsm.table, row for row).
const table: readonly Transition[] = [
  { event: "configure", src: ["signed-out"], dst: "configured" },
  { event: "set-user", src: ["configured", "api-key"], dst: "api-key" },
  { event: "sign-in", src: ["signed-out", "configured", "user-deleted"], dst: "token" },
  { event: "sign-in", src: ["token"], dst: "token", when: (p) => !p.sameUserSignInThrows },
  { event: "migrate", src: ["api-key"], dst: "token" },
  { event: "sign-out", src: ["signed-out", "configured", "api-key", "token", "reauth-required", "user-deleted"],
    dst: "signed-out" },
  { event: "reauth-required", src: ["token"], dst: "reauth-required", when: (p) => p.detectsDeletion },
  { event: "reauthenticate", src: ["reauth-required"], dst: "token" },
  { event: "reauthenticate", src: ["token"], dst: "token", when: (p) => !p.reportsPendingReauth },
  { event: "user-deleted", src: ["token", "reauth-required"], dst: "user-deleted", when: (p) => p.detectsDeletion },
  { event: "auto-sign-out", src: ["user-deleted"], dst: "signed-out", when: (p) => p.autoSignOutOnDeletion },
];

/** The state event e leads to from st on p, or undefined when the table has no such row. */
export function next(p: Profile, st: State, e: Event): State | undefined {
  for (const t of table) {
    if (t.event !== e || (t.when && !t.when(p))) continue;
    if (t.src.includes(st)) return t.dst;
  }
  return undefined;
}

export type Environment = "production" | "sandbox" | "dev";
export type Region = "us" | "eu";

export function parseEnvironment(s: string): Environment | undefined {
  return s === "production" || s === "sandbox" || s === "dev" ? s : undefined;
}

export function parseRegion(s: string): Region | undefined {
  return s === "us" || s === "eu" ? s : undefined;
}

/**
 * The profile with the conformance protocol's profile_overrides applied:
 * {"detects_deletion":false} (an SDK that never detects a deleted user) and
 * {"has_identify":false} (an SDK without identifyExternalUser). Other keys
 * are ignored, as the protocol says of unknown fields.
 */
export function withProfileOverrides(p: Profile, o: unknown): Profile {
  if (typeof o !== "object" || o === null) return p;
  const { detects_deletion: d, has_identify: h } = o as { detects_deletion?: unknown; has_identify?: unknown };
  let out = p;
  if (typeof d === "boolean") out = { ...out, detectsDeletion: d };
  if (typeof h === "boolean") out = { ...out, hasIdentify: h };
  return out;
}
