// The Node engine entry, driven over its stdin and stdout as the harness
// drives it: the runner vectors replayed through the protocol against the
// scripted world, and a kill at every journal write followed by a restart
// that must read back the last entry reported saved.

import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { after, test } from "node:test";
import { type SDKErrorName, formatTime, needsIdentify, parseProfile, SDKError, TransientError } from "../src/index.js";
import { World, comparablePasses, vectorsDir, withOverrides } from "./world.js";

const engineJS = resolve(__dirname, "../engine/engine.js");
const dir = mkdtempSync(join(tmpdir(), "vitalsync-engine-"));
after(() => rmSync(dir, { recursive: true, force: true }));

type Msg = Record<string, unknown>;

/** One engine process and the world that answers its calls. */
class Driver {
  private proc: ChildProcessWithoutNullStreams;
  private lines: Msg[] = [];
  private waiting: ((m: Msg) => void) | undefined;
  private id = 0;
  events: string[] = [];
  entry: Msg | undefined;
  /** When set, the process is killed on receipt of the n-th journal.saved (1-based). */
  killAtSave = 0;
  killed = false;
  private saves = 0;
  private exited = false;

  constructor(readonly world: World) {
    this.proc = spawn(process.execPath, [engineJS], { stdio: ["pipe", "pipe", "pipe"] });
    this.proc.stderr.resume();
    createInterface({ input: this.proc.stdout }).on("line", (l) => {
      const m = JSON.parse(l) as Msg;
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(m);
      } else this.lines.push(m);
    });
    this.proc.on("exit", () => {
      this.exited = true;
      if (this.waiting) this.waiting({ exited: true });
    });
  }

  private next(): Promise<Msg> {
    const m = this.lines.shift();
    if (m) return Promise.resolve(m);
    if (this.exited) return Promise.resolve({ exited: true });
    return new Promise((r, reject) => {
      const timer = setTimeout(() => reject(new Error("the engine did not answer within 20 s")), 20_000);
      this.waiting = (m) => {
        clearTimeout(timer);
        r(m);
      };
    });
  }

  private write(m: Msg): void {
    this.proc.stdin.write(JSON.stringify({ ...m, now: formatTime(this.world.now) }) + "\n");
  }

  /** Sends a command and answers its calls until the reply comes (or the process is killed). */
  async command(cmd: string, fields: Msg = {}): Promise<Msg | undefined> {
    const r = await this.commandOrError(cmd, fields);
    assert.equal(r?.error, undefined, `${cmd}: ${JSON.stringify(r?.error)}`);
    return r?.result as Msg | undefined;
  }

  /** command's reply as it came: {result} or {error}; undefined when the process was killed. */
  async commandOrError(cmd: string, fields: Msg = {}): Promise<Msg | undefined> {
    const id = ++this.id;
    this.write({ id, cmd, ...fields });
    for (;;) {
      const m = await this.next();
      if (m.exited) return undefined;
      if (m.reply === id) return m;
      assert.equal(typeof m.call, "string", `unexpected line ${JSON.stringify(m)}`);
      const answer = await this.answer(String(m.call), (m.args ?? {}) as Msg);
      if (this.killed) return undefined;
      this.write({ answer: m.id, ...answer });
    }
  }

  private async answer(name: string, args: Msg): Promise<Msg> {
    const sdk = this.world.sdk();
    const tokens = this.world.tokens();
    const run = async (f: () => Promise<Msg>): Promise<Msg> => {
      try {
        return { result: await f() };
      } catch (e) {
        if (e instanceof SDKError) return { error: { sdk_error: e.sdkError, message: e.message } };
        if (e instanceof TransientError) return { error: { transient: true, retry_after_ms: e.retryAfterMs, message: e.message } };
        return { error: { message: (e as Error).message } };
      }
    };
    switch (name) {
      case "sdk.status": {
        const s = await sdk.status();
        const names = ["configured", "signedIn", "useApiKey", "useSignInToken", "pendingReauthentication"];
        return { result: { status: names.filter((_, i) => s & (1 << i)) } };
      }
      case "sdk.currentUserId":
        return { result: { user_id: (await sdk.currentUserID()) || null } };
      case "sdk.environment": {
        const e = await sdk.environment!();
        return { result: { environment: e?.environment ?? null, region: e?.region ?? null } };
      }
      case "sdk.initialize":
        return run(async () => (await sdk.initialize!(), {}));
      case "sdk.protectedDataAvailable":
        return { result: { available: await sdk.protectedDataAvailable!() } };
      case "sdk.signIn":
        return run(async () => (await sdk.signIn(String(args.token)), {}));
      case "sdk.identifyExternalUser":
        assert.ok(sdk.identifyExternalUser, "identifyExternalUser called in a world without it");
        return run(async () => (await sdk.identifyExternalUser!(String(args.external_user_id), String(args.token)), {}));
      case "sdk.signOut":
        return run(async () => (await sdk.signOut(), {}));
      case "tokens.signInToken":
        return run(async () => ({ ...(await tokens.signInToken(String(args.app_user_id))) }));
      case "tokens.resolveVitalUser":
        return run(async () => ({ ...(await tokens.resolveVitalUser!(String(args.app_user_id))) }));
      case "rand":
        return { result: { value: 0.5 } };
      case "journal.saved":
        this.saves++;
        this.events.push(String(args.event));
        this.entry = args.entry as Msg;
        if (this.killAtSave === this.saves) {
          this.killed = true;
          this.proc.kill("SIGKILL");
        }
        return { result: {} };
    }
    assert.fail(`unknown call ${name}`);
  }

  close(): void {
    this.proc.stdin.end();
  }
}

interface RunnerCase {
  name: string;
  setup: { profile: string; profile_overrides?: { detects_deletion?: boolean } | null; sdk: { identify: boolean; initialize: boolean; protected_data: boolean } };
  steps: (Msg & { op: string; line: number })[];
}

const cases = (JSON.parse(readFileSync(resolve(vectorsDir, "runner.json"), "utf8")) as { cases: RunnerCase[] }).cases;

function launchFields(c: RunnerCase, w: World, journal: string): Msg {
  return {
    journal, profile: c.setup.profile, profile_overrides: c.setup.profile_overrides ?? null, sdk: c.setup.sdk,
    app: {
      signed_in: w.app.signedIn, app_user_id: w.app.appUserID, vital_user_id: w.app.vitalUserID,
      environment: w.app.environment, region: w.app.region,
    },
    config: { backoff: { base_ms: 30000, cap_ms: 3600000, jitter: 0.2 }, allow_api_key: false, resolve_interval_ms: 0 },
  };
}

function newWorld(c: RunnerCase): World {
  const p = withOverrides(parseProfile(c.setup.profile)!, c.setup.profile_overrides);
  return new World(p, { identify: c.setup.sdk.identify, initialize: c.setup.sdk.initialize, protectedData: c.setup.sdk.protected_data });
}

function applyStep(w: World, s: Msg): boolean {
  switch (s.op) {
    case "app": {
      const a = s.app as Msg;
      w.app = {
        signedIn: a.signed_in === true, appUserID: String(a.app_user_id ?? ""), vitalUserID: String(a.vital_user_id ?? ""),
        environment: String(a.environment ?? "") as "", region: String(a.region ?? "") as "",
      };
      return true;
    }
    case "sdk":
      w.setSDK(s.sdk as Parameters<World["setSDK"]>[0]);
      return true;
    case "tokens":
      w.failTokens(s.tokens as Parameters<World["failTokens"]>[0]);
      return true;
    case "backend":
      Object.assign(w.users, s.backend);
      return true;
    case "advance":
      w.now += Number(s.advance_ms);
      return true;
  }
  return false;
}

test("the engine entry replays every runner transcript over the protocol", async () => {
  for (const [n, c] of cases.entries()) {
    const w = newWorld(c);
    const d = new Driver(w);
    const journal = join(dir, `case-${n}.journal`);
    const hello = await d.command("hello", { protocol: 1 });
    assert.equal(hello?.protocol, 1);
    for (const s of c.steps) {
      const where = `${c.name} (line ${s.line})`;
      if (applyStep(w, s)) continue;
      if (s.op === "journal") {
        await d.command("journal.put", { journal, entry: s.journal });
        continue;
      }
      const from = d.events.length;
      if (s.op === "record") {
        await d.command("record", { journal, sdk_error: s.record as SDKErrorName });
        const want = s.expect_journal as { events: string[] };
        assert.deepEqual(d.events.slice(from), want.events, `${where}: journal events`);
        continue;
      }
      w.calls = [];
      const reply = (await d.commandOrError("launch", launchFields(c, w, journal)))!;
      if (needsIdentifyWithout(c)) {
        // The Go runner refuses such an SDK (reconcile.NewRunner), and so does this one.
        assert.match(String((reply.error as Msg | undefined)?.message), /identifyExternalUser/, `${where}: not refused`);
        break;
      }
      assert.equal(reply.error, undefined, `${where}: ${JSON.stringify(reply.error)}`);
      const out = reply.result as Msg;
      const e = s.expect as Msg & { calls: string[]; journal: { events: string[] }; passes: Msg[] };
      assert.deepEqual(w.calls, e.calls, `${where}: calls`);
      assert.deepEqual(d.events.slice(from), e.journal.events, `${where}: journal events`);
      for (const k of ["result", "state", "retry_at", "interrupted", "divergence", "error"]) assert.deepEqual(out[k], e[k], `${where}: ${k}`);
      const got = (out.passes as Msg[]).map((p) => ({ discrepancy: p.discrepancy, plan: p.plan, applied: p.applied }));
      assert.deepEqual(comparablePasses(got, e.passes), e.passes.map((p) => ({ discrepancy: p.discrepancy, plan: p.plan, applied: p.applied })), `${where}: passes`);
    }
    d.close();
  }
});

/** A case whose profile signs in through identify in a world without it. */
function needsIdentifyWithout(c: RunnerCase): boolean {
  const p = withOverrides(parseProfile(c.setup.profile)!, c.setup.profile_overrides);
  return !c.setup.sdk.identify && needsIdentify(p);
}

test("killed at each journal write, a restarted engine reads back the last entry it reported saved", async () => {
  // The first launch of every transcript, killed at its k-th write for each k.
  let kills = 0;
  for (const [n, c] of cases.entries()) {
    if (needsIdentifyWithout(c)) continue;
    for (let k = 1; ; k++) {
      const w = newWorld(c);
      let d = new Driver(w);
      d.killAtSave = k;
      const journal = join(dir, `crash-${n}-${k}.journal`);
      await d.command("hello", { protocol: 1 });
      let launched = false;
      for (const s of c.steps) {
        if (applyStep(w, s)) continue;
        if (s.op === "journal") await d.command("journal.put", { journal, entry: s.journal });
        else if (s.op === "launch") {
          await d.command("launch", launchFields(c, w, journal));
          launched = true;
          break;
        } else break;
      }
      if (!launched || !d.killed) {
        d.close();
        break; // fewer than k writes: every kill point of this case is covered
      }
      kills++;
      const saved = d.entry;
      d = new Driver(w);
      await d.command("hello", { protocol: 1 });
      const got = await d.command("journal.get", { journal });
      assert.deepEqual(got?.entry, saved, `${c.name}: after a kill at write ${k}`);
      // And the next launch converges without leaving another user's session.
      for (let i = 0; i < 3; i++) {
        const out = (await d.command("launch", launchFields(c, w, journal)))!;
        if (out.result === "nothing-to-do") break;
      }
      if (w.app.signedIn && w.st === "token") {
        assert.equal(w.user.toLowerCase(), (w.users[w.app.appUserID] ?? "").toLowerCase(), `${c.name}: kill at write ${k} left another user's session`);
      }
      d.close();
    }
  }
  assert.ok(kills >= 2 * cases.length, `only ${kills} kills`);
});
