// The Node engine entry: the TypeScript engine behind vitalsync's
// conformance protocol (docs/conformance/protocol.md). It owns the planner,
// the runner and the journal's persistence; every SDK and token-source call,
// the clock and every random draw are requests to the harness.
//
//   vitalsync conformance --engine 'node dist/engine/engine.js'

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname, basename, join } from "node:path";
import { createInterface } from "node:readline";
import {
  type Journal, type JournalEntry, type KeyValueStorage, type Observation, type SDK, type SDKErrorName, type TokenSource,
  FieldError, Runner, withProfileOverrides, SDKError, StorageJournal, TransientError, decodeObservation, entryFromJSON, entryToJSON,
  observationFromJSON, outcomeToJSON, parseProfile, parseTime, plan, planToJSON, recordSDKError,
  statusFromStrings, type Environment, type Region,
} from "../src/index.js";

const PROTOCOL = 1;

type Msg = Record<string, unknown>;

function send(m: Msg): void {
  process.stdout.write(JSON.stringify(m) + "\n");
}

let now = 0;
let nextCallID = 1;
const pending = new Map<number, { resolve: (v: Msg) => void; reject: (e: Error) => void }>();

function setNow(v: unknown): void {
  if (typeof v === "string") {
    const t = parseTime(v);
    if (t !== undefined) now = t;
  }
}

/** The error an answer carries, in the engine's vocabulary. */
function answerError(e: Msg): Error {
  const message = typeof e.message === "string" ? e.message : "error";
  if (typeof e.sdk_error === "string" && e.sdk_error !== "") return new SDKError(e.sdk_error as Exclude<SDKErrorName, "">, message);
  if (e.transient === true) return new TransientError(message, typeof e.retry_after_ms === "number" ? e.retry_after_ms : 0);
  return new Error(message);
}

/** A call into the world; resolves with the answer's result. */
function call(name: string, args?: Msg): Promise<Msg> {
  const id = nextCallID++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    send(args ? { call: name, id, args } : { call: name, id });
  });
}

/**
 * A key-value storage in one file, each setItem a whole-file write to a
 * temporary file, fsync'd and renamed over the old one: atomic, as
 * AsyncStorage's iOS manifest write is.
 */
class FileStorage implements KeyValueStorage {
  constructor(private readonly path: string) {}
  private read(): Record<string, string> {
    try {
      const v = JSON.parse(readFileSync(this.path, "utf8")) as unknown;
      return typeof v === "object" && v !== null ? (v as Record<string, string>) : {};
    } catch {
      return {};
    }
  }
  async getItem(key: string): Promise<string | null> {
    return this.read()[key] ?? null;
  }
  async setItem(key: string, value: string): Promise<void> {
    const all = this.read();
    all[key] = value;
    const tmp = join(dirname(this.path), "." + basename(this.path) + ".tmp");
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, JSON.stringify(all));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
  }
}

/** The journal at path, reporting each durable write to the harness. */
function journalAt(path: string, report: boolean): Journal & { put(e: JournalEntry): Promise<void> } {
  const j = new StorageJournal(new FileStorage(path));
  return {
    load: () => j.load(),
    async save(e, event) {
      await j.save(e, event);
      if (report) await call("journal.saved", { entry: entryToJSON(e), event });
    },
    put: (e) => j.save(e, "put"),
  };
}


function worldSDK(opts: { identify?: boolean; initialize?: boolean; protected_data?: boolean }): SDK {
  const sdk: SDK = {
    status: async () => statusFromStrings(((await call("sdk.status")).status as string[] | null) ?? []),
    currentUserID: async () => ((await call("sdk.currentUserId")).user_id as string | null) ?? "",
    environment: async () => {
      const r = await call("sdk.environment");
      return typeof r.environment === "string" && typeof r.region === "string"
        ? { environment: r.environment as Environment, region: r.region as Region }
        : undefined;
    },
    signIn: async (token) => void (await call("sdk.signIn", { token })),
    signOut: async () => void (await call("sdk.signOut")),
  };
  if (opts.identify) {
    sdk.identifyExternalUser = async (externalUserID, token) =>
      void (await call("sdk.identifyExternalUser", { external_user_id: externalUserID, token }));
  }
  if (opts.initialize) sdk.initialize = async () => void (await call("sdk.initialize"));
  if (opts.protected_data) sdk.protectedDataAvailable = async () => (await call("sdk.protectedDataAvailable")).available === true;
  return sdk;
}

const worldTokens: TokenSource = {
  signInToken: async (app) => {
    const r = await call("tokens.signInToken", { app_user_id: app });
    return { user_id: String(r.user_id ?? ""), sign_in_token: String(r.sign_in_token ?? "") };
  },
  resolveVitalUser: async (app) => ({ user_id: String((await call("tokens.resolveVitalUser", { app_user_id: app })).user_id ?? "") }),
};

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

async function command(m: Msg): Promise<Msg> {
  switch (m.cmd) {
    case "hello":
      return { name: "vitalsync-react-native", version: "0.1.0", protocol: PROTOCOL, capabilities: ["plan", "decode", "launch", "record"] };
    case "plan": {
      let o: Observation;
      try {
        o = typeof m.observation_text === "string" ? decodeObservation(m.observation_text) : observationFromJSON(m.observation);
      } catch (e) {
        if (e instanceof FieldError) return { invalid: { field: e.field } };
        throw e;
      }
      o.profile = withProfileOverrides(o.profile, m.profile_overrides);
      const p = plan(o);
      return { observed: p.observed, discrepancy: p.discrepancy, plan: { terminal: false, deferred: false, ...planToJSON(p) } };
    }
    case "launch": {
      const base = parseProfile(str(m.profile));
      if (!base) throw new Error(`unknown profile "${str(m.profile)}"`);
      const profile = withProfileOverrides(base, m.profile_overrides);
      const app = (m.app ?? {}) as Msg;
      const cfg = (m.config ?? {}) as Msg;
      const b = (cfg.backoff ?? null) as Msg | null;
      const runner = new Runner({
        profile,
        sdk: worldSDK((m.sdk ?? {}) as Msg),
        tokens: worldTokens,
        journal: journalAt(str(m.journal), true),
        app: () => ({
          signedIn: app.signed_in === true, appUserID: str(app.app_user_id), vitalUserID: str(app.vital_user_id),
          environment: str(app.environment) as Environment | "", region: str(app.region) as Region | "",
        }),
        now: () => now,
        rand: async () => Number((await call("rand")).value),
        ...(b ? { backoff: { baseMs: Number(b.base_ms), capMs: Number(b.cap_ms), jitter: Number(b.jitter) } } : {}),
        allowAPIKey: cfg.allow_api_key === true,
        resolveIntervalMs: typeof cfg.resolve_interval_ms === "number" ? cfg.resolve_interval_ms : 0,
        log: (line) => process.stderr.write(line + "\n"),
      });
      return outcomeToJSON(await runner.run());
    }
    case "record":
      await recordSDKError(journalAt(str(m.journal), true), str(m.sdk_error) as SDKErrorName);
      return {};
    case "journal.put":
      await journalAt(str(m.journal), false).put(entryFromJSON(m.entry));
      return {};
    case "journal.get":
      return { entry: entryToJSON(await journalAt(str(m.journal), false).load()) };
  }
  throw new Error(`unknown command "${String(m.cmd)}"`);
}

// One command at a time, in order; answers are handled as they arrive.
let queue: Promise<void> = Promise.resolve();

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
  if (line.trim() === "") return;
  let m: Msg;
  try {
    m = JSON.parse(line) as Msg;
  } catch {
    process.stderr.write("engine: a line that is not JSON\n");
    return;
  }
  setNow(m.now);
  if (typeof m.answer === "number") {
    const p = pending.get(m.answer);
    if (!p) return;
    pending.delete(m.answer);
    if (m.error) p.reject(answerError(m.error as Msg));
    else p.resolve((m.result ?? {}) as Msg);
    return;
  }
  if (typeof m.cmd === "string") {
    const id = m.id;
    queue = queue.then(async () => {
      setNow(m.now);
      try {
        send({ reply: id, result: await command(m) });
      } catch (e) {
        send({ reply: id, error: { message: e instanceof Error ? e.message : String(e) } });
      }
    });
  }
});
rl.on("close", () => {
  void queue.then(() => process.exit(0));
});

