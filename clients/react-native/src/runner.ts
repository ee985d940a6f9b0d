// The runner: observe -> plan -> apply -> record, the launch task of one
// installation. A port of reconcile/runner.go: it decides nothing, it
// applies what the planner says and reports back through the journal.

import { type Action, actionString, callOf, reuses, vitalUserOf } from "./action.js";
import {
  type ErrorClass, type SDKErrorName, CancelledError, RunError, classifyError,
} from "./errors.js";
import {
  type Environment, type Event, type Profile, type Region, type State, type Status, FlagSignedIn, hasFlag, next as fsmNext,
  parseProfile,
} from "./fsm.js";
import type { Journal, JournalEntry } from "./journal.js";
import { type ActionEnd, ended, journaledBefore, recorded, settled, started, terminal } from "./transitions.js";
import { type AppSession, type Observation, validate } from "./observation.js";
import { type Plan, eqFold, plan as planObservation } from "./plan.js";
import { type Backoff, DefaultBackoff } from "./backoff.js";
import { type Answer, type Reading, type SDKReport, noAnswer, observe } from "./observe.js";

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
  /** The action this launch applied last, and the token source's last answer. */
  last: Action | undefined;
  answer: Answer;
  /** The token of an unused answer (answer.unused). */
  token: string;
  from: State | "";
  steps: Action[];
  acted: boolean;
  failure: RunError | undefined;
}

/** The report of a step not applied: its token carries another Vital user than the action names. */
export class NotAppliedError extends Error {
  constructor(readonly planned: string, readonly issued: string) {
    super(`token source names Vital user ${issued}, the plan named ${planned}`);
    this.name = "NotAppliedError";
  }
}

/** Whether the planner applies some action through identifyExternalUser on p. */
export function needsIdentify(p: Profile): boolean {
  return p.hasIdentify && (p.signInNeedsRelaunch || !p.apiKeyMigrationPersists);
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
    if (needsIdentify(cfg.profile) && !cfg.sdk.identifyExternalUser) {
      throw new Error(`reconcile: profile ${cfg.profile.name} signs in through identifyExternalUser; the SDK has none`);
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

  // read takes a pass's reading from the SDK, the app and the clock.
  private async read(l: Launch): Promise<Reading> {
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
    return {
      profile: this.cfg.profile, allowAPIKey: this.cfg.allowAPIKey, resolveIntervalMs: this.cfg.resolveIntervalMs,
      app: this.cfg.app(), sdk: r, lastAction: l.last, answer: l.answer, now: this.cfg.now(),
    };
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
      j: { ...j, inFlight: undefined }, loaded: j, out, last: undefined, answer: noAnswer, token: "",
      from: "", steps: [], acted: false, failure: undefined,
    };
    if (j.inFlight) {
      // The last run died mid-action; planning from what the SDK reports now is the recovery.
      out.interrupted = j.inFlight;
      this.log("previous run was interrupted: " + actionString(j.inFlight));
    }
    try {
      for (let pass = 0; ; pass++) {
        const o = observe(l.j, await this.read(l));
        const bad = validate(o);
        if (bad) {
          out.error = bad;
          return out;
        }
        const p = planObservation(o);
        if (pass === 0) l.from = p.observed;
        l.j = { ...l.j, lastObserved: p.observed };
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
      const [next, event] = terminal(l.j);
      this.log(`reconcile ends terminal after ${actionString(next.lastAction)} (${next.lastError})`);
      await this.save(l, next, event);
      return re;
    }
    if (p.deferred) {
      out.result = "deferred";
      return undefined; // nothing can be decided now: nothing written
    }
    if (p.retryAt) {
      out.retryAt = p.retryAt;
      if (l.failure) {
        out.result = "failed";
        return l.failure;
      }
      out.result = "deferred";
      return undefined; // deferred: nothing written
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
    const [next, event, write] = settled(l.j, l.loaded, o, p.observed, l.acted);
    if (write) await this.save(l, next, event);
    return undefined;
  }

  // apply applies a plan's actions in order, journaling each before (but a
  // sign-out: journaledBefore) and after, and stops at the first that did not succeed, whose end it
  // journals for the planner. It returns an error only when the launch
  // must end here.
  private async apply(l: Launch, o: Observation, p: Plan): Promise<Error | undefined> {
    const pass = l.out.passes[l.out.passes.length - 1]!;
    const app = o.app.appUserID;
    for (const a of p.actions) {
      if (this.cancelled()) return this.failed(l, pass, a, app, new CancelledError());
      const [start, startEvent] = started(l.j, a, app);
      if (journaledBefore(a)) {
        try {
          await this.cfg.journal.save(start, startEvent);
        } catch (e) {
          throw wrap(`reconcile: journal before ${actionString(a)}`, e);
        }
      }
      l.j = start;
      this.log(`reconcile action ${actionString(a)} from ${p.observed} on ${this.cfg.profile.name}`);
      let stale = false;
      try {
        stale = await this.do(l, app, a);
      } catch (e) {
        return this.failed(l, pass, a, app, e ?? new Error("rejected without a reason"));
      }
      const end: ActionEnd = { errorClass: "", sdkError: "", retryAfterMs: 0, at: 0, draw: 0 };
      if (stale) {
        end.errorClass = "stale";
        pass.applied.push({ action: a, error: new NotAppliedError(vitalUserOf(a), l.answer.vitalUser), errorClass: "stale", sdkError: "" });
        this.log(`token source names another Vital user than ${actionString(a)}`);
      } else {
        pass.applied.push({ action: a, errorClass: "", sdkError: "" });
        l.acted = true;
        l.last = a;
        if (a.type !== "resolve") l.steps.push(a);
      }
      const [done, event] = ended(l.j, a, end, l.answer, app, this.cfg.backoff);
      await this.save(l, done, event);
      if (stale) return undefined;
    }
    return undefined;
  }

  // failed records an action that failed and ends the pass.
  private async failed(l: Launch, pass: Pass, a: Action, app: string, err: unknown): Promise<Error | undefined> {
    const [cls, sdkErr, retryAfter] = classifyError(err, this.cancelled());
    pass.applied.push({ action: a, error: err, errorClass: cls, sdkError: sdkErr });
    const end: ActionEnd = { errorClass: cls, sdkError: sdkErr, retryAfterMs: retryAfter, at: 0, draw: 0 };
    if (cls !== "cancelled") l.last = a;
    if (cls === "transient") {
      end.at = this.cfg.now();
      end.draw = await this.cfg.rand();
    }
    const [next, event] = ended(l.j, a, end, l.answer, app, this.cfg.backoff);
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

  // do performs one action for app user app, through the SDK call and with
  // the token the action names. A token action whose token carries another
  // Vital user than it names is not applied (stale): the token is kept,
  // unused, and the answer says so.
  private async do(l: Launch, app: string, a: Action): Promise<boolean> {
    const { sdk, tokens } = this.cfg;
    if (a.type === "sign-out") {
      await sdk.signOut();
      return false;
    }
    if (a.type === "resolve") {
      let v: string;
      let minted = "";
      if (tokens.resolveVitalUser) {
        v = (await tokens.resolveVitalUser(a.appUser)).user_id;
      } else {
        // No resolve call: mint, and keep the token for the sign-in that may follow.
        const m = await this.mint(a.appUser);
        [v, minted] = [m[0], m[1]];
      }
      const unused = minted !== "" || (l.answer.unused && l.answer.appUser === a.appUser && l.answer.vitalUser === v);
      l.answer = { appUser: a.appUser, vitalUser: v, at: this.cfg.now(), unused };
      if (minted) l.token = minted;
      else if (!unused) l.token = "";
      return false;
    }
    let v = l.answer.vitalUser;
    let tok = l.token;
    l.answer = { ...l.answer, unused: false };
    l.token = "";
    if (!reuses(a) || tok === "") [v, tok] = await this.mint(app);
    l.answer = { appUser: app, vitalUser: v, at: this.cfg.now(), unused: false };
    if (a.vitalUser !== "" && !eqFold(a.vitalUser, v)) {
      l.answer.unused = true;
      l.token = tok;
      return true;
    }
    if (callOf(a) === "identifyExternalUser") {
      if (!sdk.identifyExternalUser) throw new Error("reconcile: the SDK has no identifyExternalUser");
      await sdk.identifyExternalUser(app, tok);
    } else {
      await sdk.signIn(tok);
    }
    return false;
  }

  private async mint(app: string): Promise<[string, string]> {
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
  const [next, event, changed] = recorded(await j.load(), sdkError);
  if (changed) await j.save(next, event);
}

function wrap(what: string, e: unknown): Error {
  const err = new Error(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  (err as { cause?: unknown }).cause = e;
  return err;
}
