// Actions are plain values: the steps of a plan. A port of reconcile/action.go.

export type ActionType = "sign-out" | "sign-in" | "migrate" | "reauthenticate" | "resolve";

export type Action =
  | { readonly type: "sign-out" }
  | { readonly type: "sign-in" | "migrate" | "reauthenticate"; readonly vitalUser: string }
  | { readonly type: "resolve"; readonly appUser: string };

export const signOut: Action = Object.freeze({ type: "sign-out" });
export const signIn = (vitalUser: string): Action => ({ type: "sign-in", vitalUser });
export const migrate = (vitalUser: string): Action => ({ type: "migrate", vitalUser });
export const reauthenticate = (vitalUser: string): Action => ({ type: "reauthenticate", vitalUser });
export const resolve = (appUser: string): Action => ({ type: "resolve", appUser });

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

export function actionsEqual(a: Action | undefined, b: Action | undefined): boolean {
  if (!a || !b) return a === b;
  return formatAction(a) === formatAction(b) && a.type === b.type;
}

/** An action's JSON form: {"type":…,"vital_user_id":…} or {"type":"resolve","app_user_id":…}. */
export interface WireAction {
  type: string;
  vital_user_id?: string;
  app_user_id?: string;
}

export function toWire(a: Action): WireAction {
  const w: WireAction = { type: a.type };
  if (a.type === "resolve") {
    if (a.appUser) w.app_user_id = a.appUser;
  } else if ("vitalUser" in a && a.vitalUser) {
    w.vital_user_id = a.vitalUser;
  }
  return w;
}
