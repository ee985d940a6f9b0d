// The TypeScript engine's hot paths in Node, beside Go's
// BenchmarkPlanConsistent and BenchmarkRunnerConsistent:
//
//   npm run bench            (node --expose-gc dist/bench/bench.js)
//
// 1. plan() on a consistent observation (iOS 1.8, upper-case user ID).
// 2. A whole quiet launch: Runner.run() against an SDK and a storage in
//    memory behind promises, as VitalCore and AsyncStorage are (two getItem
//    reads, the status and current user reads, observe, plan; it fails if it
//    writes, calls the token source or mutates the SDK).

import {
  type KeyValueStorage, FlagConfigured, FlagSignedIn, FlagUseSignInToken, Runner, StorageJournal, parseProfile, plan,
  type Observation,
} from "../src/index.js";

const gc = (globalThis as { gc?: () => void }).gc;

function measure(name: string, n: number, rounds: number, f: (i: number) => void | Promise<void>): Promise<void> {
  return (async () => {
    const figures: number[] = [];
    let heap = 0;
    for (let r = 0; r < rounds; r++) {
      gc?.();
      const h0 = process.memoryUsage().heapUsed;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const x = f(i);
        if (x) await x;
      }
      const ns = Number(process.hrtime.bigint() - t0) / n;
      heap = (process.memoryUsage().heapUsed - h0) / n;
      figures.push(ns);
    }
    figures.sort((a, b) => a - b);
    const fmt = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} µs` : `${x.toFixed(1)} ns`);
    console.log(`${name.padEnd(30)} ${String(n).padStart(9)} ops  min ${fmt(figures[0]!)}  median ${fmt(figures[Math.floor(figures.length / 2)]!)}  heap Δ ~${Math.max(0, Math.round(heap))} B/op (last round)`);
  })();
}

async function main(): Promise<void> {
  const profile = parseProfile("ios-1.8")!;
  const now = Date.parse("2026-11-24T10:00:00Z");
  const o: Observation = {
    profile,
    app: { signedIn: true, appUserID: "u-1", vitalUserID: "6c1a8f2e-0d4b-4f6e-9a51-3b7e2c9d8f10", environment: "sandbox", region: "us" },
    sdk: { status: FlagConfigured | FlagSignedIn | FlagUseSignInToken, currentUserID: "6C1A8F2E-0D4B-4F6E-9A51-3B7E2C9D8F10", environment: "", region: "" },
    lastObserved: "token", lastAction: undefined, lastError: "", attempts: 0, issuedVitalUserID: "", unusedToken: "", nextAttemptAt: 0,
    lastResolvedAt: 0, resolveInterval: 0, sessionAppUserID: "", protectedDataUnavailable: false, now, allowAPIKey: false,
  };
  // Warm up, and check it is the consistent plan.
  for (let i = 0; i < 200_000; i++) if (plan(o).actions.length !== 0) throw new Error("not consistent");
  await measure("plan, consistent", 2_000_000, 5, () => {
    if (plan(o).actions.length !== 0) throw new Error("not consistent");
  });

  const data = new Map<string, string>();
  const storage: KeyValueStorage = {
    getItem: async (k) => data.get(k) ?? null,
    setItem: async (k, v) => {
      data.set(k, v);
    },
  };
  const v = "6c1a8f2e-0d4b-4f6e-9a51-3b7e2c9d8f10";
  let state: "signed-out" | "token" = "signed-out";
  let writes = 0;
  const sdk = {
    status: async () => (state === "token" ? FlagConfigured | FlagSignedIn | FlagUseSignInToken : 0),
    currentUserID: async () => (state === "token" ? v.toUpperCase() : ""),
    signIn: async () => {
      state = "token";
    },
    identifyExternalUser: async () => {
      state = "token";
    },
    signOut: async () => {
      state = "signed-out";
    },
  };
  const tokens = { signInToken: async () => ({ user_id: v, sign_in_token: "tok" }) };
  const app = () => ({ signedIn: true, appUserID: "u-1", environment: "sandbox" as const, region: "us" as const });
  const first = await new Runner({ profile, sdk, tokens, journal: new StorageJournal(storage), app, now: () => now }).run();
  if (first.result !== "applied") throw new Error("first launch: " + first.result);
  const counting: KeyValueStorage = {
    getItem: storage.getItem,
    setItem: async (k, val) => {
      writes++;
      await storage.setItem(k, val);
    },
  };
  const frozen = Object.freeze({ ...sdk, signIn: async () => { throw new Error("mutation"); }, signOut: async () => { throw new Error("mutation"); } });
  const noTokens = { signInToken: async (): Promise<never> => { throw new Error("token call"); } };
  const quiet = async () => {
    // A process start: a new journal and runner on the stored state.
    const out = await new Runner({ profile, sdk: frozen, tokens: noTokens, journal: new StorageJournal(counting), app, now: () => now }).run();
    if (out.result !== "nothing-to-do" || writes !== 0) throw new Error("not quiet: " + out.result);
  };
  for (let i = 0; i < 20_000; i++) await quiet();
  await measure("whole quiet launch", 200_000, 5, quiet);
  console.log(`node ${process.version}, ${process.platform}/${process.arch}${gc ? "" : " (run with --expose-gc for steadier heap figures)"}`);
}

void main();
