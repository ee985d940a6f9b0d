// The Observation the planner decides from, its validation and its JSON
// form (the schema of vitalsync's reconcile.Observation). Times are Unix
// milliseconds (0: none); durations are milliseconds.

import { type Action, type WireAction, ActionFieldError, fromWire, toWire } from "./action.js";
import { type SDKErrorName, parseSDKError } from "./errors.js";
import {
  type Environment, type Profile, type Region, type State, type Status, FlagSignedIn, classify, hasFlag,
  parseEnvironment, parseFlag, parseProfile, parseRegion, parseState, statusNames,
} from "./fsm.js";
import { observationKeys } from "./schema.js";

export interface AppSession {
  signedIn: boolean;
  appUserID: string;
  vitalUserID: string;
  environment: Environment | "";
  region: Region | "";
}

export interface SDKObservation {
  status: Status;
  currentUserID: string;
  environment: Environment | "";
  region: Region | "";
}

/** The whole, level-based picture the planner decides from (Go's reconcile.Observation). */
export interface Observation {
  profile: Profile;
  app: AppSession;
  sdk: SDKObservation;
  lastObserved: State | "";
  lastAction: Action | undefined;
  lastError: SDKErrorName;
  attempts: number;
  issuedVitalUserID: string;
  /** The Vital user of a token minted in this launch that no SDK call applied; "" if none. */
  unusedToken: string;
  nextAttemptAt: number;
  lastResolvedAt: number;
  resolveInterval: number;
  sessionAppUserID: string;
  protectedDataUnavailable: boolean;
  now: number;
  allowAPIKey: boolean;
}

export const signedOutApp = (): AppSession => ({ signedIn: false, appUserID: "", vitalUserID: "", environment: "", region: "" });

/** An invalid field of an observation, by its JSON path. */
export class FieldError extends Error {
  constructor(readonly field: string, readonly reason: string) {
    super(`observation: ${field}: ${reason}`);
    this.name = "FieldError";
  }
}

/** Reports the first field that makes the observation impossible, or undefined. */
export function validate(o: Observation): FieldError | undefined {
  if (!o.profile || !o.profile.name) return new FieldError("profile", "required");
  if (!parseProfile(o.profile.name)) return new FieldError("profile", `unknown profile "${o.profile.name}"`);
  if (o.app.signedIn && o.app.appUserID === "") return new FieldError("app.app_user_id", "required when app.signed_in is true");
  if (!o.app.signedIn && (o.app.appUserID !== "" || o.app.vitalUserID !== "")) {
    return new FieldError("app.app_user_id", "set while app.signed_in is false");
  }
  if (!o.app.signedIn && o.issuedVitalUserID !== "") return new FieldError("issued_vital_user_id", "set while app.signed_in is false");
  if (!o.app.signedIn && o.unusedToken !== "") return new FieldError("unused_token_vital_user_id", "set while app.signed_in is false");
  if (o.attempts < 0) return new FieldError("attempts", "negative");
  if (o.resolveInterval < 0) return new FieldError("resolve_interval", "negative");
  if (parseSDKError(o.lastError) === undefined) return new FieldError("last_error", `unknown SDK error "${o.lastError}"`);
  try {
    classify(o.sdk.status, o.lastObserved, o.profile);
  } catch (e) {
    return new FieldError("sdk.status", (e as Error).message);
  }
  const signedIn = hasFlag(o.sdk.status, FlagSignedIn);
  if (signedIn && o.sdk.currentUserID === "") return new FieldError("sdk.current_user_id", "required when the status has signedIn");
  if (!signedIn && o.sdk.currentUserID !== "") return new FieldError("sdk.current_user_id", "set while the status lacks signedIn");
  if (!o.now) return new FieldError("now", "required");
  return undefined;
}

// ---- JSON ----

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 time to Unix milliseconds (sub-millisecond digits are dropped). */
export function parseTime(s: string): number | undefined {
  const m = rfc3339.exec(s);
  if (!m) return undefined;
  const frac = m[7] ? m[7].slice(1, 4).padEnd(3, "0") : "000";
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${frac}${m[8]!.toUpperCase()}`;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** Formats Unix milliseconds as Go's RFC3339Nano in UTC (no trailing zero fraction). */
export function formatTime(ms: number): string {
  const s = new Date(ms).toISOString(); // 2026-11-24T10:00:00.000Z
  const frac = s.slice(20, 23).replace(/0+$/, "");
  return s.slice(0, 19) + (frac ? "." + frac : "") + "Z";
}

const durUnits: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** Parses a Go duration ("24h0m0s", "90m", "1.5h") to milliseconds. */
export function parseDuration(s: string): number | undefined {
  if (s === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let i = 0;
  let neg = false;
  if (s[0] === "-" || s[0] === "+") {
    neg = s[0] === "-";
    i = 1;
  }
  if (i >= s.length) return undefined;
  let total = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * durUnits[m[2]!]!;
    i = re.lastIndex;
  }
  return neg ? -total : total;
}

/** Formats milliseconds as Go's Duration.String ("24h0m0s", "1m30s", "500ms"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  const neg = ms < 0;
  let rest = Math.abs(ms);
  let out: string;
  if (rest < 1000) {
    out = `${rest}ms`;
  } else {
    const h = Math.floor(rest / 3600000);
    rest -= h * 3600000;
    const m = Math.floor(rest / 60000);
    rest -= m * 60000;
    const sec = (rest / 1000).toString();
    out = h > 0 ? `${h}h${m}m${sec}s` : m > 0 ? `${m}m${sec}s` : `${sec}s`;
  }
  return neg ? "-" + out : out;
}

function checkKeys(v: unknown, path: string): void {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return;
  const allowed = observationKeys[path];
  if (!allowed) return;
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) throw new FieldError(path ? `${path}.${k}` : k, "unknown field");
    checkKeys((v as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
  }
}

function str(v: Record<string, unknown>, key: string, path: string): string {
  const x = v[key];
  if (x === undefined || x === null) return "";
  if (typeof x !== "string") throw new FieldError(path + key, `wrong type: got JSON ${typeof x}, want string`);
  return x;
}

function obj(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new FieldError(field, "wrong type: want an object");
  return v as Record<string, unknown>;
}

function envRegion(prefix: string, v: Record<string, unknown>): [Environment | "", Region | ""] {
  const e = str(v, "environment", prefix + ".");
  const r = str(v, "region", prefix + ".");
  let env: Environment | "" = "";
  let region: Region | "" = "";
  if (e !== "") {
    const pe = parseEnvironment(e);
    if (!pe) throw new FieldError(prefix + ".environment", `unknown environment "${e}"`);
    env = pe;
  }
  if (r !== "") {
    const pr = parseRegion(r);
    if (!pr) throw new FieldError(prefix + ".region", `unknown region "${r}"`);
    region = pr;
  }
  return [env, region];
}

function time(v: Record<string, unknown>, key: string): number {
  const s = str(v, key, "");
  if (s === "") return 0;
  const t = parseTime(s);
  if (t === undefined) throw new FieldError(key, `not an RFC 3339 time: "${s}"`);
  return t;
}

/**
 * Reads one observation from its JSON object (already parsed). Unknown
 * fields, unknown profiles, states, flags, environments and regions, and
 * impossible combinations throw a FieldError naming the field.
 */
export function observationFromJSON(raw: unknown): Observation {
  const w = obj(raw, "(document)");
  checkKeys(w, "");
  const profileName = str(w, "profile", "");
  if (profileName === "") throw new FieldError("profile", "required");
  const profile = parseProfile(profileName);
  if (!profile) throw new FieldError("profile", `unknown profile "${profileName}"`);
  if (w.app === undefined) throw new FieldError("app", "required");
  const app = obj(w.app, "app");
  if (typeof app.signed_in !== "boolean") throw new FieldError("app.signed_in", "required");
  const [appEnv, appRegion] = envRegion("app", app);
  if (w.sdk === undefined) throw new FieldError("sdk", "required");
  const sdk = obj(w.sdk, "sdk");
  if (!Array.isArray(sdk.status)) throw new FieldError("sdk.status", "required (use [] for none)");
  let status = 0;
  sdk.status.forEach((name: unknown, i: number) => {
    const f = typeof name === "string" ? parseFlag(name) : undefined;
    if (f === undefined) throw new FieldError(`sdk.status[${i}]`, `unknown flag "${String(name)}"`);
    status |= f;
  });
  const [sdkEnv, sdkRegion] = envRegion("sdk", sdk);
  const lastObservedName = str(w, "last_observed", "");
  let lastObserved: State | "" = "";
  if (lastObservedName !== "") {
    const st = parseState(lastObservedName);
    if (!st) throw new FieldError("last_observed", `unknown state "${lastObservedName}"`);
    lastObserved = st;
  }
  let lastAction: Action | undefined;
  if (w.last_action !== undefined && w.last_action !== null) {
    const la = obj(w.last_action, "last_action") as unknown as WireAction;
    try {
      lastAction = fromWire(la, "last_action");
    } catch (e) {
      if (e instanceof ActionFieldError) throw new FieldError(e.field, e.message);
      throw e;
    }
  }
  const lastErrorName = str(w, "last_error", "");
  const lastError = parseSDKError(lastErrorName);
  if (lastError === undefined) throw new FieldError("last_error", `unknown SDK error "${lastErrorName}"`);
  const attempts = w.attempts ?? 0;
  if (typeof attempts !== "number" || !Number.isInteger(attempts)) throw new FieldError("attempts", "wrong type: want an integer");
  let resolveInterval = 0;
  const ri = str(w, "resolve_interval", "");
  if (ri !== "") {
    const d = parseDuration(ri);
    if (d === undefined || d < 0) throw new FieldError("resolve_interval", `not a non-negative duration: "${ri}"`);
    resolveInterval = d;
  }
  if (w.protected_data_available !== undefined && typeof w.protected_data_available !== "boolean") {
    throw new FieldError("protected_data_available", "wrong type: want a boolean");
  }
  if (w.now === undefined || w.now === null) throw new FieldError("now", "required");
  if (w.allow_api_key !== undefined && typeof w.allow_api_key !== "boolean") throw new FieldError("allow_api_key", "wrong type: want a boolean");
  const o: Observation = {
    profile,
    app: {
      signedIn: app.signed_in, appUserID: str(app, "app_user_id", "app."), vitalUserID: str(app, "vital_user_id", "app."),
      environment: appEnv, region: appRegion,
    },
    sdk: { status, currentUserID: str(sdk, "current_user_id", "sdk."), environment: sdkEnv, region: sdkRegion },
    lastObserved,
    lastAction,
    lastError,
    attempts,
    issuedVitalUserID: str(w, "issued_vital_user_id", ""),
    unusedToken: str(w, "unused_token_vital_user_id", ""),
    nextAttemptAt: time(w, "next_attempt_at"),
    lastResolvedAt: time(w, "last_resolved_at"),
    resolveInterval,
    sessionAppUserID: str(w, "session_app_user_id", ""),
    protectedDataUnavailable: w.protected_data_available === false,
    now: time(w, "now"),
    allowAPIKey: w.allow_api_key === true,
  };
  const err = validate(o);
  if (err) throw err;
  return o;
}

/** The observation in the documented JSON schema. */
export function observationToJSON(o: Observation): Record<string, unknown> {
  const w: Record<string, unknown> = { profile: o.profile.name };
  const app: Record<string, unknown> = { signed_in: o.app.signedIn };
  if (o.app.appUserID) app.app_user_id = o.app.appUserID;
  if (o.app.vitalUserID) app.vital_user_id = o.app.vitalUserID;
  if (o.app.environment) app.environment = o.app.environment;
  if (o.app.region) app.region = o.app.region;
  w.app = app;
  const sdk: Record<string, unknown> = { status: statusNames(o.sdk.status) };
  if (o.sdk.currentUserID) sdk.current_user_id = o.sdk.currentUserID;
  if (o.sdk.environment) sdk.environment = o.sdk.environment;
  if (o.sdk.region) sdk.region = o.sdk.region;
  w.sdk = sdk;
  if (o.lastObserved) w.last_observed = o.lastObserved;
  if (o.lastAction) w.last_action = toWire(o.lastAction);
  if (o.lastError) w.last_error = o.lastError;
  if (o.attempts) w.attempts = o.attempts;
  if (o.issuedVitalUserID) w.issued_vital_user_id = o.issuedVitalUserID;
  if (o.unusedToken) w.unused_token_vital_user_id = o.unusedToken;
  w.next_attempt_at = o.nextAttemptAt ? formatTime(o.nextAttemptAt) : null;
  if (o.lastResolvedAt) w.last_resolved_at = formatTime(o.lastResolvedAt);
  if (o.resolveInterval) w.resolve_interval = formatDuration(o.resolveInterval);
  if (o.sessionAppUserID) w.session_app_user_id = o.sessionAppUserID;
  if (o.protectedDataUnavailable) w.protected_data_available = false;
  w.now = o.now ? formatTime(o.now) : null;
  if (o.allowAPIKey) w.allow_api_key = true;
  return w;
}
