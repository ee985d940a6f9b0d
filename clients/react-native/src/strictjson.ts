// A strict JSON reader for outside documents: JSON.parse keeps the last of
// duplicate keys and says nothing of keys it does not know; this reader
// refuses both, naming the key by its dotted path, as vitalsync's Go
// CheckJSONKeys does.

import { FieldError, observationFromJSON, type Observation } from "./observation.js";
import { observationKeys } from "./schema.js";

class Syntax extends Error {}

/** Parses text as one JSON value, checking object keys against schema (paths as "app.signed_in"). */
export function parseStrict(text: string, schema: Record<string, readonly string[]>): unknown {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i;
    if (text[i] !== '"') throw new Syntax();
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    if (i >= text.length) throw new Syntax();
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): unknown => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const out: Record<string, unknown> = {};
      const known = schema[path];
      ws();
      if (text[i] === "}") {
        i++;
        return out;
      }
      for (;;) {
        ws();
        const key = str();
        const field = path ? `${path}.${key}` : key;
        if (Object.prototype.hasOwnProperty.call(out, key)) throw new FieldError(field, "duplicate key");
        if (known && !known.includes(key)) {
          const near = known.find((k) => k.toLowerCase() === key.toLowerCase());
          throw new FieldError(field, near ? `unknown field (names are case-sensitive: "${near}")` : "unknown field");
        }
        ws();
        if (text[i] !== ":") throw new Syntax();
        i++;
        out[key] = value(field);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return out;
        }
        throw new Syntax();
      }
    }
    if (c === "[") {
      i++;
      const out: unknown[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return out;
      }
      for (;;) {
        out.push(value(`${path}[${out.length}]`));
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return out;
        }
        throw new Syntax();
      }
    }
    if (c === '"') return str();
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 64));
    if (!m) throw new Syntax();
    i += m[0].length;
    return JSON.parse(m[0]);
  };
  try {
    const v = value("");
    ws();
    if (i !== text.length) throw new FieldError("(document)", "trailing data after the observation");
    return v;
  } catch (e) {
    if (e instanceof Syntax || e instanceof SyntaxError) throw new FieldError("(document)", "not valid JSON");
    throw e;
  }
}

/** The largest observation document read (64 KiB, as the Go decoder). */
export const MaxObservationBytes = 64 << 10;

/**
 * decodeObservation reads one observation document strictly: unknown
 * fields, names in another case, duplicate keys, trailing data, unknown
 * names and impossible combinations throw a FieldError naming the field.
 */
export function decodeObservation(text: string): Observation {
  if (text.length > MaxObservationBytes) throw new FieldError("(document)", `larger than ${MaxObservationBytes} bytes`);
  return observationFromJSON(parseStrict(text, observationKeys));
}
