// Observe: the one pure function that builds the facts the planner reads
// from the journal entry and one pass's reading (Go's reconcile.Observe).

import type { Action } from "./action.js";
import { type Environment, type Profile, type Region, type Status, FlagSignedIn, hasFlag, stateSignedIn } from "./fsm.js";
import type { JournalEntry } from "./journal.js";
import type { AppSession, Observation } from "./observation.js";
import { eqFold } from "./plan.js";

/** What the SDK reported in one observation. */
export interface SDKReport {
  status: Status;
  currentUserID: string;
  environment: Environment | "";
  region: Region | "";
  protectedDataUnavailable: boolean;
}

/**
 * The token source's last word in a launch: the Vital user it named for an
 * app user and when (Unix ms), and whether a token it minted with that
 * answer is still unused (its action named another user). The token itself
 * stays with the runner.
 */
export interface Answer {
  appUser: string;
  vitalUser: string;
  at: number;
  unused: boolean;
}

export const noAnswer: Answer = Object.freeze({ appUser: "", vitalUser: "", at: 0, unused: false });

/** What one pass reads besides the journal (Go's reconcile.Reading). */
export interface Reading {
  profile: Profile;
  allowAPIKey: boolean;
  resolveIntervalMs: number;
  app: Partial<AppSession> & { signedIn: boolean };
  sdk: SDKReport;
  lastAction: Action | undefined;
  answer: Answer;
  now: number;
}

/**
 * observe builds the observation the planner decides from out of the
 * journal entry and a pass's reading. It is pure, and the only place a fact
 * the planner reads is worked out (the rules of Go's reconcile.Observe).
 */
export function observe(e: JournalEntry, r: Reading): Observation {
  const app: AppSession = {
    signedIn: r.app.signedIn, appUserID: r.app.appUserID ?? "", vitalUserID: r.app.vitalUserID ?? "",
    environment: r.app.environment ?? "", region: r.app.region ?? "",
  };
  if (!app.signedIn) {
    app.appUserID = "";
    app.vitalUserID = "";
  }
  const mine = app.signedIn && e.appUserID === app.appUserID;
  if (mine && app.vitalUserID === "") app.vitalUserID = e.vitalUserID;
  const signedIn = hasFlag(r.sdk.status, FlagSignedIn);
  const o: Observation = {
    profile: r.profile, app,
    sdk: signedIn
      ? { status: r.sdk.status, currentUserID: r.sdk.currentUserID, environment: r.sdk.environment, region: r.sdk.region }
      : { status: r.sdk.status, currentUserID: "", environment: "", region: "" },
    lastObserved: e.lastObserved, lastAction: r.lastAction, lastError: e.lastError, attempts: e.attempts,
    issuedVitalUserID: "", unusedToken: "", nextAttemptAt: e.nextAttemptAt, lastResolvedAt: e.lastResolvedAt,
    resolveInterval: r.resolveIntervalMs, sessionAppUserID: "", protectedDataUnavailable: r.sdk.protectedDataUnavailable,
    now: r.now, allowAPIKey: r.allowAPIKey,
  };
  if (mine && e.vitalUserID !== "" && app.vitalUserID !== "" && !eqFold(app.vitalUserID, e.vitalUserID)) {
    // The token source named another user than the app's in an earlier
    // launch; the app kept the user it was told at sign-in.
    o.issuedVitalUserID = e.vitalUserID;
  }
  const ans = r.answer;
  if (app.signedIn && ans.appUser === app.appUserID) {
    if (ans.vitalUser !== "") {
      o.issuedVitalUserID = ans.vitalUser;
      if (ans.unused) o.unusedToken = ans.vitalUser;
    }
    if (ans.at > o.lastResolvedAt) o.lastResolvedAt = ans.at;
  }
  if (signedIn && e.appUserID !== "" && (e.vitalUserID === "" || eqFold(e.vitalUserID, r.sdk.currentUserID))) {
    o.sessionAppUserID = e.appUserID;
  } else if (!signedIn && r.sdk.protectedDataUnavailable && r.profile.lockedKeychain === "reads-signed-out" &&
    stateSignedIn(e.lastObserved) && e.appUserID !== "") {
    // The status reads signed out while locked: the session is the one the
    // journal last observed, and its app user's.
    o.sessionAppUserID = e.appUserID;
  }
  return o;
}
