// @vitalsync/react-native: the launch task that keeps the Vital Mobile SDK's
// sign-in in line with the app's own user. A port of vitalsync's Go engine
// (the planner, the runner and the journal), checked against the same
// conformance vectors and harness.

import type { Platform } from "./fsm.js";
import { type KeyValueStorage, StorageJournal } from "./journal.js";
import type { AppSession } from "./observation.js";
import type { Backoff } from "./backoff.js";
import { type Outcome, Runner, type TokenSource } from "./runner.js";
import { type VitalCoreAPI, profileOf, vitalCoreSDK } from "./vitalcore.js";

export * from "./action.js";
export * from "./backoff.js";
export * from "./errors.js";
export * from "./fsm.js";
export * from "./journal.js";
export * from "./observation.js";
export * from "./observe.js";
export * from "./outcome_json.js";
export * from "./strictjson.js";
export * from "./transitions.js";
export * from "./plan.js";
export * from "./runner.js";
export * from "./versions.js";
export * from "./vitalcore.js";

export interface LaunchOptions {
  /** VitalCore from @tryvital/vital-core-react-native. */
  core: VitalCoreAPI;
  /** Platform.OS from react-native. */
  platform: Platform;
  /** The version of @tryvital/vital-core-react-native (its package.json), when the app can read it. */
  reactNativeSDKVersion?: string;
  /** AsyncStorage (or anything with its getItem and setItem). */
  storage: KeyValueStorage;
  /** Your backend's call that returns {user_id, sign_in_token} for the signed-in app user. */
  tokens: TokenSource;
  /** The app's session now: {signedIn:false}, or {signedIn:true, appUserID, environment, region}. */
  app: () => Partial<AppSession> & { signedIn: boolean };
  /** The storage key prefix (default "vitalsync.journal"). */
  key?: string;
  backoff?: Backoff;
  log?: (line: string) => void;
  identifyTimeoutMs?: number;
}

/** Builds the launch task for this installation: its profile, SDK adapter and journal. */
export async function createLaunchTask(o: LaunchOptions): Promise<Runner> {
  const profile = await profileOf(o.core, o.platform, o.reactNativeSDKVersion);
  const sdk = o.identifyTimeoutMs === undefined ? vitalCoreSDK(o.core) : vitalCoreSDK(o.core, { identifyTimeoutMs: o.identifyTimeoutMs });
  return new Runner({
    profile, sdk, tokens: o.tokens, journal: new StorageJournal(o.storage, o.key), app: o.app,
    ...(o.backoff ? { backoff: o.backoff } : {}), ...(o.log ? { log: o.log } : {}),
  });
}

/**
 * The one call at launch: reconcile the SDK with the app's user. It never
 * rejects; the Outcome says how the launch ended (outcome.result, and
 * outcome.error when it did not reach agreement). A consistent launch makes
 * no token-source call, no SDK mutation and no storage write.
 */
export async function runAtLaunch(o: LaunchOptions): Promise<Outcome> {
  try {
    return await (await createLaunchTask(o)).run();
  } catch (e) {
    return {
      result: "failed", passes: [], state: "", retryAt: 0, interrupted: undefined, divergence: undefined,
      error: e instanceof Error ? e : new Error(String(e)),
    };
  }
}
