// Which profile a React Native installation runs: the platform, the native
// SDK version the bridge links, and whether the bridge has
// identifyExternalUser. Sources: tryVital/vital-react-native, package
// packages/vital-core-react-native (see docs/guides/react-native.md for the
// table of releases and pins with their citations).

import { type Platform, type Profile, parseProfile } from "./fsm.js";

type Version = [number, number, number];

/**
 * parseVersion reads "1.8.2", "v5.0.2" and pre-releases ("5.0.0-rc.1"),
 * which map by their release: the pre-releases the RN bridges pin carry their
 * release's auth code (Android 5.0.0-rc.1 is 5.0.2's, reference §10.1).
 */
export function parseVersion(s: string): Version | undefined {
  const m = /^v?(\d{1,4})\.(\d{1,4})\.(\d{1,4})(?:-[0-9A-Za-z.-]+)?$/.exec(s);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function cmp(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

// The native version table (Go's fsm.versionTable, reference §10.1).
const nativeTable: readonly { platform: Platform; from: Version; to: Version; profile: string }[] = [
  { platform: "ios", from: [1, 0, 0], to: [1, 3, 9999], profile: "ios-1.3" },
  { platform: "ios", from: [1, 4, 0], to: [1, 8, 1], profile: "ios-1.8.1" },
  { platform: "ios", from: [1, 8, 2], to: [1, 8, 8], profile: "ios-1.8" },
  { platform: "android", from: [4, 1, 0], to: [4, 2, 0], profile: "android-4.2.0" },
  { platform: "android", from: [4, 2, 1], to: [4, 2, 2], profile: "android-4.2.2" },
  { platform: "android", from: [4, 3, 0], to: [5, 0, 2], profile: "android-5.0" },
];

/** The profile of the native SDK of platform at version; undefined outside the modelled ranges. */
export function nativeProfileFor(platform: Platform, version: string): Profile | undefined {
  const v = parseVersion(version);
  if (!v) return undefined;
  const row = nativeTable.find((r) => r.platform === platform && cmp(v, r.from) >= 0 && cmp(r.to, v) >= 0);
  return row ? parseProfile(row.profile) : undefined;
}

/**
 * The profile of a React Native app on platform whose bridge links the
 * native SDK at nativeVersion (VitalCore.sdkVersion()). hasIdentify is
 * whether the bridge has identifyExternalUser (React Native 5.3.0 on). Without
 * it an iOS 1.4+ app signs in only through the deprecated signIn, whose
 * session reads {configured} until relaunch (reference §1.2), so it gets the
 * profile that says so; Android's reconciler never calls identify, and
 * React Native before 5.3.0 pins Android 4.0.x, which no profile models.
 */
export function profileForReactNative(platform: Platform, nativeVersion: string, hasIdentify: boolean): Profile | undefined {
  const p = nativeProfileFor(platform, nativeVersion);
  if (!p || hasIdentify || !p.hasIdentify || platform === "android") return p;
  if (p.name === "ios-1.8.1") return parseProfile("rn-ios-1.8.1-no-identify");
  return undefined; // no React Native release without identify pins VitalCore 1.8.2+
}

/**
 * The native SDK versions each React Native release pins, from the
 * package's podspec (CocoaPods "~>": at least that version, below the next
 * minor) and android/build.gradle (an exact version). Releases before 5.1.2
 * are left out: they pin iOS ≤1.3 or Android ≤4.0, which (on Android) no
 * profile models.
 */
export const ReactNativePins: readonly { release: string; ios: string; android: string; identify: boolean }[] = [
  { release: "5.1.2", ios: "~> 1.4.6", android: "4.0.0", identify: false },
  { release: "5.2.1", ios: "~> 1.5.0", android: "4.0.0", identify: false },
  { release: "5.2.3", ios: "~> 1.6.0", android: "4.0.2", identify: false },
  { release: "5.3.0", ios: "~> 1.6.0", android: "4.1.0", identify: true },
  { release: "5.4.0", ios: "~> 1.8.1", android: "4.2.0", identify: true },
  { release: "5.4.1", ios: "~> 1.8.2", android: "4.2.1", identify: true },
  { release: "5.4.3", ios: "~> 1.8.2", android: "4.2.2", identify: true },
  { release: "5.5.0", ios: "~> 1.8.6", android: "4.3.2", identify: true },
  { release: "6.0.0-rc.2", ios: "~> 1.8.6", android: "5.0.0-rc.1", identify: true },
  { release: "6.0.2", ios: "~> 1.8.8", android: "5.0.2", identify: true },
];
