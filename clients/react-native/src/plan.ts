// The planner: a pure function of one Observation. A port of
// reconcile/plan.go, rule for rule; the rules are listed in Go's Plan doc
// comment and held by the scenario files of reconcile/testdata/plan, which
// this package runs as exported vectors.

import { type Action, actionString, sameStep, resolve, signIn as signInAction, signOut, migrate as migrateAction, reauthenticate as reauthAction, toWire } from "./action.js";
import { type State, FlagSignedIn, classify, hasFlag, stateSignedIn } from "./fsm.js";
import { type Observation, formatTime } from "./observation.js";

export type Discrepancy =
  | "consistent" | "invalid" | "backing-off" | "app-signed-out" | "sdk-signed-out" | "user-deleted" | "wrong-user"
  | "api-key-mode" | "api-key-incompatible" | "reauth-required" | "vital-user-unknown" | "already-signed-in"
  | "migration-not-taken" | "diverged" | "protected-data-locked" | "session-without-record" | "dead-session"
  | "resolve-due";

export interface Plan {
  /** Applied in order; empty when there is nothing to do. */
  actions: readonly Action[];
  /** Unix ms; set when network work is deferred by backoff, else 0. */
  retryAt: number;
  /** The state the observation classified to ("" if invalid). */
  observed: State | "";
  discrepancy: Discrepancy;
  /** Work remains but the last error has no rule left: the launch ends without a retry schedule. */
  terminal: boolean;
  /** Nothing can be decided now (protected data locked): nothing is applied or written but the sign-out of a session known to be another's. */
  deferred: boolean;
}

/** How often a profile that cannot detect a deleted user asks the token source again (24 h). */
export const DefaultResolveInterval = 24 * 3600 * 1000;

const NONE: readonly Action[] = Object.freeze([]);

function mk(actions: readonly Action[], discrepancy: Discrepancy): Plan {
  return { actions, retryAt: 0, observed: "", discrepancy, terminal: false, deferred: false };
}

/** The Vital user the app's session should be signed in as; "" when unknown or signed out. */
export function goalVitalUser(o: Observation): string {
  if (!o.app.signedIn) return "";
  return o.issuedVitalUserID !== "" ? o.issuedVitalUserID : o.app.vitalUserID;
}

/**
 * plan returns the fewest actions that bring the SDK in line with the app.
 * It is pure and deterministic. An invalid observation plans nothing, with
 * discrepancy "invalid"; callers validate input first.
 */
export function plan(o: Observation): Plan {
  let st: State | "" = "";
  let invalid = false;
  try {
    st = classify(o.sdk.status, o.lastObserved, o.profile);
  } catch {
    invalid = true;
  }
  if (o.protectedDataUnavailable) return lockedPlan(o, st, invalid);
  if (invalid) return mk(NONE, "invalid");
  const st1 = st as State;
  const p = decide(o, st1);
  p.observed = st1;
  if (p.actions.length === 0) return p;
  if (o.lastAction && o.lastError === "" &&
    (sameStep(p.actions[0], o.lastAction) || sameStep(p.actions[0], asIssued(o, o.lastAction)))) {
    // The action succeeded and the SDK does not show it: planning it again would loop.
    return { ...mk(NONE, "diverged"), observed: st1 };
  }
  if (gaveUp(o)) return { ...mk(NONE, p.discrepancy), observed: st1, terminal: true };
  if (needsNetwork(p.actions) && o.nextAttemptAt > o.now) {
    // The sign-outs that lead the plan are local: they run now, so that a
    // session the app no longer wants does not keep syncing; the rest waits.
    return { ...mk(leadingSignOuts(p.actions), "backing-off"), observed: st1, retryAt: o.nextAttemptAt };
  }
  return p;
}

/**
 * asIssued is a token action that named no Vital user as it was applied:
 * with the token source's token, so for its user (Go's
 * Observation.asIssued).
 */
function asIssued(o: Observation, a: Action): Action {
  if (!("vitalUser" in a) || a.vitalUser !== "" || o.issuedVitalUserID === "") return a;
  return { ...a, vitalUser: o.issuedVitalUserID };
}

/**
 * lockedPlan is the plan while protected data is unavailable: deferred,
 * with nothing done but the sign-out of a session known to be another's
 * (Go's Observation.lockedPlan): on iOS 1.4+ the status tells, as it
 * would unlocked; on iOS ≤1.3, whose status reads signed out, the journal
 * does.
 */
function lockedPlan(o: Observation, st: State | "", invalid: boolean): Plan {
  let actions: readonly Action[] = NONE;
  if (o.profile.lockedKeychain === "calls-fail" && !invalid) {
    const q = decide(o, st as State);
    if (q.discrepancy === "wrong-user" || q.discrepancy === "app-signed-out") actions = leadingSignOuts(q.actions);
  } else if (o.profile.lockedKeychain === "reads-signed-out" && !hasFlag(o.sdk.status, FlagSignedIn)) {
    if (!o.app.signedIn && o.lastAction?.type !== "sign-out") {
      // No session is the app's while it is signed out, and the status
      // cannot say whether one is there: sign out, once.
      actions = [signOut];
    } else if (o.app.signedIn && stateSignedIn(o.lastObserved) && o.sessionAppUserID !== "" &&
      o.sessionAppUserID !== o.app.appUserID) {
      actions = [signOut];
    }
  }
  return { ...mk(actions, "protected-data-locked"), observed: st, deferred: true };
}

function leadingSignOuts(actions: readonly Action[]): readonly Action[] {
  let n = 0;
  while (n < actions.length && actions[n]!.type === "sign-out") n++;
  return n === 0 ? NONE : actions.slice(0, n);
}

function gaveUp(o: Observation): boolean {
  switch (o.lastError) {
    case "":
    case "network":
      return false;
    case "unknown":
      return o.attempts >= 1;
  }
  return o.attempts >= 2;
}

/** Case-insensitive equality of user IDs (iOS 1.4+ reports UUIDs in upper case). */
export function eqFold(a: string, b: string): boolean {
  return a === b || (a.length === b.length && a.toLowerCase() === b.toLowerCase());
}

// The token actions for Vital user v, saying how each is applied: the SDK
// call the profile needs (identifyExternalUser where the profile has it and
// its plain signIn does not persist the action), and whether the launch's
// unused token fits it.
function signIn(o: Observation, v: string): Action {
  const p = o.profile;
  return signInAction(v, { identify: p.hasIdentify && p.signInNeedsRelaunch, reuse: reuse(o, v) });
}

function migrate(o: Observation, v: string): Action {
  const p = o.profile;
  return migrateAction(v, { identify: p.hasIdentify && (!p.apiKeyMigrationPersists || p.signInNeedsRelaunch), reuse: reuse(o, v) });
}

function reauthenticate(o: Observation, v: string): Action {
  return reauthAction(v, { reuse: reuse(o, v) });
}

function reuse(o: Observation, v: string): boolean {
  return o.unusedToken !== "" && (v === "" || eqFold(v, o.unusedToken));
}

function decide(o: Observation, st: State): Plan {
  if (!o.app.signedIn) {
    if (st === "signed-out") return mk(NONE, "consistent");
    return mk([signOut], "app-signed-out");
  }
  const v = goalVitalUser(o);
  switch (st) {
    case "signed-out":
    case "configured":
    case "user-deleted": {
      if (o.lastError === "alreadySignedIn") {
        // A session the status does not show (iOS 1.4+ after a deprecated
        // signIn in the same process): clear it, then sign in.
        return mk([signOut, signIn(o, v)], "already-signed-in");
      }
      return mk([signIn(o, v)], st === "user-deleted" ? "user-deleted" : "sdk-signed-out");
    }
  }
  // The SDK holds a session of o.sdk.currentUserID.
  if (o.lastError === "notSignedIn") return mk([signOut, signIn(o, v)], "session-without-record");
  if (o.lastError === "refreshFailed") return mk([signOut, signIn(o, v)], "dead-session");
  if (o.sessionAppUserID !== "" && o.sessionAppUserID !== o.app.appUserID) {
    // The session is another app user's (a user switch): end it without
    // asking the token source first.
    return mk([signOut, signIn(o, v)], "wrong-user");
  }
  if (v === "") {
    if (st === "api-key" && o.sessionAppUserID === "" && (!o.allowAPIKey || !envMatch(o))) {
      // An API-key session nothing attributes to the app's user, which
      // policy ends either way (in place or by a sign-out): it may be
      // another person's, so it ends before anything needs the network.
      return mk([signOut, signIn(o, v)], "api-key-incompatible");
    }
    return mk([resolve(o.app.appUserID)], "vital-user-unknown");
  }
  if (resolveDue(o, st)) return mk([resolve(o.app.appUserID)], "resolve-due");
  const same = eqFold(o.sdk.currentUserID, v);
  switch (st) {
    case "token":
      if (same && !envMismatch(o)) {
        if (o.lastError === "needsReauthentication") return mk([reauthenticate(o, v)], "reauth-required");
        return mk(NONE, "consistent");
      }
      break;
    case "reauth-required":
      if (same && !envMismatch(o)) return mk([reauthenticate(o, v)], "reauth-required");
      break;
    case "api-key":
      if (same && envMatch(o)) {
        if (o.allowAPIKey) return mk(NONE, "consistent");
        if (o.lastAction?.type === "migrate" && o.lastError === "") {
          // The migrate succeeded and the SDK is still in API-key mode:
          // identify returned at once (reference §2.7).
          return mk([signOut, signIn(o, v)], "migration-not-taken");
        }
        return mk([migrate(o, v)], "api-key-mode");
      }
      return mk([signOut, signIn(o, v)], "api-key-incompatible");
  }
  return mk([signOut, signIn(o, v)], "wrong-user");
}

function resolveDue(o: Observation, st: State): boolean {
  if (o.profile.detectsDeletion || st !== "token" || o.issuedVitalUserID !== "") return false;
  const every = o.resolveInterval || DefaultResolveInterval;
  return o.lastResolvedAt === 0 || !(o.now < o.lastResolvedAt + every);
}

function needsNetwork(actions: readonly Action[]): boolean {
  return actions.some((a) => a.type !== "sign-out");
}

function envMismatch(o: Observation): boolean {
  return (
    (o.sdk.environment !== "" && o.app.environment !== "" && o.sdk.environment !== o.app.environment) ||
    (o.sdk.region !== "" && o.app.region !== "" && o.sdk.region !== o.app.region)
  );
}

function envMatch(o: Observation): boolean {
  return o.sdk.environment !== "" && o.sdk.environment === o.app.environment && o.sdk.region !== "" && o.sdk.region === o.app.region;
}

/** Renders the plan as Go's Plan.String does. */
export function planString(p: Plan): string {
  const acts = p.actions.map(actionString).join(", ");
  if (p.actions.length > 0 && p.retryAt) return acts + ", then wait until " + formatTime(Math.floor(p.retryAt / 1000) * 1000);
  if (p.actions.length > 0 && p.deferred) return acts + ", then defer to a later launch";
  if (p.actions.length === 0) {
    if (p.terminal) return "(terminal: no rule after the last error)";
    if (p.deferred) return "(deferred to a later launch)";
    if (p.retryAt) return "(wait until " + formatTime(Math.floor(p.retryAt / 1000) * 1000) + ")";
    return "(nothing)";
  }
  return acts;
}

/** The plan's JSON form, as Go's Plan.MarshalJSON writes it. */
export function planToJSON(p: Plan): Record<string, unknown> {
  const w: Record<string, unknown> = { actions: p.actions.map(toWire), retry_at: p.retryAt ? formatTime(p.retryAt) : null };
  if (p.terminal) w.terminal = true;
  if (p.deferred) w.deferred = true;
  return w;
}
