import { type Action, actionString } from "./action.js";

// The SDK errors by their stable names, and the one classification of an
// action's failure. A port of reconcile/errors.go.

/** One of the Vital SDK errors by the stable name the SDKs give it; "" is none. */
export type SDKErrorName =
  | ""
  | "alreadySignedIn"
  | "invalidSignInToken"
  | "invalidUser"
  | "needsReauthentication"
  | "notSignedIn"
  | "refreshFailed"
  | "network"
  | "unknown";

export const SDKErrorNames: readonly SDKErrorName[] = [
  "", "alreadySignedIn", "invalidSignInToken", "invalidUser", "needsReauthentication", "notSignedIn",
  "refreshFailed", "network", "unknown",
];

export function parseSDKError(s: string): SDKErrorName | undefined {
  return (SDKErrorNames as readonly string[]).includes(s) ? (s as SDKErrorName) : undefined;
}

/**
 * An SDK error in the engine's vocabulary. Adapters throw it (the SDK
 * adapter classifies what the bridge rejects with); the runner journals its
 * name and the planner reads it.
 */
export class SDKError extends Error {
  constructor(readonly sdkError: Exclude<SDKErrorName, "">, message?: string) {
    super(message ?? "sdk: " + sdkError);
    this.name = "SDKError";
  }
}

/**
 * A failure worth retrying later (network, 5xx, 429). retryAfterMs is the
 * server's Retry-After, 0 if none. A token source signals one by throwing it
 * (or any error with transient === true and an optional retryAfterMs).
 */
export class TransientError extends Error {
  readonly transient = true;
  constructor(message: string, readonly retryAfterMs = 0) {
    super(message);
    this.name = "TransientError";
  }
}

/** The launch was cancelled (an AbortSignal fired). */
export class CancelledError extends Error {
  constructor() {
    super("cancelled");
    this.name = "CancelledError";
  }
}

/** What a failed action means for the launch (Go's ErrorClass). */
export type ErrorClass = "" | "transient" | "terminal" | "cancelled" | "stale";

function isTransient(err: unknown): err is { transient: true; retryAfterMs?: number } {
  return typeof err === "object" && err !== null && (err as { transient?: unknown }).transient === true;
}

/** Maps an action's error to its class, its SDK error name and the Retry-After (ms). */
export function classifyError(err: unknown, cancelled: boolean): [ErrorClass, SDKErrorName, number] {
  if (err === undefined || err === null) return ["", "", 0];
  if (err instanceof CancelledError && cancelled) return ["cancelled", "", 0];
  if (isTransient(err)) {
    const ra = err.retryAfterMs;
    return ["transient", "network", typeof ra === "number" && ra > 0 ? ra : 0];
  }
  if (err instanceof SDKError) {
    if (err.sdkError === "network") return ["transient", "network", 0];
    return ["terminal", err.sdkError, 0];
  }
  return ["terminal", "unknown", 0];
}

/** A launch that did not reach agreement: the action that failed last, its class, when to try again. */
export class RunError extends Error {
  constructor(
    readonly action: Action | undefined,
    readonly errorClass: ErrorClass,
    readonly retryAt: number,
    readonly err?: unknown,
  ) {
    super(
      `${actionString(action)} failed (${errorClass})` +
        (retryAt ? ", next attempt at " + new Date(retryAt).toISOString() : "") +
        (err instanceof Error ? ": " + err.message : typeof err === "string" && err ? ": sdk: " + err : ""),
    );
    this.name = "RunError";
  }
}
