// Which profile a React Native installation runs: the platform, the native
// SDK version the bridge links, and whether the bridge has
// identifyExternalUser. Sources: tryVital/vital-react-native, package
// packages/vital-core-react-native (docs/guides/react-native.md cites the
// pins of every release).

import { type Platform, type Profile, parseProfile } from "./fsm.js";

type Version = [number, number, number];

function parseRelease(s: string): Version | undefined {
  const m = /^v?(\d{1,4})\.(\d{1,4})\.(\d{1,4})$/.exec(s);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

// The pre-releases whose auth code is their release's (Go's fsm.preReleases);
// any other pre-release is refused.
const preReleases: readonly { platform: Platform | "react-native"; tag: string; as: Version }[] = [
  { platform: "android", tag: "4.2.0-beta.1", as: [4, 2, 0] },
  { platform: "android", tag: "5.0.0-beta.1", as: [5, 0, 0] },
  { platform: "android", tag: "5.0.0-beta.2", as: [5, 0, 0] },
  { platform: "android", tag: "5.0.0-beta.3", as: [5, 0, 0] },
  { platform: "android", tag: "5.0.0-beta.4", as: [5, 0, 0] },
  { platform: "android", tag: "5.0.0-rc.1", as: [5, 0, 0] }, // pinned by React Native 6.0.0-rc.1, rc.2 and main
  { platform: "ios", tag: "1.4.0-beta.3", as: [1, 4, 0] },
  { platform: "ios", tag: "1.4.1-beta.1", as: [1, 4, 1] },
  { platform: "ios", tag: "1.4.1-beta.2", as: [1, 4, 1] },
  // React Native 6.0.0-rc.1 and rc.2: the bridge is 5.5.0's, line for line.
  { platform: "react-native", tag: "6.0.0-rc.1", as: [5, 5, 0] },
  { platform: "react-native", tag: "6.0.0-rc.2", as: [5, 5, 0] },
];

/** Parses a release ("1.8.2", "v5.0.2") or a known pre-release of platform, as the release whose profile it has. */
export function parseVersion(s: string, platform: Platform | "react-native"): Version | undefined {
  if (!s.includes("-")) return parseRelease(s);
  const tag = s.replace(/^v/, "");
  return preReleases.find((p) => p.platform === platform && p.tag === tag)?.as;
}

function cmp(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

const within = (v: Version, from: Version, to: Version) => cmp(v, from) >= 0 && cmp(to, v) >= 0;

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
  const v = parseVersion(version, platform);
  if (!v) return undefined;
  const row = nativeTable.find((r) => r.platform === platform && within(v, r.from, r.to));
  return row ? parseProfile(row.profile) : undefined;
}

/**
 * The React Native table: the bridge's versions rnFrom..rnTo, on the native
 * versions their pins allow, behave as profile. Go's fsm.wrapperTable, plus
 * 6.0.2, whose bridge (src/index.ts, ios/VitalCoreReactNative.swift,
 * android/…/VitalCoreReactNativeModule.kt) is 6.0.0-rc.2's line for line in
 * the published package, and which pins VitalCore ~> 1.8.8 and Android 5.0.2.
 */
const reactNativeTable: readonly { rnFrom: Version; rnTo: Version; platform: Platform; from: Version; to: Version; profile: string }[] = [
  { rnFrom: [5, 0, 0], rnTo: [5, 1, 0], platform: "ios", from: [1, 2, 11], to: [1, 3, 9999], profile: "rn-ios-1.3" },
  { rnFrom: [5, 1, 1], rnTo: [5, 2, 3], platform: "ios", from: [1, 4, 1], to: [1, 6, 9999], profile: "rn-5.2-ios-1.8.1" },
  { rnFrom: [5, 3, 0], rnTo: [5, 4, 0], platform: "ios", from: [1, 6, 0], to: [1, 8, 1], profile: "rn-ios-1.8.1" },
  { rnFrom: [5, 4, 0], rnTo: [5, 5, 0], platform: "ios", from: [1, 8, 2], to: [1, 8, 8], profile: "rn-ios-1.8" },
  { rnFrom: [6, 0, 2], rnTo: [6, 0, 2], platform: "ios", from: [1, 8, 8], to: [1, 8, 8], profile: "rn-ios-1.8" },
  { rnFrom: [5, 3, 0], rnTo: [5, 4, 0], platform: "android", from: [4, 1, 0], to: [4, 2, 0], profile: "rn-android-4.2.0" },
  { rnFrom: [5, 4, 1], rnTo: [5, 4, 3], platform: "android", from: [4, 2, 1], to: [4, 2, 2], profile: "rn-android-4.2.2" },
  { rnFrom: [5, 5, 0], rnTo: [5, 5, 0], platform: "android", from: [4, 3, 0], to: [5, 0, 2], profile: "rn-android-5.0" },
  { rnFrom: [6, 0, 2], rnTo: [6, 0, 2], platform: "android", from: [5, 0, 2], to: [5, 0, 2], profile: "rn-android-5.0" },
];

/**
 * The profile of a React Native app on platform whose bridge is
 * @tryvital/vital-core-react-native at rnVersion and links the native SDK at
 * nativeVersion (VitalCore.sdkVersion()). Without rnVersion, the bridge's
 * identifyExternalUser says which side of 5.3.0 it is (hasIdentify) and the
 * native version picks the row. undefined for a version nobody has read or a
 * native version the release's pins rule out.
 */
export function profileForReactNative(platform: Platform, nativeVersion: string, hasIdentify: boolean, rnVersion?: string): Profile | undefined {
  const v = parseVersion(nativeVersion, platform);
  if (!v) return undefined;
  let rows = reactNativeTable.filter((r) => r.platform === platform && within(v, r.from, r.to));
  if (rnVersion !== undefined) {
    const w = parseVersion(rnVersion, "react-native");
    if (!w) return undefined;
    rows = rows.filter((r) => within(w, r.rnFrom, r.rnTo));
  } else {
    rows = rows.filter((r) => cmp(r.rnFrom, [5, 3, 0]) >= 0 === hasIdentify);
  }
  const row = rows[0];
  const p = row ? parseProfile(row.profile) : undefined;
  return p && p.hasIdentify === hasIdentify ? p : undefined;
}
