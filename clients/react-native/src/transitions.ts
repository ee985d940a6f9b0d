// The journal's transitions: pure functions of the entry, the action and
// how it ended (Go's JournalEntry.started, ended, terminal, settled,
// recorded). The runner saves what they return, with their event.

import { type Action, actionString, vitalUserOf } from "./action.js";
import type { ErrorClass, SDKErrorName } from "./errors.js";
import { type State, stateSignedIn } from "./fsm.js";
import { type JournalEntry, entriesEqual } from "./journal.js";
import type { Observation } from "./observation.js";
import { goalVitalUser } from "./plan.js";
import { type Backoff, backoffDelay } from "./backoff.js";
import type { Answer } from "./observe.js";

/** How an applied action ended: its class ("" for success), SDK error, Retry-After, time and jitter draw. */
export interface ActionEnd {
  errorClass: ErrorClass;
  sdkError: SDKErrorName;
  retryAfterMs: number;
  at: number;
  draw: number;
}

/**
 * journaledBefore reports whether a's start entry is written before a is
 * applied (Go's journaledBefore). A sign-out is local and idempotent and
 * moves no attribution: a process that dies before it is durable leaves the
 * session for the next launch to sign out again, so no entry stands between
 * a switch and the end of the previous user's session.
 */
export function journaledBefore(a: Action): boolean {
  return a.type !== "sign-out";
}

/**
 * The entry journaled before a is applied for appUser ("" when the app is
 * signed out): a in flight, and the attribution rule: a sign-in or a
 * migration for another app user than the entry's moves the entry to that
 * user (and the Vital user the action names) when it starts, since any
 * session after it, crash or not, is that user's.
 */
export function started(e: JournalEntry, a: Action, appUser: string): [JournalEntry, string] {
  const n: JournalEntry = { ...e, inFlight: a };
  if ((a.type === "sign-in" || a.type === "migrate") && appUser !== "" && e.appUserID !== appUser) {
    n.appUserID = appUser;
    n.vitalUserID = vitalUserOf(a);
  }
  return [n, "start " + actionString(a)];
}

/** The entry journaled after a ended as end, with ans the token source's last answer in the launch. */
export function ended(e: JournalEntry, a: Action, end: ActionEnd, ans: Answer, appUser: string, b: Backoff): [JournalEntry, string] {
  const n: JournalEntry = { ...e, inFlight: undefined };
  switch (end.errorClass) {
    case "":
      n.lastAction = a;
      n.lastError = "";
      if (ans.vitalUser !== "" && ans.appUser === appUser) {
        n.appUserID = ans.appUser;
        n.vitalUserID = ans.vitalUser;
        n.lastResolvedAt = ans.at;
      }
      return [n, "done " + actionString(a)];
    case "stale":
      n.appUserID = ans.appUser;
      n.vitalUserID = ans.vitalUser;
      n.lastResolvedAt = ans.at;
      return [n, `stale ${actionString(a)}: token source names ${ans.vitalUser}`];
    case "cancelled":
      return [n, "cancelled " + actionString(a)];
  }
  n.lastAction = a;
  n.lastError = end.sdkError;
  n.attempts++;
  if (end.errorClass === "transient") n.nextAttemptAt = end.at + backoffDelay(b, n.attempts, end.draw, end.retryAfterMs);
  return [n, `failed ${actionString(a)} (${end.errorClass}: ${end.sdkError})`];
}

/** The entry of a launch that ends with no rule left: the error stays, the count and backoff start afresh. */
export function terminal(e: JournalEntry): [JournalEntry, string] {
  return [{ ...e, inFlight: undefined, attempts: 0, nextAttemptAt: 0 }, `terminal after ${actionString(e.lastAction)} (${e.lastError})`];
}

/**
 * The entry of a launch that ends in agreement in state st, its event, and
 * whether it is written: a launch that applied nothing and whose loaded
 * entry is already that one writes nothing.
 */
export function settled(e: JournalEntry, loaded: JournalEntry, o: Observation, st: State | "", acted: boolean): [JournalEntry, string, boolean] {
  const n: JournalEntry = { ...e, inFlight: undefined, lastAction: undefined, lastError: "", attempts: 0, nextAttemptAt: 0 };
  if (o.app.signedIn) {
    n.appUserID = o.app.appUserID;
    n.vitalUserID = goalVitalUser(o);
  }
  if (stateSignedIn(st)) {
    n.environment = o.sdk.environment;
    n.region = o.sdk.region;
  } else {
    n.environment = "";
    n.region = "";
  }
  if (!acted) return [n, "observed " + st, !entriesEqual(n, loaded)];
  return [n, "settled in " + st, true];
}

/** The entry after the app recorded SDK error err between launches, and whether it changed. */
export function recorded(e: JournalEntry, err: SDKErrorName): [JournalEntry, string, boolean] {
  if (e.lastError === err && e.lastAction === undefined) return [e, "", false];
  return [{ ...e, lastAction: undefined, lastError: err, attempts: 0 }, "recorded " + err, true];
}
