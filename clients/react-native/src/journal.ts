// The journal: what the runner persists per installation, and its storage
// on an AsyncStorage-compatible port.

import { type Action, type WireAction, actionsEqual, fromWire, toWire } from "./action.js";
import { type SDKErrorName, parseSDKError } from "./errors.js";
import { type Environment, type Region, type State, parseEnvironment, parseRegion, parseState } from "./fsm.js";
import { formatTime, parseTime } from "./observation.js";

/** What the runner persists per installation (Go's reconcile.JournalEntry). Times are Unix ms, 0: none. */
export interface JournalEntry {
  lastObserved: State | "";
  environment: Environment | "";
  region: Region | "";
  appUserID: string;
  vitalUserID: string;
  /** The action being applied; a launch that finds it set knows its predecessor died mid-action. */
  inFlight: Action | undefined;
  lastAction: Action | undefined;
  lastError: SDKErrorName;
  attempts: number;
  nextAttemptAt: number;
  lastResolvedAt: number;
}

export function zeroEntry(): JournalEntry {
  return {
    lastObserved: "", environment: "", region: "", appUserID: "", vitalUserID: "", inFlight: undefined,
    lastAction: undefined, lastError: "", attempts: 0, nextAttemptAt: 0, lastResolvedAt: 0,
  };
}

export function entriesEqual(a: JournalEntry, b: JournalEntry): boolean {
  return (
    a.lastObserved === b.lastObserved && a.environment === b.environment && a.region === b.region &&
    a.appUserID === b.appUserID && a.vitalUserID === b.vitalUserID &&
    actionsEqual(a.inFlight, b.inFlight) && actionsEqual(a.lastAction, b.lastAction) &&
    a.lastError === b.lastError && a.attempts === b.attempts && a.nextAttemptAt === b.nextAttemptAt &&
    a.lastResolvedAt === b.lastResolvedAt
  );
}

/** A journal refused an entry or event it cannot store; nothing was changed. */
export class InvalidJournalEntryError extends Error {
  constructor(readonly field: string) {
    super("journal: invalid entry: " + field);
    this.name = "InvalidJournalEntryError";
  }
}

/** The first field that makes e unstorable with event, or undefined. */
export function validateEntry(e: JournalEntry, event: string): InvalidJournalEntryError | undefined {
  if (event === "") return new InvalidJournalEntryError("event");
  if (e.lastObserved !== "" && !parseState(e.lastObserved)) return new InvalidJournalEntryError("last_observed");
  if (e.environment !== "" && !parseEnvironment(e.environment)) return new InvalidJournalEntryError("environment");
  if (e.region !== "" && !parseRegion(e.region)) return new InvalidJournalEntryError("region");
  if (!Number.isInteger(e.attempts) || e.attempts < 0) return new InvalidJournalEntryError("attempts");
  if (parseSDKError(e.lastError) === undefined) return new InvalidJournalEntryError("last_error");
  if (!Number.isFinite(e.nextAttemptAt) || !Number.isFinite(e.lastResolvedAt)) return new InvalidJournalEntryError("time");
  return undefined;
}

/** The entry's JSON form (the conformance protocol's, snake_case). */
export function entryToJSON(e: JournalEntry): Record<string, unknown> {
  return {
    last_observed: e.lastObserved, environment: e.environment, region: e.region, app_user_id: e.appUserID,
    vital_user_id: e.vitalUserID, in_flight: e.inFlight ? toWire(e.inFlight) : null,
    last_action: e.lastAction ? toWire(e.lastAction) : null, last_error: e.lastError, attempts: e.attempts,
    next_attempt_at: e.nextAttemptAt ? formatTime(e.nextAttemptAt) : null,
    last_resolved_at: e.lastResolvedAt ? formatTime(e.lastResolvedAt) : null,
  };
}

function wireAction(v: unknown, field: string): Action | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object") throw new InvalidJournalEntryError(field);
  try {
    return fromWire(v as WireAction, field);
  } catch {
    throw new InvalidJournalEntryError(field);
  }
}

function s(v: unknown, field: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new InvalidJournalEntryError(field);
  return v;
}

function t(v: unknown, field: string): number {
  const x = s(v, field);
  if (x === "") return 0;
  const ms = parseTime(x);
  if (ms === undefined) throw new InvalidJournalEntryError(field);
  return ms;
}

/** Reads entryToJSON's form; throws InvalidJournalEntryError naming a bad field. */
export function entryFromJSON(raw: unknown): JournalEntry {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new InvalidJournalEntryError("(entry)");
  const w = raw as Record<string, unknown>;
  const e: JournalEntry = {
    lastObserved: s(w.last_observed, "last_observed") as State | "",
    environment: s(w.environment, "environment") as Environment | "",
    region: s(w.region, "region") as Region | "",
    appUserID: s(w.app_user_id, "app_user_id"),
    vitalUserID: s(w.vital_user_id, "vital_user_id"),
    inFlight: wireAction(w.in_flight, "in_flight"),
    lastAction: wireAction(w.last_action, "last_action"),
    lastError: s(w.last_error, "last_error") as SDKErrorName,
    attempts: w.attempts === undefined || w.attempts === null ? 0 : (w.attempts as number),
    nextAttemptAt: t(w.next_attempt_at, "next_attempt_at"),
    lastResolvedAt: t(w.last_resolved_at, "last_resolved_at"),
  };
  const bad = validateEntry(e, "load");
  if (bad) throw bad;
  return e;
}

/**
 * Journal persists the runner's entry for one installation. load returns
 * the zero entry when there is none. save writes one entry, with the
 * history line event, so that a kill at any instant leaves either the old
 * entry or the new one; it refuses an invalid entry
 * (InvalidJournalEntryError) and changes nothing then.
 */
export interface Journal {
  load(): Promise<JournalEntry>;
  save(e: JournalEntry, event: string): Promise<void>;
}

/**
 * The storage port: AsyncStorage's getItem and setItem, which
 * @react-native-async-storage/async-storage, MMKV adapters and
 * window.localStorage wrappers all offer.
 */
export interface KeyValueStorage {
  getItem(key: string): Promise<string | null>;
  setItem(key: string, value: string): Promise<void>;
}

/** A journal in memory (tests, and apps that choose not to persist). */
export class MemoryJournal implements Journal {
  entry = zeroEntry();
  readonly events: string[] = [];
  async load(): Promise<JournalEntry> {
    return { ...this.entry };
  }
  async save(e: JournalEntry, event: string): Promise<void> {
    const bad = validateEntry(e, event);
    if (bad) throw bad;
    this.entry = { ...e };
    this.events.push(event);
  }
}

// FNV-1a, 32 bits: a torn or hand-edited slot must not be read as an entry.
function checksum(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

const FORMAT = 1;

interface Slot {
  seq: number;
  entry: JournalEntry;
}

/**
 * StorageJournal keeps the entry in two slots of a KeyValueStorage, KEY.0
 * and KEY.1, each one document {"v":1,"seq":N,"entry":{…},"event":"…","sum":…}.
 * A save writes the slot the current entry is not in, with the next
 * sequence number, in one setItem; load reads both and keeps the valid one
 * with the higher sequence. So a kill between any two writes, or during
 * one on a storage whose setItem is not atomic, leaves the last entry whose
 * write completed, and the next launch plans from it and from what the SDK
 * reports (the observation is level-based). A slot that does not parse or
 * whose checksum fails is ignored, never repaired in place.
 *
 * A consistent launch reads the two slots and writes nothing.
 */
export class StorageJournal implements Journal {
  private current: Slot | undefined;
  private loaded = false;

  constructor(private readonly storage: KeyValueStorage, private readonly key = "vitalsync.journal") {}

  private async readSlot(i: number): Promise<Slot | undefined> {
    const text = await this.storage.getItem(`${this.key}.${i}`);
    if (text === null) return undefined;
    try {
      const doc = JSON.parse(text) as { v?: unknown; seq?: unknown; entry?: unknown; sum?: unknown };
      if (doc.v !== FORMAT || typeof doc.seq !== "number" || !Number.isInteger(doc.seq) || doc.seq < 1) return undefined;
      if (doc.sum !== checksum(JSON.stringify(doc.entry) + "#" + doc.seq)) return undefined;
      return { seq: doc.seq, entry: entryFromJSON(doc.entry) };
    } catch {
      return undefined;
    }
  }

  async load(): Promise<JournalEntry> {
    const [a, b] = [await this.readSlot(0), await this.readSlot(1)];
    this.current = a && b ? (a.seq > b.seq ? a : b) : (a ?? b);
    this.loaded = true;
    return this.current ? { ...this.current.entry } : zeroEntry();
  }

  async save(e: JournalEntry, event: string): Promise<void> {
    const bad = validateEntry(e, event);
    if (bad) throw bad;
    if (!this.loaded) await this.load();
    const seq = (this.current?.seq ?? 0) + 1;
    const entry = entryToJSON(e);
    const body = JSON.stringify(entry);
    const doc = `{"v":${FORMAT},"seq":${seq},"entry":${body},"event":${JSON.stringify(event)},"sum":"${checksum(body + "#" + seq)}"}`;
    await this.storage.setItem(`${this.key}.${seq % 2}`, doc);
    this.current = { seq, entry: { ...e } };
  }
}
