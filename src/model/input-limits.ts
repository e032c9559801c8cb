/**
 * Limits every resource's raw input is held to before its schema runs (hostile input: a manifest, a
 * datastore file or an API object can be anything). The schemas themselves never recurse into
 * fields they do not know (metadata's extra fields are kept as they are), so without this a value
 * nested thousands of levels deep, or an array of millions of items, would pass validation and fail
 * later where it is serialised or walked. A `__proto__` key is refused anywhere: kept as data it
 * turns into a prototype change wherever a later step copies the object key by key.
 */
export const MAX_DEPTH = 100;
export const MAX_ITEMS = 100_000;

export interface InputProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** The first place where `raw` breaks a limit, or undefined. Recursion is bounded by MAX_DEPTH. */
export function inputProblem(raw: unknown): InputProblem | undefined {
  const path: (string | number)[] = [];
  const walk = (x: unknown, depth: number): string | undefined => {
    if (typeof x !== 'object' || x === null) return undefined;
    if (depth >= MAX_DEPTH) return `nested more than ${MAX_DEPTH} levels deep`;
    if (Array.isArray(x)) {
      if (x.length > MAX_ITEMS) return `has ${x.length} items, more than the ${MAX_ITEMS} allowed`;
      for (let i = 0; i < x.length; i++) {
        path.push(i);
        const p = walk(x[i], depth + 1);
        if (p !== undefined) return p;
        path.pop();
      }
      return undefined;
    }
    if (Object.hasOwn(x, '__proto__')) {
      path.push('__proto__');
      return 'not allowed as a field name';
    }
    const keys = Object.keys(x);
    if (keys.length > MAX_ITEMS) return `has ${keys.length} fields, more than the ${MAX_ITEMS} allowed`;
    for (const k of keys) {
      path.push(k);
      const p = walk((x as Record<string, unknown>)[k], depth + 1);
      if (p !== undefined) return p;
      path.pop();
    }
    return undefined;
  };
  const message = walk(raw, 0);
  return message === undefined ? undefined : { path, message };
}
