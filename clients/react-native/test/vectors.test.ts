// The exported conformance vectors (conformance/testdata/vectors, generated
// from reconcile's datadriven files) run against the TypeScript planner and
// runner: every planner case, every runner transcript, the profile table.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { test } from "node:test";
import {
  FieldError, Profiles, Runner, needsIdentify, decodeObservation, entryFromJSON, entryToJSON, observationFromJSON, outcomeToJSON,
  parseProfile, plan, planToJSON, profileForApp, profileForWrapper, type Observation, type Profile, type SDKErrorName,
  type Wrapper,
} from "../src/index.js";
import { World, comparablePasses, vectorsDir, withOverrides } from "./world.js";


function load<T>(name: string): T {
  return JSON.parse(readFileSync(resolve(vectorsDir, name), "utf8")) as T;
}


interface PlanCase {
  name: string;
  observation?: unknown;
  observation_text?: string;
  profile_overrides?: { detects_deletion?: boolean } | null;
  expect: { observed?: string; discrepancy?: string; plan?: unknown; invalid?: { field: string } };
}

test("every planner vector plans as the Go planner does", () => {
  const { cases } = load<{ cases: PlanCase[] }>("plan.json");
  assert.ok(cases.length >= 100, `only ${cases.length} planner vectors`);
  for (const c of cases) {
    let o: Observation;
    try {
      o = c.observation_text !== undefined ? decodeObservation(c.observation_text) : observationFromJSON(c.observation);
    } catch (e) {
      assert.ok(e instanceof FieldError, `${c.name}: ${String(e)} is not a FieldError`);
      assert.deepEqual({ invalid: { field: e.field } }, c.expect, `${c.name}: refused, expected ${JSON.stringify(c.expect)}`);
      continue;
    }
    assert.equal(c.expect.invalid, undefined, `${c.name}: decoded, expected invalid ${JSON.stringify(c.expect.invalid)}`);
    o.profile = withOverrides(o.profile, c.profile_overrides);
    const p = plan(o);
    assert.deepEqual(
      { observed: p.observed, discrepancy: p.discrepancy, plan: { terminal: false, deferred: false, ...planToJSON(p) } },
      c.expect,
      c.name,
    );
  }
});

interface Step {
  op: string;
  line: number;
  app?: { signed_in: boolean; app_user_id?: string; vital_user_id?: string; environment?: string; region?: string };
  sdk?: Parameters<World["setSDK"]>[0];
  tokens?: { transient?: boolean; retry_after_ms?: number; message: string };
  backend?: Record<string, string>;
  journal?: unknown;
  advance_ms?: number;
  record?: string;
  expect?: Record<string, unknown> & { calls: string[]; journal: { events: string[]; entry: Record<string, unknown> } };
  expect_journal?: { events: string[]; entry: Record<string, unknown> };
}

interface RunnerCase {
  name: string;
  setup: { profile: string; profile_overrides?: { detects_deletion?: boolean } | null; sdk: { identify: boolean; initialize: boolean; protected_data: boolean } };
  steps: Step[];
}

function pick(entry: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, entry[k]]));
}

test("every runner transcript replays with the same calls, journal writes and outcome", async () => {
  const { cases } = load<{ cases: RunnerCase[] }>("runner.json");
  assert.ok(cases.length >= 20, `only ${cases.length} runner vectors`);
  for (const c of cases) {
    const profile = withOverrides(parseProfile(c.setup.profile)!, c.setup.profile_overrides);
    const w = new World(profile, {
      identify: c.setup.sdk.identify, initialize: c.setup.sdk.initialize, protectedData: c.setup.sdk.protected_data,
    });
    if (!c.setup.sdk.identify && needsIdentify(profile)) {
      // The Go runner refuses an SDK without identify on such a profile (reconcile.NewRunner); so does this one.
      assert.throws(() => new Runner({ profile, sdk: w.sdk(), tokens: w.tokens(), journal: w.journal, app: () => w.app }), /identifyExternalUser/);
      continue;
    }
    const runner = new Runner({
      profile, sdk: w.sdk(), tokens: w.tokens(), journal: w.journal, app: () => w.app, now: () => w.now, rand: () => 0.5,
    });
    for (const s of c.steps) {
      const where = `${c.name} (line ${s.line})`;
      switch (s.op) {
        case "app":
          w.app = {
            signedIn: s.app!.signed_in, appUserID: s.app!.app_user_id ?? "", vitalUserID: s.app!.vital_user_id ?? "",
            environment: (s.app!.environment ?? "") as "", region: (s.app!.region ?? "") as "",
          };
          break;
        case "sdk":
          w.setSDK(s.sdk!);
          break;
        case "tokens":
          w.failTokens(s.tokens!);
          break;
        case "backend":
          Object.assign(w.users, s.backend);
          break;
        case "journal":
          w.journal.entry = entryFromJSON(s.journal);
          break;
        case "advance":
          w.now += s.advance_ms!;
          break;
        case "record": {
          const n = w.journal.events.length;
          await runner.recordSDKError(s.record as SDKErrorName);
          const want = s.expect_journal!;
          assert.deepEqual(w.journal.events.slice(n), want.events, `${where}: journal events`);
          assert.deepEqual(pick(entryToJSON(w.journal.entry), Object.keys(want.entry)), want.entry, `${where}: journal entry`);
          break;
        }
        case "launch": {
          w.calls = [];
          const n = w.journal.events.length;
          const out = await runner.run();
          const e = s.expect!;
          assert.deepEqual(w.calls, e.calls, `${where}: calls`);
          assert.deepEqual(w.journal.events.slice(n), e.journal.events, `${where}: journal events`);
          assert.deepEqual(pick(entryToJSON(w.journal.entry), Object.keys(e.journal.entry)), e.journal.entry, `${where}: journal entry`);
          const got = outcomeToJSON(out);
          const passes = (got.passes as Record<string, unknown>[]).map((p) => {
            const wantKeys = Object.keys((e.passes as Record<string, unknown>[])[0] ?? {});
            return pick(p, wantKeys.length ? wantKeys : ["discrepancy", "plan", "applied"]);
          });
          assert.deepEqual(comparablePasses(passes, e.passes), e.passes, `${where}: passes`);
          for (const k of ["result", "state", "retry_at", "interrupted", "divergence", "error"]) {
            assert.deepEqual(got[k], e[k], `${where}: ${k}`);
          }
          break;
        }
        default:
          assert.fail(`${where}: unknown step ${s.op}`);
      }
    }
  }
});

test("the profile table has every Go profile with the same facts", () => {
  const { profiles } = load<{ profiles: Record<string, unknown>[] }>("profiles.json");
  const camel = (k: string) =>
    k === "api_key_migration_persists"
      ? "apiKeyMigrationPersists"
      : k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()).replace(/Id(?=[A-Z]|$)/g, "ID");
  let compared = 0;
  for (const want of profiles) {
    const p = parseProfile(String(want.name));
    assert.ok(p, `profile ${String(want.name)} missing`);
    for (const [k, v] of Object.entries(want)) {
      const key = camel(k) as keyof Profile;
      assert.ok(key in p, `${p.name}: Go's fact ${k} has no field ${key}`);
      compared++;
      assert.deepEqual(p[key], v, `${p.name}.${key}`);
    }
    assert.deepEqual(Object.keys(p).sort(), Object.keys(want).map(camel).sort(), `${p.name}: facts Go's table lacks`);
  }
  assert.ok(compared >= profiles.length * 25, `only ${compared} facts compared`);
  assert.deepEqual(Profiles.map((p) => p.name), profiles.map((p) => String(p.name)), "the profiles, in Go's order");
});

test("the version table answers as Go's at every exported boundary", () => {
  const { versions } = load<{ versions: { platform: "ios" | "android"; wrapper: Wrapper; version: string; profile: string }[] }>("profiles.json");
  assert.ok(versions.length >= 50, `only ${versions.length} version vectors`);
  for (const c of versions) {
    const got = profileForWrapper(c.wrapper, c.platform, c.version)?.name ?? "";
    assert.equal(got, c.profile, `profileForWrapper(${JSON.stringify([c.wrapper, c.platform, c.version])})`);
  }
});

interface ProfileCases {
  app: { wrapper: Wrapper; wrapper_version: string; platform: "ios" | "android"; native_version: string; profile: string }[];
  wrapper: { wrapper: Wrapper; platform: "ios" | "android"; native_version: string; profile: string }[];
}

test("every shared version case maps as Go's ProfileForApp and ProfileForWrapper do", () => {
  // conformance/testdata/profile_cases.json: fsm's tests hold Go to it and
  // check that it names every row of Go's version tables at its corners.
  const path = resolve(__dirname, "../../../../conformance/testdata/profile_cases.json");
  const cases = JSON.parse(readFileSync(path, "utf8")) as ProfileCases;
  assert.ok(cases.app.length >= 50 && cases.wrapper.length >= 10, "too few shared version cases");
  for (const c of cases.app) {
    const got = profileForApp(c.wrapper, c.wrapper_version, c.platform, c.native_version)?.name ?? "";
    assert.equal(got, c.profile, `profileForApp(${JSON.stringify([c.wrapper, c.wrapper_version, c.platform, c.native_version])})`);
  }
  for (const c of cases.wrapper) {
    const got = profileForWrapper(c.wrapper, c.platform, c.native_version)?.name ?? "";
    assert.equal(got, c.profile, `profileForWrapper(${JSON.stringify([c.wrapper, c.platform, c.native_version])})`);
  }
});

test("user IDs compare case-insensitively", async () => {
  const { eqFold } = await import("../src/plan.js");
  const cases: [string, string, boolean][] = [
    ["6c1a8f2e-0d4b", "6C1A8F2E-0D4B", true],
    ["abc", "abd", false],
    ["ÄB", "äb", true],
    ["ab", "abc", false],
    ["", "", true],
  ];
  for (const [a, b, want] of cases) assert.equal(eqFold(a, b), want, `eqFold(${JSON.stringify(a)}, ${JSON.stringify(b)})`);
});
