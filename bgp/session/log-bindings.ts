/**
 * Child loggers without repeated keys. pino concatenates each child's bindings onto its parent's, so
 * `log.child({ peer })` under a logger that already has `peer` writes `"peer":…,"peer":…` — invalid for
 * log pipelines that reject duplicate JSON keys. `childWithout` binds only what the parent lacks.
 */
import { pino, type Logger } from 'pino';

/** A child binding only the keys the parent does not already have (same or other value: parent's wins). */
export function childWithout(parent: Logger, bindings: Readonly<Record<string, unknown>>): Logger {
  // bindings() leaves out pid and hostname even when the base has them; the raw bindings string does not.
  const raw = (parent as unknown as Record<symbol, unknown>)[pino.symbols.chindingsSym];
  const have: Record<string, unknown> = { ...parent.bindings() };
  if (typeof raw === 'string') for (const k of ['pid', 'hostname']) if (raw.includes(`"${k}":`)) have[k] = true;
  const fresh: Record<string, unknown> = {};
  let n = 0;
  for (const [k, v] of Object.entries(bindings)) {
    if (k in have) continue;
    fresh[k] = v;
    n++;
  }
  return n === 0 ? parent : parent.child(fresh);
}

/**
 * Top-level keys of one JSON log line in order, repeats kept (JSON.parse would silently keep the last).
 * For tests and log checks; throws on a line that is not a JSON object.
 */
export function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let i = 0;
  let expectKey = false;
  const s = line.trim();
  if (s[0] !== '{') throw new SyntaxError(`not a JSON object: ${s.slice(0, 40)}`);
  JSON.parse(s); // well-formed first
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"') {
      let j = i + 1;
      while (s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(s.slice(i, j + 1)) as string);
      expectKey = false;
      i = j + 1;
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    if ((c === '{' && depth === 1) || (c === ',' && depth === 1)) expectKey = true;
    i++;
  }
  return keys;
}
