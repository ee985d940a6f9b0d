// The VitalCore adapter: the React Native facts of reference §10.10, the
// profile an installation gets, and the quiet consistent launch.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type KeyValueStorage, type TokenSource, MemoryJournal, Runner, SDKError, StorageJournal, TransientError,
  classifyBridgeError, createLaunchTask, parseProfile, profileOf, runAtLaunch, statusFromStrings, statusNames, UnsupportedSDKError,
  vitalCoreSDK, FlagConfigured, FlagSignedIn, FlagUseSignInToken,
} from "../src/index.js";
import { FakeCore } from "./fakecore.js";

class CountingStorage implements KeyValueStorage {
  data = new Map<string, string>();
  gets = 0;
  sets = 0;
  async getItem(k: string) {
    this.gets++;
    return this.data.get(k) ?? null;
  }
  async setItem(k: string, v: string) {
    this.sets++;
    this.data.set(k, v);
  }
}

function backend(core: FakeCore, users: Record<string, string>) {
  let n = 0;
  const calls: string[] = [];
  const tokens: TokenSource = {
    async signInToken(app) {
      calls.push("signInToken " + app);
      const tok = `tok-${app}-${++n}`;
      core.tokens.set(tok, users[app]!);
      return { user_id: users[app]!, sign_in_token: tok };
    },
    async resolveVitalUser(app) {
      calls.push("resolveVitalUser " + app);
      return { user_id: users[app]! };
    },
  };
  return { tokens, calls };
}

test("identify's authenticate is answered at once with the token minted before the call", async () => {
  const core = new FakeCore();
  core.tokens.set("tok-1", "v-alice");
  let asked: unknown;
  const api = core.api();
  const real = api.identifyExternalUser!;
  const spy = Object.assign(Object.create(null), api, {
    identifyExternalUser: async (ext: string, authenticate: (id: string) => Promise<unknown>) => {
      asked = await authenticate(ext);
      return real.call(api, ext, authenticate as never);
    },
  });
  await vitalCoreSDK(spy).identifyExternalUser!("alice", "tok-1");
  assert.deepEqual(asked, { type: "signInToken", rawToken: "tok-1" });
  assert.equal(core.user, "v-alice");
  assert.equal(core.ext, "alice");
});

test("an identify that never settles is given up after the engine's own timeout, as a transient failure", async () => {
  const core = new FakeCore();
  core.identifyHangs = true;
  const fired: (() => void)[] = [];
  const timers = { setTimeout: (fn: () => void) => (fired.push(fn), fired.length), clearTimeout: () => undefined };
  const sdk = vitalCoreSDK(core.api(), { identifyTimeoutMs: 1000, timers });
  const journal = new MemoryJournal();
  const { tokens } = backend(core, { alice: "v-alice" });
  const now = Date.parse("2026-11-24T10:00:00Z");
  const runner = new Runner({
    profile: parseProfile("ios-1.8")!, sdk, tokens, journal, now: () => now, rand: () => 0.5,
    app: () => ({ signedIn: true, appUserID: "alice", environment: "sandbox", region: "us" }),
  });
  const running = runner.run();
  while (fired.length === 0) await new Promise((r) => setImmediate(r));
  fired[0]!(); // the timer fires: the bridge still has not answered
  const out = await running;
  assert.equal(out.result, "failed");
  const step = out.passes[0]!.applied[0]!;
  assert.ok(step.error instanceof TransientError, String(step.error));
  assert.equal(step.errorClass, "transient");
  assert.equal(journal.entry.nextAttemptAt, now + 27_000, "the next attempt is backed off, not retried at once");
  assert.equal(journal.entry.inFlight, undefined, "the journal does not keep the identify in flight");
});

test("a launch never calls setUserId or configure (RN iOS setUserId is a fatalError in JWT mode)", async () => {
  const core = new FakeCore();
  const storage = new CountingStorage();
  const { tokens } = backend(core, { alice: "v-alice", bob: "v-bob" });
  let app: { signedIn: boolean; appUserID?: string } = { signedIn: true, appUserID: "alice" };
  const opts = { core: core.api(), platform: "ios" as const, storage, tokens, app: () => app };
  assert.equal((await runAtLaunch(opts)).result, "applied");
  app = { signedIn: true, appUserID: "bob" };
  assert.equal((await runAtLaunch(opts)).result, "applied");
  assert.equal(core.user, "v-bob");
  core.st = "api-key";
  core.user = "v-bob";
  await runAtLaunch(opts);
  app = { signedIn: false };
  assert.equal((await runAtLaunch(opts)).result, "applied");
  assert.equal(core.st, "signed-out");
  assert.deepEqual(core.forbidden, []);
});

test("Android's sign-in rejection without a code is classified by its message", () => {
  const cases: [unknown, string][] = [
    [Object.assign(new Error("VitalJWTSignInError: alreadySignedIn"), { code: "EUNSPECIFIED" }), "alreadySignedIn"],
    [Object.assign(new Error("io.tryvital.client.jwt.VitalJWTSignInError: AlreadySignedIn"), { code: "EUNSPECIFIED" }), "alreadySignedIn"],
    [Object.assign(new Error("VitalJWTSignInError: invalidSignInToken"), { code: "EUNSPECIFIED" }), "invalidSignInToken"],
    [Object.assign(new Error("alreadySignedIn"), { code: "VitalCoreError" }), "alreadySignedIn"],
    [Object.assign(new Error("notSignedIn"), { code: "VitalCoreError" }), "notSignedIn"],
    [{ message: "Unable to resolve host \"auth.us.junction.com\": java.net.UnknownHostException" }, "network"],
    [new Error("The request timed out."), "network"],
    [new Error("something else entirely"), "unknown"],
    ["a bare string", "unknown"],
  ];
  for (const [e, want] of cases) {
    const got = classifyBridgeError(e);
    const name = got instanceof SDKError ? got.sdkError : got instanceof TransientError ? "network" : "?";
    assert.equal(name, want, `${String((e as Error).message ?? e)}`);
  }
});

test("a sign-in Android rejects as already signed in takes the planner's sign-out-then-sign-in rule", async () => {
  const core = new FakeCore();
  core.platform = "android";
  core.version = "5.0.2";
  core.signInRejections.push({ message: "VitalJWTSignInError: alreadySignedIn" }); // promise.reject(e): no code
  const journal = new MemoryJournal();
  const { tokens } = backend(core, { alice: "v-alice" });
  const runner = new Runner({
    profile: await profileOf(core.api(), "android"), sdk: vitalCoreSDK(core.api()), tokens, journal, rand: () => 0.5,
    app: () => ({ signedIn: true, appUserID: "alice" }),
  });
  const out = await runner.run();
  assert.equal(out.result, "applied", String(out.error));
  assert.deepEqual(core.calls, ["signIn", "signOut", "signIn"]);
  assert.equal(out.passes[0]!.applied[0]!.sdkError, "alreadySignedIn");
  assert.equal(core.user, "v-alice");
});

test("a token is never part of an error's message", () => {
  const token = "eyJ" + "A".repeat(120);
  const e = classifyBridgeError(new Error(`failed to decode ${token}`));
  assert.ok(!e.message.includes(token), e.message);
});

test("status strings in either bridge's order give the same flags; an unknown one is refused", () => {
  const want = FlagConfigured | FlagSignedIn | FlagUseSignInToken;
  assert.equal(statusFromStrings(["signedIn", "configured", "useSignInToken"]), want);
  assert.equal(statusFromStrings(["configured", "signedIn", "useSignInToken"]), want);
  assert.throws(() => statusFromStrings(["configured", "SignedIn"]), SDKError);
});

test("a profile names the status flags in the order its app receives them", () => {
  const s = FlagConfigured | FlagSignedIn | FlagUseSignInToken;
  assert.deepEqual(statusNames(s), ["configured", "signedIn", "useSignInToken"]);
  assert.deepEqual(statusNames(s, parseProfile("rn-ios-1.8")), ["signedIn", "configured", "useSignInToken"]);
  assert.deepEqual(statusNames(s, parseProfile("rn-android-5.0")), ["configured", "signedIn", "useSignInToken"]);
  assert.deepEqual(statusNames(0, parseProfile("rn-ios-1.8")), []);
});

test("the profile follows the platform, the linked native version and the bridge's identify", async () => {
  const cases: [platform: "ios" | "android", version: string, identify: boolean, want: string | undefined, rn?: string][] = [
    ["ios", "1.8.8", true, "rn-ios-1.8", "6.0.2"], // VitalCore ~> 1.8.8
    ["ios", "1.8.6", true, "rn-ios-1.8"], // RN 5.5.0, 6.0.0-rc.*: ~> 1.8.6
    ["ios", "1.8.6", true, "rn-ios-1.8", "6.0.0-rc.2"],
    ["ios", "1.8.6", true, undefined, "6.0.2"], // 6.0.2's pin rules 1.8.6 out
    ["ios", "1.6.4", true, "rn-ios-1.8.1"], // RN 5.3.x
    ["ios", "1.6.0", false, "rn-5.2-ios-1.8.1"], // RN 5.2.3: no identifyExternalUser
    ["ios", "1.4.6", false, "rn-5.2-ios-1.8.1", "5.1.2"],
    ["ios", "1.3.0", false, "rn-ios-1.3"], // RN 5.1.0
    ["ios", "1.6.0", true, undefined, "5.2.3"], // a 5.2.3 bridge has no identify: the caller's claim is wrong
    ["android", "5.0.2", true, "rn-android-5.0", "6.0.2"],
    ["android", "5.0.0-rc.1", true, "rn-android-5.0"], // RN main: a pre-release maps by its release
    ["android", "5.0.0-rc.1", true, "rn-android-5.0", "6.0.0-rc.1"],
    ["android", "5.0.0-rc.2", true, undefined], // a pre-release nobody read
    ["android", "4.3.2", true, "rn-android-5.0"], // RN 5.5.0
    ["android", "4.2.2", true, "rn-android-4.2.2"], // RN 5.4.2-5.4.3
    ["android", "4.2.2", true, "rn-android-4.2.2", "5.4.3"],
    ["android", "4.2.1", true, "rn-android-4.2.1"], // RN 5.4.1: the 401 retry crashes
    ["android", "4.2.1", true, "rn-android-4.2.1", "5.4.1"],
    ["android", "4.2.2", true, undefined, "5.4.1"], // 5.4.1 pins 4.2.1
    ["android", "4.2.1", true, undefined, "5.4.2"], // 5.4.2 pins 4.2.2
    ["android", "4.1.0", true, "rn-android-4.2.0"], // RN 5.3.0
    ["android", "4.0.2", false, undefined], // RN 5.2.3: not modelled
    ["ios", "1.9.0", true, undefined], // newer than any source read
    ["ios", "1.8.8", true, undefined, "7.0.0"], // a bridge nobody read
  ];
  for (const [platform, version, identify, want, rn] of cases) {
    const core = new FakeCore();
    core.version = version;
    const got = await profileOf(core.api(identify), platform, rn).then((p) => p.name, (e: unknown) => {
      assert.ok(e instanceof UnsupportedSDKError);
      return undefined;
    });
    assert.equal(got, want, `${platform} ${version} identify=${identify} rn=${rn ?? "?"}`);
  }
});

test("without identifyExternalUser (RN < 5.3.0) the engine signs in through signIn", async () => {
  const core = new FakeCore();
  core.version = "1.6.0";
  const { tokens } = backend(core, { alice: "v-alice" });
  const task = await createLaunchTask({
    core: core.api(false), platform: "ios", storage: new CountingStorage(), tokens, app: () => ({ signedIn: true, appUserID: "alice" }),
  });
  await task.run();
  assert.deepEqual(core.calls, ["signIn"]);
});

test("a consistent launch makes no token-source call, no SDK mutation and no storage write", async () => {
  for (const platform of ["ios", "android"] as const) {
    const core = new FakeCore();
    core.platform = platform;
    core.version = platform === "ios" ? "1.8.8" : "5.0.2";
    const storage = new CountingStorage();
    const { tokens, calls } = backend(core, { alice: "v-alice" });
    const opts = { core: core.api(), platform, storage, tokens, app: () => ({ signedIn: true, appUserID: "alice" }) };
    const first = await runAtLaunch(opts);
    assert.equal(first.result, "applied", String(first.error));
    assert.ok(storage.sets > 0);
    for (let i = 0; i < 3; i++) {
      const [sets, tokenCalls, mutations] = [storage.sets, calls.length, core.mutations];
      const out = await runAtLaunch(opts);
      assert.equal(out.result, "nothing-to-do", `${platform}: ${String(out.error)}`);
      assert.deepEqual([storage.sets, calls.length, core.mutations], [sets, tokenCalls, mutations], `${platform}: launch ${i + 2} was not quiet`);
    }
    // And a journal on the same storage still holds the settled entry.
    const e = await new StorageJournal(storage).load();
    assert.equal(e.vitalUserID, "v-alice");
    assert.equal(e.lastObserved, "token");
  }
});
