// The scripted world of the runner vectors: an SDK on a profile with
// scripted errors, a token source that maps app users to Vital users, a
// journal in memory and a clock. It models what reconcile's transcript
// harness models, so that the exported transcripts replay here unchanged.

import { resolve } from "node:path";
import {
  type AppSession, type Environment, type Profile, type Region, type SDK, type SDKErrorName, type State, type TokenSource,
  FlagConfigured, FlagPendingReauthentication, FlagSignedIn, FlagUseAPIKey, FlagUseSignInToken, MemoryJournal, SDKError,
  TransientError, stateSignedIn, withProfileOverrides,
} from "../src/index.js";

/** The exported vectors: VITALSYNC_VECTORS, or the repository's committed copy. */
export const vectorsDir = process.env.VITALSYNC_VECTORS ?? resolve(__dirname, "../../../../conformance/testdata/vectors");

/** The profile with a vector's overrides applied. */
export function withOverrides(p: Profile, o: { detects_deletion?: boolean; has_identify?: boolean } | undefined | null): Profile {
  return withProfileOverrides(p, o);
}

/**
 * The passes as a runner vector states them. A vector whose actions do not
 * say how they are applied (sdk_call, token: exports from transcripts that
 * print actions as text) is compared without those fields; one that says
 * is compared with them.
 */
export function comparablePasses(made: unknown, expected: unknown): unknown {
  const says = JSON.stringify(expected).includes('"sdk_call"') || JSON.stringify(expected).includes('"token"');
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (typeof v !== "object" || v === null) return v;
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (says || (k !== "sdk_call" && k !== "token")) o[k] = strip(x);
    return o;
  };
  return strip(made);
}

export function statusOf(st: State, p: Profile): number {
  switch (st) {
    case "configured": return FlagConfigured;
    case "api-key": return FlagConfigured | FlagSignedIn | FlagUseAPIKey;
    case "token": return FlagConfigured | FlagSignedIn | FlagUseSignInToken;
    case "reauth-required":
      return p.reportsPendingReauth
        ? FlagConfigured | FlagSignedIn | FlagUseSignInToken | FlagPendingReauthentication
        : FlagConfigured | FlagSignedIn | FlagUseSignInToken;
    case "user-deleted": return p.autoSignOutOnDeletion ? 0 : FlagConfigured;
  }
  return 0;
}

export class World {
  st: State = "signed-out";
  user = "";
  env: Environment | "" = "";
  region: Region | "" = "";
  hidden = false;
  ext = "";
  errs: SDKErrorName[] = [];
  needsInit = false;
  initialised = false;
  locked = false;
  tokensByValue = new Map<string, string>();
  users: Record<string, string> = { alice: "v-alice", bob: "v-bob", carol: "v-carol" };
  tokenErrs: Error[] = [];
  minted = 0;
  calls: string[] = [];
  tokenCalls = 0;
  mutations = 0;
  now = Date.parse("2026-11-24T10:00:00Z");
  app: AppSession = { signedIn: false, appUserID: "", vitalUserID: "", environment: "", region: "" };
  journal = new MemoryJournal();

  constructor(readonly profile: Profile, readonly opts: { identify: boolean; initialize: boolean; protectedData: boolean }) {}

  sdk(): SDK {
    const sdk: SDK = {
      status: async () => (this.needsInit && !this.initialised ? 0 : statusOf(this.st, this.profile)),
      currentUserID: async () => {
        if (!stateSignedIn(this.st) || (this.needsInit && !this.initialised)) return "";
        return this.profile.upperCaseUserID ? this.user.toUpperCase() : this.user;
      },
      environment: async () => (this.env && this.region ? { environment: this.env, region: this.region } : undefined),
      signIn: async (tok) => this.signIn(tok),
      signOut: async () => {
        this.mutations++;
        this.calls.push("sdk.signOut()");
        this.st = "signed-out";
        this.user = this.env = this.region = this.ext = "";
        this.hidden = false;
      },
    };
    if (this.opts.identify) {
      sdk.identifyExternalUser = async (ext, tok) => {
        this.calls.push(`sdk.identifyExternalUser(${ext}, ${tok})`);
        if (this.ext !== "" && this.ext === ext) return; // identify short-circuits (§2.6)
        this.signIn(tok);
        this.ext = ext;
      };
    }
    if (this.opts.initialize) {
      sdk.initialize = async () => {
        this.calls.push("sdk.initialize()");
        this.initialised = true;
      };
    }
    if (this.opts.protectedData) sdk.protectedDataAvailable = async () => !this.locked;
    return sdk;
  }

  private signIn(tok: string): void {
    this.mutations++;
    const err = this.errs.shift();
    if (err) {
      this.calls.push(`sdk.signIn(${tok}) → sdk: ${err}`);
      throw new SDKError(err as Exclude<SDKErrorName, "">);
    }
    this.calls.push(`sdk.signIn(${tok})`);
    if (this.hidden || (this.st === "token" && this.profile.sameUserSignInThrows)) throw new SDKError("alreadySignedIn");
    this.st = "token";
    this.user = this.tokensByValue.get(tok) ?? "";
    this.env = "sandbox";
    this.region = "us";
  }

  tokens(): TokenSource {
    return {
      signInToken: async (appUser) => {
        this.tokenCalls++;
        const err = this.tokenErrs.shift();
        if (err) {
          this.calls.push(`tokens.signInToken(${appUser}) → ${err.message}`);
          throw err;
        }
        this.minted++;
        const tok = `tok-${appUser}-${String.fromCharCode(97 + this.minted)}`;
        const v = this.users[appUser] ?? "";
        this.tokensByValue.set(tok, v);
        this.calls.push(`tokens.signInToken(${appUser}) → ${v}, ${tok}`);
        return { user_id: v, sign_in_token: tok };
      },
      resolveVitalUser: async (appUser) => {
        this.tokenCalls++;
        const v = this.users[appUser] ?? "";
        this.calls.push(`tokens.resolveVitalUser(${appUser}) → ${v}`);
        return { user_id: v };
      },
    };
  }

  /** Applies a vector's sdk step. */
  setSDK(s: { state?: string; user?: string; ext?: string; hidden?: boolean; fail?: string[]; uninitialized?: boolean; locked?: boolean }): void {
    for (const n of s.fail ?? []) this.errs.push(n as SDKErrorName);
    if (s.state) {
      this.st = s.state as State;
      this.user = s.user ?? "";
      this.env = this.region = "";
      if (stateSignedIn(this.st)) {
        this.env = "sandbox";
        this.region = "us";
      }
    }
    this.ext = s.ext ?? "";
    this.hidden = s.hidden ?? false;
    this.needsInit = s.uninitialized ?? false;
    this.initialised = false;
    this.locked = s.locked ?? false;
  }

  failTokens(t: { transient?: boolean; retry_after_ms?: number; message: string }): void {
    this.tokenErrs.push(t.transient ? new TransientError(t.message, t.retry_after_ms ?? 0) : new Error(t.message));
  }
}
