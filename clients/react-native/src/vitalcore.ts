// The SDK adapter: the runner's SDK port on @tryvital/vital-core-react-native's
// VitalCore. Only the type is imported, so the package's declarations check
// every call (tsc) while the engine loads no native module of its own: the
// app passes VitalCore itself.

import type { VitalCore } from "@tryvital/vital-core-react-native";
import { SDKError, TransientError } from "./errors.js";
import { type Platform, type Profile, type Status, parseFlag } from "./fsm.js";
import type { SDK } from "./runner.js";
import { profileForReactNative } from "./versions.js";

/**
 * The VitalCore calls the engine makes, typed by the installed package.
 * setUserId and configure are left out on purpose: RN iOS's setUserId hits
 * VitalCore's fatalError on iOS 1.4+ when the SDK is unconfigured or in
 * Sign-In Token mode (reference §10.10), and API-key mode is never the
 * engine's goal. identifyExternalUser is optional: React Native before 5.3.0
 * does not have it.
 */
export type VitalCoreAPI = Pick<typeof VitalCore, "status" | "currentUserId" | "signIn" | "signOut" | "sdkVersion"> &
  Partial<Pick<typeof VitalCore, "identifyExternalUser">>;

/** The request identifyExternalUser's authenticate callback answers with, as the package declares it. */
type AuthenticateRequest = Awaited<ReturnType<Parameters<typeof VitalCore.identifyExternalUser>[1]>>;

interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface VitalCoreSDKOptions {
  /**
   * How long an identifyExternalUser may take before the engine gives up
   * on it (default 60 s). The bridge waits for the JS authenticate answer
   * on an un-timed continuation and the native identify holds a lock
   * meanwhile (reference §10.10), so the engine answers authenticate at once
   * with a token it minted before the call, and bounds the whole call itself.
   */
  identifyTimeoutMs?: number;
  timers?: Timers;
}

const names = /\b(alreadySignedIn|invalidSignInToken|invalidUser|needsReauthentication|notSignedIn)\b/i;
const canonical: Record<string, ConstructorParameters<typeof SDKError>[0]> = {
  alreadysignedin: "alreadySignedIn",
  invalidsignintoken: "invalidSignInToken",
  invaliduser: "invalidUser",
  needsreauthentication: "needsReauthentication",
  notsignedin: "notSignedIn",
};
const network =
  /network|timed? ?out|offline|not connected|unreachable|UnknownHost|SocketTimeout|ConnectException|IOException|NSURLErrorDomain|connection (was )?(lost|refused|reset)/i;

/** Long runs of token-like characters (JWTs, base64 blobs) are cut out of messages kept for errors. */
export function redact(message: string): string {
  return message.replace(/[A-Za-z0-9_\-+/=.]{40,}/g, "[redacted]").slice(0, 300);
}

/**
 * classifyBridgeError turns what a VitalCore promise rejects with into the
 * engine's vocabulary. The bridges give no reliable code: RN iOS rejects
 * with code "VitalCoreError" and the Swift error's description
 * ("alreadySignedIn"); RN Android's signIn rejects with promise.reject(e),
 * no code, and a message like "VitalJWTSignInError: alreadySignedIn"
 * (reference §2.5, §10.10). So the SDK error is read from the message, by
 * the names the SDKs give their errors; a network failure is transient;
 * anything else is unknown (terminal).
 */
export function classifyBridgeError(e: unknown): Error {
  const message = typeof e === "object" && e !== null && "message" in e ? String((e as { message: unknown }).message) : String(e);
  const m = names.exec(message);
  if (m) return new SDKError(canonical[m[1]!.toLowerCase()]!, `sdk: ${canonical[m[1]!.toLowerCase()]}: ${redact(message)}`);
  if (network.test(message)) return new TransientError(`sdk: network: ${redact(message)}`);
  return new SDKError("unknown", `sdk: unknown: ${redact(message)}`);
}

async function bridged<T>(p: () => Promise<T>): Promise<T> {
  try {
    return await p();
  } catch (e) {
    throw classifyBridgeError(e);
  }
}

/** Parses VitalCore.status()'s strings into the status bits; an unknown name is an error. */
export function statusFromStrings(flags: readonly string[]): Status {
  let s = 0;
  for (const f of flags) {
    const bit = parseFlag(f);
    if (bit === undefined) throw new SDKError("unknown", `sdk: unknown status flag "${f}"`);
    s |= bit;
  }
  return s;
}

/**
 * vitalCoreSDK adapts VitalCore (pass the class itself) to the runner's SDK
 * port. Android's bridge creates the native client before it reads status
 * (VitalCoreReactNativeModule.status calls VitalClient.getOrCreate), so no
 * initialise step is needed (reference §10.11). The bridge exposes no
 * configured environment, so API-key sessions are never migrated in place
 * (the planner signs out and in when it cannot tell they match).
 */
export function vitalCoreSDK(core: VitalCoreAPI, opts: VitalCoreSDKOptions = {}): SDK {
  const timeoutMs = opts.identifyTimeoutMs ?? 60_000;
  const timers = opts.timers ?? (globalThis as unknown as Timers);
  const sdk: SDK = {
    status: async () => statusFromStrings(await bridged(() => core.status())),
    currentUserID: async () => (await bridged(() => core.currentUserId())) ?? "",
    signIn: (token) => bridged(() => core.signIn(token)),
    signOut: () => bridged(() => core.signOut()),
  };
  const identify = core.identifyExternalUser;
  if (typeof identify === "function") {
    sdk.identifyExternalUser = (externalUserID, token) =>
      new Promise<void>((resolve, reject) => {
        let settled = false;
        const timer = timers.setTimeout(() => {
          if (settled) return;
          settled = true;
          reject(new TransientError(`sdk: identifyExternalUser did not settle within ${timeoutMs} ms`));
        }, timeoutMs);
        const request: AuthenticateRequest = { type: "signInToken", rawToken: token };
        identify.call(core, externalUserID, async () => request).then(
          () => {
            if (settled) return;
            settled = true;
            timers.clearTimeout(timer);
            resolve();
          },
          (e: unknown) => {
            if (settled) return;
            settled = true;
            timers.clearTimeout(timer);
            reject(classifyBridgeError(e));
          },
        );
      });
  }
  return sdk;
}

/** The native SDK version is outside every modelled profile: the engine does nothing rather than guess. */
export class UnsupportedSDKError extends Error {
  constructor(readonly platform: string, readonly nativeVersion: string, readonly hasIdentify: boolean) {
    super(`vitalsync: no profile for ${platform} native SDK ${nativeVersion}${hasIdentify ? "" : " without identifyExternalUser"}`);
    this.name = "UnsupportedSDKError";
  }
}

/**
 * profileOf reads which profile this installation runs: the platform
 * (Platform.OS), the native SDK version the bridge links
 * (VitalCore.sdkVersion()), and the bridge's version when the app passes it
 * (the package's version) or else whether it has identifyExternalUser.
 */
export async function profileOf(core: VitalCoreAPI, platform: Platform, rnVersion?: string): Promise<Profile> {
  const version = await bridged(() => core.sdkVersion());
  const hasIdentify = typeof core.identifyExternalUser === "function";
  const p = profileForReactNative(platform, version, hasIdentify, rnVersion);
  if (!p) throw new UnsupportedSDKError(platform, version, hasIdentify);
  return p;
}
