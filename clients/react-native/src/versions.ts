// Which profile a React Native installation runs: the platform, the native
// SDK version the bridge links, and whether the bridge has
// identifyExternalUser. A port of Go's fsm/version.go, row for row (a test
// holds it to the exported versions.json); docs/reference/profiles.md cites
// every pin.

import { type Platform, type Profile, type Wrapper, parseProfile } from "./fsm.js";

type Version = [number, number, number];

function parseRelease(s: string): Version | undefined {
  const m = /^v?(\d{1,4})\.(\d{1,4})\.(\d{1,4})$/.exec(s);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

// The pre-releases whose auth code is their release's (Go's fsm.preReleases);
// any other pre-release is refused.
const preReleases: readonly { platform: Platform | ""; wrapper: Wrapper; tag: string; as: Version }[] = [
  { platform: "android", wrapper: "", tag: "4.2.0-beta.1", as: [4, 2, 0] },
  { platform: "android", wrapper: "", tag: "5.0.0-beta.1", as: [5, 0, 0] },
  { platform: "android", wrapper: "", tag: "5.0.0-beta.2", as: [5, 0, 0] },
  { platform: "android", wrapper: "", tag: "5.0.0-beta.3", as: [5, 0, 0] },
  { platform: "android", wrapper: "", tag: "5.0.0-beta.4", as: [5, 0, 0] },
  { platform: "android", wrapper: "", tag: "5.0.0-rc.1", as: [5, 0, 0] }, // pinned by React Native 6.0.0-rc.1 and rc.2
  { platform: "ios", wrapper: "", tag: "1.4.0-beta.3", as: [1, 4, 0] },
  { platform: "ios", wrapper: "", tag: "1.4.1-beta.1", as: [1, 4, 1] },
  { platform: "ios", wrapper: "", tag: "1.4.1-beta.2", as: [1, 4, 1] },
  // React Native 6.0.0-rc.1 and rc.2: the bridge is 5.5.0's, line for line.
  { platform: "", wrapper: "react-native", tag: "6.0.0-rc.1", as: [5, 5, 0] },
  { platform: "", wrapper: "react-native", tag: "6.0.0-rc.2", as: [5, 5, 0] },
];

/**
 * Parses a release ("1.8.2", "v5.0.2") or a known pre-release of the
 * platform (or of the wrapper, when wrapper is not ""), as the release whose
 * profile it has (Go's fsm.parseTagged).
 */
export function parseVersion(s: string, platform: Platform | "", wrapper: Wrapper = ""): Version | undefined {
  if (!s.includes("-")) return parseRelease(s);
  const tag = s.replace(/^v/, "");
  return preReleases.find((p) => p.tag === tag && p.wrapper === wrapper && (wrapper !== "" || p.platform === platform))?.as;
}

function cmp(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

const within = (v: Version, from: Version, to: Version) => cmp(v, from) >= 0 && cmp(to, v) >= 0;

interface NativeRow { platform: Platform; from: Version; to: Version; profile: string }
interface WrapperRow extends NativeRow { wrapper: Wrapper; wfrom: Version; wto: Version }

/** The native version table (Go's fsm.versionTable, reference §10.1). */
export const nativeTable: readonly NativeRow[] = [
  { platform: "ios", from: [1, 0, 0], to: [1, 3, 9999], profile: "ios-1.3" },
  { platform: "ios", from: [1, 4, 0], to: [1, 8, 1], profile: "ios-1.8.1" },
  { platform: "ios", from: [1, 8, 2], to: [1, 8, 8], profile: "ios-1.8" },
  { platform: "android", from: [4, 1, 0], to: [4, 2, 0], profile: "android-4.2.0" },
  { platform: "android", from: [4, 2, 1], to: [4, 2, 1], profile: "android-4.2.1" },
  { platform: "android", from: [4, 2, 2], to: [4, 2, 2], profile: "android-4.2.2" },
  { platform: "android", from: [4, 3, 0], to: [5, 0, 2], profile: "android-5.0" },
];

/**
 * The wrapper table (Go's fsm.wrapperTable): the wrapper's versions
 * wfrom..wto, on the native versions their pins allow, behave as profile.
 */
export const wrapperTable: readonly WrapperRow[] = [
  { wrapper: "flutter", wfrom: [4, 5, 0], wto: [4, 5, 4], platform: "ios", from: [1, 6, 2], to: [1, 6, 9999], profile: "flutter-ios-1.8.1" },
  { wrapper: "flutter", wfrom: [4, 5, 0], wto: [4, 5, 4], platform: "android", from: [4, 1, 1], to: [4, 1, 4], profile: "flutter-android-4.2.0" },
  { wrapper: "flutter", wfrom: [4, 5, 5], wto: [4, 6, 1], platform: "ios", from: [1, 8, 2], to: [1, 8, 8], profile: "flutter-ios" },
  { wrapper: "flutter", wfrom: [4, 5, 5], wto: [4, 5, 5], platform: "android", from: [4, 2, 1], to: [4, 2, 1], profile: "flutter-android-4.2.1" },
  { wrapper: "flutter", wfrom: [4, 5, 6], wto: [4, 6, 1], platform: "android", from: [4, 2, 2], to: [4, 2, 2], profile: "flutter-android" },
  { wrapper: "react-native", wfrom: [5, 0, 0], wto: [5, 1, 0], platform: "ios", from: [1, 2, 11], to: [1, 3, 9999], profile: "rn-ios-1.3" },
  { wrapper: "react-native", wfrom: [5, 1, 1], wto: [5, 2, 3], platform: "ios", from: [1, 4, 1], to: [1, 6, 9999], profile: "rn-5.2-ios-1.8.1" },
  { wrapper: "react-native", wfrom: [5, 3, 0], wto: [5, 4, 0], platform: "ios", from: [1, 6, 0], to: [1, 8, 1], profile: "rn-ios-1.8.1" },
  { wrapper: "react-native", wfrom: [5, 4, 0], wto: [5, 5, 0], platform: "ios", from: [1, 8, 2], to: [1, 8, 8], profile: "rn-ios-1.8" },
  { wrapper: "react-native", wfrom: [6, 0, 2], wto: [6, 0, 2], platform: "ios", from: [1, 8, 8], to: [1, 8, 8], profile: "rn-ios-1.8" },
  { wrapper: "react-native", wfrom: [5, 3, 0], wto: [5, 4, 0], platform: "android", from: [4, 1, 0], to: [4, 2, 0], profile: "rn-android-4.2.0" },
  { wrapper: "react-native", wfrom: [5, 4, 1], wto: [5, 4, 1], platform: "android", from: [4, 2, 1], to: [4, 2, 1], profile: "rn-android-4.2.1" },
  { wrapper: "react-native", wfrom: [5, 4, 2], wto: [5, 4, 3], platform: "android", from: [4, 2, 2], to: [4, 2, 2], profile: "rn-android-4.2.2" },
  { wrapper: "react-native", wfrom: [5, 5, 0], wto: [5, 5, 0], platform: "android", from: [4, 3, 0], to: [5, 0, 2], profile: "rn-android-5.0" },
  { wrapper: "react-native", wfrom: [6, 0, 2], wto: [6, 0, 2], platform: "android", from: [5, 0, 2], to: [5, 0, 2], profile: "rn-android-5.0" },
];

const has = (r: NativeRow, platform: Platform, v: Version) => r.platform === platform && within(v, r.from, r.to);

/** The profile of the native SDK of platform at version (Go's fsm.ProfileFor); undefined outside the modelled ranges. */
export function profileFor(platform: Platform, version: string): Profile | undefined {
  const v = parseVersion(version, platform);
  if (!v) return undefined;
  const row = nativeTable.find((r) => has(r, platform, v));
  return row ? parseProfile(row.profile) : undefined;
}

/** The old name of profileFor. */
export const nativeProfileFor = profileFor;

/**
 * The profile of an app built with wrapper at wrapperVersion ("" for
 * native) on platform whose native SDK resolved to nativeVersion (Go's
 * fsm.ProfileForApp). undefined for a version that does not parse, a wrapper
 * version nobody has read and a native version its pins rule out.
 */
export function profileForApp(wrapper: Wrapper, wrapperVersion: string, platform: Platform, nativeVersion: string): Profile | undefined {
  if (wrapper === "") return wrapperVersion === "" ? profileFor(platform, nativeVersion) : undefined;
  const w = parseVersion(wrapperVersion, "", wrapper);
  const v = parseVersion(nativeVersion, platform);
  if (!w || !v) return undefined;
  const row = wrapperTable.find((r) => r.wrapper === wrapper && within(w, r.wfrom, r.wto) && has(r, platform, v));
  return row ? parseProfile(row.profile) : undefined;
}

/**
 * The profile of an app built with wrapper on platform whose native SDK
 * resolved to nativeVersion, when the native version alone decides it (Go's
 * fsm.ProfileForWrapper): the one profile of every line whose pins allow
 * it, of those that keep (when given) the profile's hasIdentify. Lines with
 * different profiles give undefined.
 */
export function profileForWrapper(wrapper: Wrapper, platform: Platform, nativeVersion: string, hasIdentify?: boolean): Profile | undefined {
  if (wrapper === "") return profileFor(platform, nativeVersion);
  const v = parseVersion(nativeVersion, platform);
  if (!v) return undefined;
  const names = new Set(
    wrapperTable
      .filter((r) => r.wrapper === wrapper && has(r, platform, v))
      .map((r) => r.profile)
      .filter((n) => hasIdentify === undefined || parseProfile(n)?.hasIdentify === hasIdentify),
  );
  return names.size === 1 ? parseProfile([...names][0]!) : undefined;
}

/**
 * The profile of a React Native app on platform whose bridge is
 * @tryvital/vital-core-react-native at rnVersion and links the native SDK at
 * nativeVersion (VitalCore.sdkVersion()). Without rnVersion, the bridge's
 * identifyExternalUser says which side of 5.3.0 it is (hasIdentify) and the
 * native version picks the line. undefined for a version nobody has read, a
 * native version the release's pins rule out, or a bridge whose
 * identifyExternalUser does not match its release.
 */
export function profileForReactNative(platform: Platform, nativeVersion: string, hasIdentify: boolean, rnVersion?: string): Profile | undefined {
  const p = rnVersion === undefined
    ? profileForWrapper("react-native", platform, nativeVersion, hasIdentify)
    : profileForApp("react-native", rnVersion, platform, nativeVersion);
  return p && p.hasIdentify === hasIdentify ? p : undefined;
}
