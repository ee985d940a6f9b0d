// The capped, jittered exponential backoff of failed runs (Go's reconcile.Backoff).

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
