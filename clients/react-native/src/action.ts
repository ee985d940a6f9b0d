// Actions are plain values: the steps of a plan. A port of reconcile/action.go.

export type ActionType = "sign-out" | "sign-in" | "migrate" | "reauthenticate" | "resolve";

/**
 * A token action (sign-in, migrate, reauthenticate) names the Vital user
 * its token must carry ("" when the token source decides) and how the
 * planner says it is applied: identify, through identifyExternalUser(app
 * user, token) rather than signIn(token) (never for a reauthentication);
 * reuse, with the token an earlier pass of the launch minted and did not
 * apply rather than a fresh one. How an action is applied is not persisted
 * (formatAction): the planner derives it afresh every pass.
 */
export interface TokenAction {
  readonly type: "sign-in" | "migrate" | "reauthenticate";
  readonly vitalUser: string;
  readonly identify?: boolean;
  readonly reuse?: boolean;
}

export type Action = { readonly type: "sign-out" } | TokenAction | { readonly type: "resolve"; readonly appUser: string };

export const signOut: Action = Object.freeze({ type: "sign-out" });
export const signIn = (vitalUser: string, how: { identify?: boolean; reuse?: boolean } = {}): Action => tokenAction("sign-in", vitalUser, how);
export const migrate = (vitalUser: string, how: { identify?: boolean; reuse?: boolean } = {}): Action => tokenAction("migrate", vitalUser, how);
export const reauthenticate = (vitalUser: string, how: { reuse?: boolean } = {}): Action => tokenAction("reauthenticate", vitalUser, how);
export const resolve = (appUser: string): Action => ({ type: "resolve", appUser });

function tokenAction(type: TokenAction["type"], vitalUser: string, how: { identify?: boolean; reuse?: boolean }): TokenAction {
  const a: { type: TokenAction["type"]; vitalUser: string; identify?: boolean; reuse?: boolean } = { type, vitalUser };
  if (how.identify && type !== "reauthenticate") a.identify = true;
  if (how.reuse) a.reuse = true;
  return a;
}

/** The SDK call that applies a token action; undefined for the others. */
export function callOf(a: Action): "signIn" | "identifyExternalUser" | undefined {
  if (a.type === "sign-out" || a.type === "resolve") return undefined;
  return a.identify ? "identifyExternalUser" : "signIn";
}

export function reuses(a: Action): boolean {
  return "vitalUser" in a && a.reuse === true;
}

export function parseActionType(s: string): ActionType | undefined {
  switch (s) {
    case "sign-out": case "sign-in": case "migrate": case "reauthenticate": case "resolve":
      return s;
  }
  return undefined;
}

/** The Vital user an action names ("" for sign-out and resolve, or a sign-in the token source decides). */
export function vitalUserOf(a: Action | undefined): string {
  return a && "vitalUser" in a ? a.vitalUser : "";
}

/** Renders an action for people, as Go's Action.String: "sign-in(v-1)", "resolve(app user alice)". */
export function actionString(a: Action | undefined): string {
  if (!a) return "(no action)";
  switch (a.type) {
    case "sign-out":
      return "sign-out";
    case "resolve":
      return `resolve(app user ${a.appUser})`;
    case "sign-in":
      return `sign-in(${a.vitalUser || "from token source"})`;
    default:
      return `${a.type}(${a.vitalUser})`;
  }
}

/** The stable persisted form: "sign-in:v-1", "resolve:alice", "sign-out"; "" for none. */
export function formatAction(a: Action | undefined): string {
  if (!a) return "";
  const user = a.type === "resolve" ? a.appUser : vitalUserOf(a);
  return user === "" ? a.type : `${a.type}:${user}`;
}

/** Parses formatAction's form; "" is no action, null a malformed one. */
export function parseAction(s: string): Action | undefined | null {
  if (s === "") return undefined;
  const i = s.indexOf(":");
  const name = i < 0 ? s : s.slice(0, i);
  const user = i < 0 ? "" : s.slice(i + 1);
  const t = parseActionType(name);
  if (!t) return null;
  return newAction(t, user);
}

export function newAction(t: ActionType, user: string): Action {
  switch (t) {
    case "sign-out":
      return signOut;
    case "resolve":
      return resolve(user);
    default:
      return { type: t, vitalUser: user };
  }
}

/** Whether a and b are the same step, however each is applied (identify and reuse aside). */
export function sameStep(a: Action | undefined, b: Action | undefined): boolean {
  if (!a || !b) return a === b;
  return formatAction(a) === formatAction(b);
}

/** Whether a and b are the same action, applied the same way. */
export function actionsEqual(a: Action | undefined, b: Action | undefined): boolean {
  return sameStep(a, b) && (!a || !b || (callOf(a) === callOf(b) && reuses(a) === reuses(b)));
}

/** An action's JSON form: {"type":…,"vital_user_id":…} or {"type":"resolve","app_user_id":…}. */
export interface WireAction {
  type: string;
  vital_user_id?: string;
  app_user_id?: string;
  sdk_call?: string;
  token?: string;
}

export function toWire(a: Action): WireAction {
  const w: WireAction = { type: a.type };
  if (a.type === "resolve") {
    if (a.appUser) w.app_user_id = a.appUser;
  } else if ("vitalUser" in a) {
    if (a.vitalUser) w.vital_user_id = a.vitalUser;
    if (a.identify) w.sdk_call = "identifyExternalUser";
    if (a.reuse) w.token = "unused";
  }
  return w;
}

/** An invalid field of an action's JSON form. */
export class ActionFieldError extends Error {
  constructor(readonly field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.name = "ActionFieldError";
  }
}

/** Reads toWire's form; field names the JSON path for errors ("last_action"). */
export function fromWire(w: WireAction, field: string): Action {
  const t = parseActionType(String(w.type));
  if (!t) throw new ActionFieldError(field + ".type", `unknown action type "${String(w.type)}"`);
  const user = (t === "resolve" ? w.app_user_id : w.vital_user_id) ?? "";
  let identify = false;
  switch (w.sdk_call ?? "") {
    case "":
    case "signIn":
      break;
    case "identifyExternalUser":
      if (t !== "sign-in" && t !== "migrate") throw new ActionFieldError(field + ".sdk_call", `${t} is not applied through identifyExternalUser`);
      identify = true;
      break;
    default:
      throw new ActionFieldError(field + ".sdk_call", `unknown SDK call "${String(w.sdk_call)}"`);
  }
  let reuse = false;
  switch (w.token ?? "") {
    case "":
      break;
    case "unused":
      if (t === "sign-out" || t === "resolve") throw new ActionFieldError(field + ".token", `${t} takes no token`);
      reuse = true;
      break;
    default:
      throw new ActionFieldError(field + ".token", `unknown token "${String(w.token)}" (want "unused")`);
  }
  if (t === "sign-out" || t === "resolve") return newAction(t, user);
  return tokenAction(t, user, { identify, reuse });
}
