// The runner: observe -> plan -> apply -> record, the launch task of one
// installation. A port of reconcile/runner.go: it decides nothing, it
// applies what the planner says and reports back through the journal.

import { type Action, actionString, vitalUserOf } from "./action.js";
import {
  type ErrorClass, type SDKErrorName, CancelledError, RunError, StaleError, classifyError,
} from "./errors.js";
import {
  type Environment, type Event, type Profile, type Region, type State, type Status, FlagSignedIn, hasFlag, next as fsmNext,
  parseProfile, stateSignedIn,
} from "./fsm.js";
import { type Journal, type JournalEntry, entriesEqual, validateEntry } from "./journal.js";
import { type AppSession, type Observation, validate } from "./observation.js";
import { type Plan, goalVitalUser, plan as planObservation } from "./plan.js";

/**
 * The part of the Vital Core SDK the runner reads and drives. status,
 * currentUserID and environment are local reads (no network). The optional
 * methods exist where the platform has them.
 */
export interface SDK {
  status(): Promise<Status>;
  /** "" when the SDK has no user. */
  currentUserID(): Promise<string>;
  /** The SDK's configured environment and region; undefined when it cannot say. */
  environment?(): Promise<{ environment: Environment; region: Region } | undefined>;
  signIn(signInToken: string): Promise<void>;
  signOut(): Promise<void>;
  /** identifyExternalUser with a Sign-In Token, keyed on the app user. */
  identifyExternalUser?(externalUserID: string, signInToken: string): Promise<void>;
  /** Set the SDK up before its status means anything (Android's client, reference §10.11). */
  initialize?(): Promise<void>;
  /** False while the device's protected data cannot be read (reference §10.6). */
  protectedDataAvailable?(): Promise<boolean>;
}

/** The app backend's answer: the Vital user the token signs in, and the Sign-In Token. */
export interface SignInTokenAnswer {
  user_id: string;
  sign_in_token: string;
}

/**
 * The token source port: the app's own backend call. signInToken mints a
 * Sign-In Token for the app user; resolveVitalUser, when the backend has
 * it, names the app user's Vital user without minting (where it is
 * missing, a resolve mints a token and keeps it for the sign-in that may
 * follow). Throw a TransientError (or any error with transient: true) for a
 * failure worth retrying later.
 */
export interface TokenSource {
  signInToken(appUserID: string): Promise<SignInTokenAnswer>;
  resolveVitalUser?(appUserID: string): Promise<{ user_id: string }>;
}

/** Capped, jittered exponential backoff of failed runs (milliseconds). */
export interface Backoff {
  baseMs: number;
  capMs: number;
  /** The fraction of the delay drawn at random, 0 to 1: d·(1−jitter·r). */
  jitter: number;
}

export const DefaultBackoff: Backoff = { baseMs: 30_000, capMs: 3_600_000, jitter: 0.2 };

/** The delay after the n-th consecutive failure (n ≥ 1), given r in [0,1) and a Retry-After. */
export function backoffDelay(b: Backoff, n: number, r: number, retryAfterMs: number): number {
  let d = b.baseMs;
  for (let i = 1; i < n && d < b.capMs; i++) d *= 2;
  d = Math.min(d, b.capMs);
  d -= d * b.jitter * r;
  return Math.max(d, retryAfterMs);
}

export interface RunnerConfig {
  profile: Profile;
  sdk: SDK;
  tokens: TokenSource;
  journal: Journal;
  /** The app's session: signed in or not, the app user, and the environment and region it targets. */
  app: () => Partial<AppSession> & { signedIn: boolean };
  /** The clock (Unix ms) and a random draw in [0,1) (may be asynchronous); default Date.now and Math.random. */
  now?: () => number;
  rand?: () => number | Promise<number>;
  backoff?: Backoff;
  allowAPIKey?: boolean;
  /** See Observation.resolveInterval (ms; 0: the default, 24 h). */
  resolveIntervalMs?: number;
  /** Called with one line per action and failure; never with a token. */
  log?: (line: string) => void;
  /** An AbortSignal (or anything with aborted): once aborted, the launch ends at its next step. */
  signal?: { readonly aborted: boolean };
}

export type Result = "nothing-to-do" | "applied" | "deferred" | "failed" | "terminal";

export interface Step {
  action: Action;
  /** Undefined when the action succeeded. */
  error?: unknown;
  errorClass: ErrorClass;
  sdkError: SDKErrorName;
}

export interface Pass {
  observation: Observation;
  plan: Plan;
  applied: Step[];
}

export interface Divergence {
  /** "" when the table has no path for the applied actions. */
  expected: State | "";
  observed: State | "";
}

/** The pass bound's end: no agreement within MaxPasses passes that acted. */
export class NoConvergenceError extends Error {
  constructor() {
    super("reconcile: no agreement within the pass bound");
    this.name = "NoConvergenceError";
  }
}

/** What one launch saw, planned and did. */
export interface Outcome {
  result: Result;
  passes: Pass[];
  state: State | "";
  /** Unix ms when the next attempt is due (after a deferral or a transient failure); 0: none. */
  retryAt: number;
  /** The action a previous launch was applying when its process died. */
  interrupted: Action | undefined;
  divergence: Divergence | undefined;
  /**
   * Undefined when the launch reached agreement or a deferral; a RunError
   * when an action failed or the launch ended terminal; NoConvergenceError;
   * or the journal's or the observation's error.
   */
  error: Error | undefined;
}

export const MaxPasses = 6;

/** What the SDK reported in one observation. */
export interface SDKReport {
  status: Status;
  currentUserID: string;
  environment: Environment | "";
  region: Region | "";
  protectedDataUnavailable: boolean;
}

/** What this launch has learnt and done, beyond its journal entry. */
export interface LaunchFacts {
  last: Action | undefined;
  issued: string;
  issuedFor: string;
}

function eqFold(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * observe builds the observation from the journal entry, the app's session,
 * what the SDK reported and this launch's facts. It is pure.
 */
export function observe(
  j: JournalEntry, appIn: Partial<AppSession> & { signedIn: boolean }, sdk: SDKReport, facts: LaunchFacts,
  profile: Profile, now: number, opts: { allowAPIKey?: boolean; resolveIntervalMs?: number } = {},
): Observation {
  const app: AppSession = {
    signedIn: appIn.signedIn, appUserID: appIn.appUserID ?? "", vitalUserID: appIn.vitalUserID ?? "",
    environment: appIn.environment ?? "", region: appIn.region ?? "",
  };
  if (app.signedIn && app.vitalUserID === "" && j.appUserID === app.appUserID) app.vitalUserID = j.vitalUserID;
  if (!app.signedIn) {
    app.appUserID = "";
    app.vitalUserID = "";
  }
  const o: Observation = {
    profile, app,
    sdk: { status: sdk.status, currentUserID: "", environment: "", region: "" },
    lastObserved: j.lastObserved, lastAction: facts.last, lastError: j.lastError, attempts: j.attempts,
    issuedVitalUserID: "", nextAttemptAt: j.nextAttemptAt, lastResolvedAt: j.lastResolvedAt,
    resolveInterval: opts.resolveIntervalMs ?? 0, sessionAppUserID: "",
    protectedDataUnavailable: sdk.protectedDataUnavailable, now, allowAPIKey: opts.allowAPIKey ?? false,
  };
  if (app.signedIn && j.appUserID === app.appUserID && j.vitalUserID !== "" && app.vitalUserID !== "" &&
    !eqFold(app.vitalUserID, j.vitalUserID)) {
    // The token source named another user than the app's, in an earlier
    // launch: the app still has the user it was told at sign-in.
    o.issuedVitalUserID = j.vitalUserID;
  }
  if (app.signedIn && app.appUserID === facts.issuedFor && facts.issued !== "") o.issuedVitalUserID = facts.issued;
  if (hasFlag(sdk.status, FlagSignedIn)) {
    o.sdk.currentUserID = sdk.currentUserID;
    if (j.appUserID !== "" && (j.vitalUserID === "" || eqFold(j.vitalUserID, sdk.currentUserID))) {
      // The journal knows whose session it is.
      o.sessionAppUserID = j.appUserID;
    }
    o.sdk.environment = sdk.environment;
    o.sdk.region = sdk.region;
  } else if (sdk.protectedDataUnavailable && profile.lockedKeychain === "reads-signed-out" &&
    stateSignedIn(j.lastObserved) && j.appUserID !== "") {
    // The status reads signed out while locked: the session is the one the
    // journal last observed, and its app user's.
    o.sessionAppUserID = j.appUserID;
  }
  return o;
}

/**
 * viaIdentify says which SDK call applies a token action on the profile:
 * identifyExternalUser where the plain signIn does not persist a new
 * session or a migration (iOS 1.4+), signIn elsewhere and for every
 * reauthentication.
 */
export function viaIdentify(p: Profile, a: Action): boolean {
  switch (a.type) {
    case "sign-in":
      return p.signInNeedsRelaunch;
    case "migrate":
      return !p.apiKeyMigrationPersists || p.signInNeedsRelaunch;
  }
  return false;
}

function eventOf(a: Action): Event | undefined {
  switch (a.type) {
    case "sign-out": return "sign-out";
    case "sign-in": return "sign-in";
    case "migrate": return "migrate";
    case "reauthenticate": return "reauthenticate";
  }
  return undefined;
}

/** Where the applied SDK steps lead from st in the profile's table ("" when there is no path). */
export function expectState(p: Profile, from: State | "", steps: readonly Action[]): State | "" {
  if (from === "") return "";
  let st: State = from;
  for (const a of steps) {
    const e = eventOf(a);
    if (!e) continue;
    const n = fsmNext(p, st, e);
    if (!n) return "";
    st = n;
  }
  return st;
}

interface Launch {
  j: JournalEntry;
  loaded: JournalEntry;
  out: Outcome;
  facts: LaunchFacts;
  minted: { app: string; vital: string; token: string } | undefined;
  from: State | "";
  steps: Action[];
  acted: boolean;
  resolvedAt: number;
  failure: RunError | undefined;
}

/**
 * Runner is the launch task of one installation. run observes, plans,
 * applies and records until the SDK agrees with the app, a backoff defers
 * the work, or the planner has no rule left. A run while another is in
 * progress joins it. run never rejects: how the launch ended is in the
 * Outcome (its error included).
 */
export class Runner {
  private readonly cfg: Required<Omit<RunnerConfig, "signal" | "log">> & Pick<RunnerConfig, "signal" | "log">;
  private cur: Promise<Outcome> | undefined;

  constructor(cfg: RunnerConfig) {
    if (!cfg.profile || !parseProfile(cfg.profile.name)) throw new Error(`reconcile: unknown profile "${cfg.profile?.name}"`);
    if (!cfg.sdk || !cfg.tokens || !cfg.journal || !cfg.app) {
      throw new Error("reconcile: sdk, tokens, journal and app are required");
    }
    this.cfg = {
      ...cfg,
      now: cfg.now ?? Date.now,
      rand: cfg.rand ?? Math.random,
      backoff: cfg.backoff ?? DefaultBackoff,
      allowAPIKey: cfg.allowAPIKey ?? false,
      resolveIntervalMs: cfg.resolveIntervalMs ?? 0,
    };
  }

  /** Runs one launch (or joins the one in progress). */
  run(): Promise<Outcome> {
    if (this.cur) return this.cur;
    const p = this.launch().finally(() => {
      this.cur = undefined;
    });
    this.cur = p;
    return p;
  }

  /**
   * Records an SDK error the app met outside a launch (getAccessToken's
   * needsReauthentication, say), so that the next launch plans from it.
   * Errors that are not the SDK's own are ignored. It waits for a run in
   * flight, and costs at most one journal write.
   */
  async recordSDKError(sdkError: SDKErrorName): Promise<void> {
    while (this.cur) await this.cur.catch(() => undefined);
    return recordSDKError(this.cfg.journal, sdkError);
  }

  private cancelled(): boolean {
    return this.cfg.signal?.aborted ?? false;
  }

  private log(line: string): void {
    this.cfg.log?.(line);
  }

  private async report(): Promise<SDKReport> {
    const sdk = this.cfg.sdk;
    const r: SDKReport = { status: 0, currentUserID: "", environment: "", region: "", protectedDataUnavailable: false };
    if (sdk.protectedDataAvailable && !(await sdk.protectedDataAvailable())) r.protectedDataUnavailable = true;
    r.status = await sdk.status();
    if (hasFlag(r.status, FlagSignedIn)) {
      r.currentUserID = await sdk.currentUserID();
      const env = sdk.environment ? await sdk.environment() : undefined;
      if (env) {
        r.environment = env.environment;
        r.region = env.region;
      }
    }
    return r;
  }

  private async launch(): Promise<Outcome> {
    const out: Outcome = {
      result: "failed", passes: [], state: "", retryAt: 0, interrupted: undefined, divergence: undefined, error: undefined,
    };
    if (this.cancelled()) {
      out.error = new CancelledError();
      return out;
    }
    let j: JournalEntry;
    try {
      j = await this.cfg.journal.load();
    } catch (e) {
      out.error = wrap("reconcile: load journal", e);
      return out;
    }
    if (this.cfg.sdk.initialize) {
      try {
        await this.cfg.sdk.initialize();
      } catch (e) {
        out.error = wrap("reconcile: initialise the SDK", e);
        return out;
      }
    }
    const l: Launch = {
      j: { ...j }, loaded: j, out, facts: { last: undefined, issued: "", issuedFor: "" }, minted: undefined,
      from: "", steps: [], acted: false, resolvedAt: 0, failure: undefined,
    };
    if (j.inFlight) {
      // The last run died mid-action; planning from what the SDK reports now is the recovery.
      out.interrupted = j.inFlight;
      l.j.inFlight = undefined;
      this.log("previous run was interrupted: " + actionString(j.inFlight));
    }
    try {
      for (let pass = 0; ; pass++) {
        const o = observe(l.j, this.cfg.app(), await this.report(), l.facts, this.cfg.profile, this.cfg.now(), this.cfg);
        const bad = validate(o);
        if (bad) {
          out.error = bad;
          return out;
        }
        const p = planObservation(o);
        if (pass === 0) l.from = p.observed;
        l.j.lastObserved = p.observed;
        out.state = p.observed;
        out.passes.push({ observation: o, plan: p, applied: [] });
        if (p.actions.length === 0) {
          out.error = await this.end(l, o, p);
          return out;
        }
        if (pass >= MaxPasses) {
          out.result = "failed";
          out.error = new NoConvergenceError();
          return out;
        }
        const stop = await this.apply(l, o, p);
        if (stop) {
          out.error = stop;
          return out;
        }
      }
    } catch (e) {
      out.result = "failed";
      out.error = e instanceof Error ? e : new Error(String(e));
      return out;
    }
  }

  private async save(l: Launch, next: JournalEntry, event: string): Promise<void> {
    try {
      await this.cfg.journal.save(next, event);
    } catch (e) {
      throw wrap(`reconcile: save journal (${event})`, e);
    }
    l.j = next;
  }

  // end finishes a launch whose last plan is empty: agreement, a deferral, or a terminal end.
  private async end(l: Launch, o: Observation, p: Plan): Promise<Error | undefined> {
    const out = l.out;
    if (p.terminal) {
      out.result = "terminal";
      const re = l.failure
        ? new RunError(l.failure.action, "terminal", 0, l.failure.err)
        : new RunError(l.j.lastAction, "terminal", 0, l.j.lastError);
      const next = { ...l.j, inFlight: undefined, attempts: 0, nextAttemptAt: 0 };
      this.log(`reconcile ends terminal after ${actionString(next.lastAction)} (${next.lastError})`);
      await this.save(l, next, `terminal after ${actionString(next.lastAction)} (${next.lastError})`);
      return re;
    }
    if (p.deferred) {
      out.result = "deferred";
      return undefined;
    }
    if (p.retryAt) {
      out.retryAt = p.retryAt;
      if (l.failure) {
        out.result = "failed";
        return l.failure;
      }
      out.result = "deferred";
      return undefined;
    }
    out.result = "nothing-to-do";
    if (l.acted) {
      out.result = "applied";
      const want = expectState(this.cfg.profile, l.from, l.steps);
      if (want !== p.observed) {
        out.divergence = { expected: want, observed: p.observed };
        this.log(`sdk diverged from the state machine: expected ${want || "(no path in the table)"}, observed ${p.observed}`);
      }
    }
    const next: JournalEntry = { ...l.j, inFlight: undefined, lastAction: undefined, lastError: "", attempts: 0, nextAttemptAt: 0 };
    if (o.app.signedIn) {
      next.appUserID = o.app.appUserID;
      next.vitalUserID = goalVitalUser(o);
    }
    if (stateSignedIn(p.observed)) {
      next.environment = o.sdk.environment;
      next.region = o.sdk.region;
    } else {
      next.environment = "";
      next.region = "";
    }
    if (entriesEqual(next, l.loaded) && !l.acted) return undefined; // a consistent launch writes nothing
    await this.save(l, next, l.acted ? "settled in " + p.observed : "observed " + p.observed);
    return undefined;
  }

  // apply applies a plan's actions in order, journaling each before and
  // after, and stops at the first failure, which it journals for the
  // planner. It returns an error only when the launch must end here.
  private async apply(l: Launch, o: Observation, p: Plan): Promise<Error | undefined> {
    const pass = l.out.passes[l.out.passes.length - 1]!;
    for (const a of p.actions) {
      if (this.cancelled()) return this.fail(l, pass, a, new CancelledError());
      const start: JournalEntry = { ...l.j, inFlight: a };
      if ((a.type === "sign-in" || a.type === "migrate") && o.app.signedIn && start.appUserID !== o.app.appUserID) {
        // Any session after this action, crash or not, is this app user's.
        start.appUserID = o.app.appUserID;
        start.vitalUserID = vitalUserOf(a);
      }
      const bad = validateEntry(start, "start");
      if (bad) throw bad;
      if (a.type !== "sign-out") {
        // A sign-out is local and idempotent and moves no attribution: a
        // process that dies before it is durable leaves the session for the
        // next launch to sign out again, so no entry stands before it (Go's
        // journaledBefore).
        try {
          await this.cfg.journal.save(start, "start " + actionString(a));
        } catch (e) {
          throw wrap(`reconcile: journal before ${actionString(a)}`, e);
        }
      }
      l.j = start;
      this.log(`reconcile action ${actionString(a)} from ${p.observed} on ${this.cfg.profile.name}`);
      let err: unknown;
      try {
        await this.do(l, o, a);
      } catch (e) {
        err = e ?? new Error("rejected without a reason");
      }
      if (err !== undefined) return this.fail(l, pass, a, err);
      pass.applied.push({ action: a, errorClass: "", sdkError: "" });
      l.acted = true;
      l.facts.last = a;
      if (a.type !== "resolve") l.steps.push(a);
      const done: JournalEntry = { ...l.j, inFlight: undefined, lastAction: a, lastError: "" };
      if (l.facts.issued !== "" && l.facts.issuedFor === o.app.appUserID) {
        done.appUserID = l.facts.issuedFor;
        done.vitalUserID = l.facts.issued;
        done.lastResolvedAt = l.resolvedAt;
      }
      await this.save(l, done, "done " + actionString(a));
    }
    return undefined;
  }

  private async fail(l: Launch, pass: Pass, a: Action, err: unknown): Promise<Error | undefined> {
    const [cls, sdkErr, retryAfter] = classifyError(err, this.cancelled());
    pass.applied.push({ action: a, error: err, errorClass: cls, sdkError: sdkErr });
    const next: JournalEntry = { ...l.j, inFlight: undefined };
    let event: string;
    switch (cls) {
      case "stale":
        next.appUserID = l.facts.issuedFor;
        next.vitalUserID = l.facts.issued;
        next.lastResolvedAt = l.resolvedAt;
        this.log(`token source names another Vital user for ${actionString(a)}`);
        await this.save(l, next, `stale ${actionString(a)}: token source names ${l.facts.issued}`);
        return undefined;
      case "cancelled":
        event = "cancelled " + actionString(a);
        break;
      default:
        l.facts.last = a;
        next.lastAction = a;
        next.lastError = sdkErr;
        next.attempts++;
        if (cls === "transient") {
          next.nextAttemptAt = this.cfg.now() + backoffDelay(this.cfg.backoff, next.attempts, await this.cfg.rand(), retryAfter);
        }
        event = `failed ${actionString(a)} (${cls}: ${sdkErr})`;
    }
    const re = new RunError(a, cls, next.nextAttemptAt, err);
    this.log(`reconcile action failed: ${actionString(a)} (${cls}: ${sdkErr}), attempt ${next.attempts}`);
    await this.save(l, next, event);
    l.failure = re;
    if (cls === "cancelled") {
      l.out.result = "failed";
      return re;
    }
    return undefined;
  }

  private async do(l: Launch, o: Observation, a: Action): Promise<void> {
    const { sdk, tokens } = this.cfg;
    switch (a.type) {
      case "sign-out":
        return sdk.signOut();
      case "resolve": {
        if (tokens.resolveVitalUser) {
          const r = await tokens.resolveVitalUser(a.appUser);
          this.learn(l, a.appUser, r.user_id);
          return;
        }
        const m = await tokens.signInToken(a.appUser);
        this.learn(l, a.appUser, m.user_id);
        l.minted = { app: a.appUser, vital: m.user_id, token: m.sign_in_token };
        return;
      }
      default: {
        const app = o.app.appUserID;
        const planned = a.vitalUser;
        const [v, tok] = await this.token(l, app, planned);
        this.learn(l, app, v);
        if (planned !== "" && !eqFold(v, planned)) {
          l.minted = { app, vital: v, token: tok };
          throw new StaleError(planned, v);
        }
        if (sdk.identifyExternalUser && viaIdentify(this.cfg.profile, a)) return sdk.identifyExternalUser(app, tok);
        return sdk.signIn(tok);
      }
    }
  }

  private learn(l: Launch, app: string, vital: string): void {
    l.facts.issued = vital;
    l.facts.issuedFor = app;
    l.resolvedAt = this.cfg.now();
  }

  // token returns the token a previous pass minted and could not use, when it fits, or a fresh one.
  private async token(l: Launch, app: string, planned: string): Promise<[string, string]> {
    const m = l.minted;
    l.minted = undefined;
    if (m && m.app === app && (planned === "" || eqFold(m.vital, planned))) return [m.vital, m.token];
    const r = await this.cfg.tokens.signInToken(app);
    if (!r || typeof r.user_id !== "string" || typeof r.sign_in_token !== "string" || !r.user_id || !r.sign_in_token) {
      throw new Error("token source: the answer lacks user_id or sign_in_token");
    }
    return [r.user_id, r.sign_in_token];
  }
}

/**
 * recordSDKError is Runner.recordSDKError for code that has no runner at
 * hand: it records sdkError in j (one write at most; none for an error that
 * is not the SDK's own, or one already recorded).
 */
export async function recordSDKError(j: Journal, sdkError: SDKErrorName): Promise<void> {
  if (sdkError === "" || sdkError === "network" || sdkError === "unknown") return;
  const e = await j.load();
  if (e.lastError === sdkError && e.lastAction === undefined) return;
  await j.save({ ...e, lastAction: undefined, lastError: sdkError, attempts: 0 }, "recorded " + sdkError);
}

function wrap(what: string, e: unknown): Error {
  const err = new Error(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  (err as { cause?: unknown }).cause = e;
  return err;
}
