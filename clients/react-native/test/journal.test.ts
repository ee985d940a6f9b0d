// The journal on the storage port: a kill between any two writes, or a
// torn write on a storage that is not atomic, leaves an entry the next
// launch reconciles from; bad entries are refused with nothing written.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type JournalEntry, type KeyValueStorage, InvalidJournalEntryError, Runner, StorageJournal, parseProfile, signIn, zeroEntry,
} from "../src/index.js";
import { World } from "./world.js";

/** A storage that dies at its n-th setItem: before writing, or (torn) after writing half the value. */
class DyingStorage implements KeyValueStorage {
  data = new Map<string, string>();
  sets = 0;
  dieAt = 0;
  torn = false;
  async getItem(k: string) {
    return this.data.get(k) ?? null;
  }
  async setItem(k: string, v: string) {
    this.sets++;
    if (this.sets === this.dieAt) {
      if (this.torn) this.data.set(k, v.slice(0, Math.floor(v.length / 2)));
      throw new Error("process killed");
    }
    this.data.set(k, v);
  }
}

const entry = (over: Partial<JournalEntry>): JournalEntry => ({ ...zeroEntry(), ...over });

test("an entry saved is the entry loaded, by a new journal on the same storage", async () => {
  const s = new DyingStorage();
  const e = entry({
    lastObserved: "token", environment: "sandbox", region: "eu", appUserID: "alice", vitalUserID: "v-alice",
    inFlight: signIn(""), lastAction: signIn("v-alice"), lastError: "alreadySignedIn", attempts: 2,
    nextAttemptAt: Date.parse("2026-11-24T10:05:00Z"), lastResolvedAt: Date.parse("2026-11-24T09:00:00.123Z"),
  });
  await new StorageJournal(s).save(e, "start sign-in(from token source)");
  assert.deepEqual(await new StorageJournal(s).load(), e);
  assert.deepEqual(await new StorageJournal(new DyingStorage()).load(), zeroEntry());
});

test("a write that dies, whole or torn, leaves the previous entry", async () => {
  for (const torn of [false, true]) {
    const s = new DyingStorage();
    const j = new StorageJournal(s);
    const first = entry({ lastObserved: "signed-out", appUserID: "alice" });
    await j.save(first, "one");
    await j.save(entry({ lastObserved: "token", appUserID: "alice", vitalUserID: "v-alice" }), "two");
    s.dieAt = 3;
    s.torn = torn;
    await assert.rejects(j.save(entry({ lastObserved: "token", appUserID: "bob" }), "three"));
    const loaded = await new StorageJournal(s).load();
    assert.equal(loaded.vitalUserID, "v-alice", `torn=${torn}: the entry of the last whole write`);
    // The next save after a torn one overwrites the torn slot and wins.
    const j2 = new StorageJournal(s);
    await j2.save(entry({ lastObserved: "signed-out" }), "four");
    assert.equal((await new StorageJournal(s).load()).lastObserved, "signed-out");
  }
});

test("a slot that was edited or does not parse is ignored", async () => {
  const s = new DyingStorage();
  const j = new StorageJournal(s);
  await j.save(entry({ lastObserved: "signed-out" }), "one");
  await j.save(entry({ lastObserved: "token", vitalUserID: "v-alice" }), "two");
  const key = "vitalsync.journal.0"; // seq 2 went to slot 0
  s.data.set(key, s.data.get(key)!.replace("v-alice", "v-mallory"));
  assert.equal((await new StorageJournal(s).load()).lastObserved, "signed-out");
  s.data.set(key, "{not json");
  assert.equal((await new StorageJournal(s).load()).lastObserved, "signed-out");
});

test("an invalid entry is refused and nothing is written", async () => {
  const s = new DyingStorage();
  const j = new StorageJournal(s);
  for (const [bad, field] of [
    [entry({ attempts: -1 }), "attempts"],
    [entry({ lastObserved: "deleted" as never }), "last_observed"],
    [entry({ lastError: "teleported" as never }), "last_error"],
    [entry({ region: "ap" as never }), "region"],
  ] as const) {
    await assert.rejects(j.save(bad, "event"), (e: unknown) => e instanceof InvalidJournalEntryError && e.field === field);
  }
  await assert.rejects(j.save(zeroEntry(), ""), InvalidJournalEntryError);
  assert.equal(s.sets, 0);
});

test("killed at any journal write of a launch, the next launch converges to the app's user", async () => {
  const scenarios = [
    { name: "first sign-in", profile: "android-5.0", sdk: { st: "signed-out" as const, user: "" }, app: "alice" },
    { name: "user switch", profile: "ios-1.8", sdk: { st: "token" as const, user: "v-bob" }, app: "alice", journal: "bob" },
  ];
  for (const sc of scenarios) {
    for (const torn of [false, true]) {
      for (let k = 1; k <= 8; k++) {
        const w = new World(parseProfile(sc.profile)!, { identify: sc.profile.startsWith("ios"), initialize: false, protectedData: false });
        w.st = sc.sdk.st;
        w.user = sc.sdk.user;
        if (w.st === "token") [w.env, w.region] = ["sandbox", "us"];
        w.app = { signedIn: true, appUserID: sc.app, vitalUserID: "", environment: "sandbox", region: "us" };
        const s = new DyingStorage();
        if (sc.journal) {
          await new StorageJournal(s).save(entry({ lastObserved: "token", appUserID: sc.journal, vitalUserID: "v-" + sc.journal }), "setup");
        }
        s.sets = 0;
        s.dieAt = k;
        s.torn = torn;
        const launch = () =>
          new Runner({ profile: w.profile, sdk: w.sdk(), tokens: w.tokens(), journal: new StorageJournal(s), app: () => w.app, now: () => w.now, rand: () => 0.5 }).run();
        const dying = await launch();
        const where = `${sc.name}, killed at write ${k}${torn ? " (torn)" : ""}`;
        if (s.sets < k) {
          assert.equal(dying.error, undefined, where);
          break; // the launch wrote fewer than k times
        }
        assert.ok(dying.error, `${where}: the launch did not stop`);
        s.dieAt = 0;
        const next = await launch();
        assert.ok(next.result === "applied" || next.result === "nothing-to-do", `${where}: ${next.result} ${String(next.error)}`);
        assert.equal(w.st, "token", where);
        assert.equal(w.user, "v-alice", `${where}: signed in as ${w.user}`);
        const sets = s.sets;
        assert.equal((await launch()).result, "nothing-to-do", where);
        assert.equal(s.sets, sets, `${where}: the launch after agreement wrote`);
      }
    }
  }
});

test("an aborted launch stops before its next action and journals the cancellation", async () => {
  const w = new World(parseProfile("android-5.0")!, { identify: false, initialize: false, protectedData: false });
  w.st = "token";
  w.user = "v-bob";
  w.app = { signedIn: true, appUserID: "alice", vitalUserID: "", environment: "sandbox", region: "us" };
  w.journal.entry = entry({ lastObserved: "token", appUserID: "bob", vitalUserID: "v-bob" });
  const signal = { aborted: false };
  const sdk = w.sdk();
  const signOut = sdk.signOut;
  sdk.signOut = async () => {
    await signOut();
    signal.aborted = true; // the app is backgrounded mid-launch
  };
  const out = await new Runner({ profile: w.profile, sdk, tokens: w.tokens(), journal: w.journal, app: () => w.app, signal }).run();
  assert.equal(out.result, "failed");
  assert.equal((out.error as { errorClass?: string }).errorClass, "cancelled");
  assert.deepEqual(w.journal.events, ["done sign-out", "cancelled sign-in(from token source)"]);
  assert.equal(w.tokenCalls, 0, "no token was minted after the abort");
  assert.equal(w.journal.entry.inFlight, undefined);
  assert.equal(w.journal.entry.attempts, 0, "a cancellation is no failed attempt");
});
