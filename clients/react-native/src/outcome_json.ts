// The Outcome's JSON form: the conformance protocol's launch result, and a
// stable shape for an app's own logs (no tokens in it).

import { toWire } from "./action.js";
import { RunError } from "./errors.js";
import { formatTime } from "./observation.js";
import { planToJSON } from "./plan.js";
import { NoConvergenceError, type Outcome } from "./runner.js";

export function outcomeToJSON(out: Outcome): Record<string, unknown> {
  let error: Record<string, unknown> | null = null;
  if (out.error instanceof RunError) {
    error = { class: out.error.errorClass, action: out.error.action ? toWire(out.error.action) : null };
  } else if (out.error instanceof NoConvergenceError) {
    error = { class: "no-convergence", action: null };
  } else if (out.error) {
    error = { class: "error", action: null, message: out.error.message };
  }
  return {
    result: out.result,
    state: out.state,
    retry_at: out.retryAt ? formatTime(out.retryAt) : null,
    interrupted: out.interrupted ? toWire(out.interrupted) : null,
    divergence: out.divergence ? { expected: out.divergence.expected, observed: out.divergence.observed } : null,
    passes: out.passes.map((p) => ({
      observed: p.plan.observed,
      discrepancy: p.plan.discrepancy,
      plan: { terminal: false, deferred: false, ...planToJSON(p.plan) },
      applied: p.applied.map((s) => ({
        action: toWire(s.action),
        error: s.error === undefined ? null : { class: s.errorClass, sdk_error: s.sdkError },
      })),
    })),
    error,
  };
}
