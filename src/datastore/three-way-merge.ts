/**
 * kubectl-apply-style three-way merge for objects that a manifest file owns (JSON merge patch
 * semantics, as kubectl uses for custom resources; lists are replaced whole):
 *   - a field the file sets now gets the file's value (maps merge recursively);
 *   - a field the file set last time (`last`) and no longer sets is removed;
 *   - any other field of the live object (written through the API) is kept.
 * Pure: no I/O.
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

type JsonMap = { [k: string]: Json };

function isMap(v: unknown): v is JsonMap {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function threeWayMerge(last: Json | undefined, desired: Json, live: Json | undefined): Json {
  if (!isMap(desired) || !isMap(live)) return structuredClone(desired);
  const out: JsonMap = { ...live };
  if (isMap(last)) {
    for (const k of Object.keys(last)) if (!(k in desired)) delete out[k];
  }
  for (const [k, v] of Object.entries(desired)) {
    out[k] = threeWayMerge(isMap(last) ? last[k] : undefined, v, live[k]);
  }
  return out;
}
