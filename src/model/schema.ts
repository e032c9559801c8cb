import * as v from 'valibot';

/**
 * valibot building blocks the kind schemas share, where valibot's own differ from what the model
 * promises (docs/startup.md, fifth pass):
 *
 * - objects (strict, stripping or loose) that report *every* unknown field (valibot's strictObject
 *   stops at the first), reject arrays, run a missing field's schema with `undefined` so the issue
 *   says what the field needs (`required (string)`), and never copy a `__proto__` key;
 * - a string-keyed record that keeps `constructor`/`prototype` keys as data (valibot's drops them
 *   silently: a label named `constructor` is valid) and rejects `__proto__`;
 * - refinements that run on a value whose structure is valid (no type error anywhere below), like
 *   zod's superRefine, with issues at any sub-path.
 *
 * Each schema is a valibot schema with its `~run` replaced, so valibot's types (InferOutput) and
 * composition (optional, array, pipe) apply unchanged.
 */

type Dataset = { typed: boolean; value: unknown; issues?: v.BaseIssue<unknown>[] };
type Run = (
  dataset: v.UnknownDataset,
  config: v.Config<v.BaseIssue<unknown>>,
) => v.OutputDataset<unknown, v.BaseIssue<unknown>>;

/** A path item for an issue below `input` at `key`. */
function pathItem(input: unknown, key: string | number, value: unknown): v.IssuePathItem {
  return typeof key === 'number'
    ? { type: 'array', origin: 'value', input: input as unknown[], key, value }
    : { type: 'object', origin: 'value', input: input as Record<string, unknown>, key, value };
}

/** Adds an issue the way valibot does: the message from `message`, else the parse's config.message. */
function addIssue(
  dataset: Dataset,
  config: v.Config<v.BaseIssue<unknown>>,
  issue: { type: string; expected: string; input: unknown; message?: string; path?: v.IssuePathItem[] },
): void {
  const full = {
    kind: 'schema' as const,
    type: issue.type,
    input: issue.input,
    expected: issue.expected,
    received: typeof issue.input,
    message: '',
    requirement: undefined,
    path: issue.path as [v.IssuePathItem, ...v.IssuePathItem[]] | undefined,
    issues: undefined,
    lang: config.lang,
    abortEarly: config.abortEarly,
    abortPipeEarly: config.abortPipeEarly,
  };
  const m = issue.message ?? config.message;
  full.message = typeof m === 'function' ? m(full) : (m ?? `invalid ${issue.type}`);
  dataset.typed = false;
  (dataset.issues ??= []).push(full);
}

/** Runs `schema` on `value` and merges its issues into `dataset` under `key`. */
function runChild(
  dataset: Dataset,
  config: v.Config<v.BaseIssue<unknown>>,
  schema: v.GenericSchema,
  input: unknown,
  key: string | number,
  value: unknown,
): unknown {
  const child = schema['~run']({ value }, config) as Dataset;
  if (child.issues) {
    const item = pathItem(input, key, value);
    for (const issue of child.issues) {
      const path = issue.path as v.IssuePathItem[] | undefined;
      if (path) path.unshift(item);
      else (issue as { path?: v.IssuePathItem[] }).path = [item];
      (dataset.issues ??= []).push(issue);
    }
  }
  if (!child.typed) dataset.typed = false;
  return child.value;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

type Unknown = 'strict' | 'strip' | 'keep';

/** The input when it is a plain object (typed from here on); otherwise an issue and undefined. */
function plainInput(
  dataset: Dataset,
  config: v.Config<v.BaseIssue<unknown>>,
  type: 'object' | 'record',
): Record<string, unknown> | undefined {
  const input = dataset.value;
  if (!isPlainObject(input)) {
    addIssue(dataset, config, { type, expected: 'object', input });
    return undefined;
  }
  dataset.typed = true;
  return input;
}

/** The path of an object's key (not its value): where an unknown or forbidden key is reported. */
function keyPath(input: Record<string, unknown>, key: string): v.IssuePathItem[] {
  return [{ type: 'object', origin: 'key', input, key, value: input[key] } as v.IssuePathItem];
}

function objectRun(entries: v.ObjectEntries, unknown: Unknown, dropNulls: boolean): Run {
  return (ds, config) => {
    const dataset = ds as Dataset;
    const input = plainInput(dataset, config, 'object');
    if (input === undefined) return dataset as v.OutputDataset<unknown, v.BaseIssue<unknown>>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(entries)) {
      const present = Object.hasOwn(input, key) && !(dropNulls && input[key] === null);
      const value = present ? input[key] : undefined;
      const result = runChild(dataset, config, entries[key]!, input, key, value);
      if (result !== undefined || present) out[key] = result;
    }
    if (unknown !== 'strip') {
      for (const key of Object.keys(input)) {
        if (Object.hasOwn(entries, key)) continue;
        const path = keyPath(input, key);
        if (key === '__proto__') {
          addIssue(dataset, config, { type: 'key', expected: 'never', input: key, message: 'not allowed', path });
        } else if (unknown === 'strict') {
          addIssue(dataset, config, { type: 'key', expected: 'never', input: key, message: 'unknown field', path });
        } else if (!(dropNulls && input[key] === null)) {
          out[key] = input[key];
        }
      }
    }
    dataset.value = out;
    return dataset as v.OutputDataset<unknown, v.BaseIssue<unknown>>;
  };
}

function withRun<S extends v.GenericSchema>(schema: S, run: Run): S {
  Object.assign(schema, { '~run': run });
  return schema;
}

/** An object whose unknown fields are errors (each one reported). */
export function strictObject<const E extends v.ObjectEntries>(entries: E): v.StrictObjectSchema<E, undefined> {
  return withRun(v.strictObject(entries), objectRun(entries, 'strict', false));
}

/** An object whose unknown fields are dropped (Kubernetes objects: Margay reads a few fields). */
export function object<const E extends v.ObjectEntries>(entries: E): v.ObjectSchema<E, undefined> {
  return withRun(v.object(entries), objectRun(entries, 'strip', false));
}

/**
 * An object whose unknown fields are kept as they are (ObjectMeta); with `dropNulls`, null-valued
 * fields count as absent (generated manifests carry `creationTimestamp: null`).
 */
export function looseObject<const E extends v.ObjectEntries>(
  entries: E,
  opts: { readonly dropNulls?: boolean } = {},
): v.LooseObjectSchema<E, undefined> {
  return withRun(v.looseObject(entries), objectRun(entries, 'keep', opts.dropNulls === true));
}

/** A string-keyed record: every own key kept (`constructor` too), `__proto__` rejected. */
export function record<const K extends v.GenericSchema<string, string>, const V extends v.GenericSchema>(
  key: K,
  value: V,
): v.RecordSchema<K, V, undefined> {
  return withRun(v.record(key, value), (ds, config) => {
    const dataset = ds as Dataset;
    const input = plainInput(dataset, config, 'record');
    if (input === undefined) return dataset as v.OutputDataset<unknown, v.BaseIssue<unknown>>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(input)) {
      const path = keyPath(input, k);
      if (k === '__proto__') {
        addIssue(dataset, config, { type: 'key', expected: 'never', input: k, message: 'not allowed', path });
        continue;
      }
      const keyResult = key['~run']({ value: k }, config) as Dataset;
      for (const issue of keyResult.issues ?? []) {
        (issue as { path?: v.IssuePathItem[] }).path = path;
        (dataset.issues ??= []).push(issue);
      }
      out[k] = runChild(dataset, config, value, input, k, input[k]);
    }
    dataset.value = out;
    return dataset as v.OutputDataset<unknown, v.BaseIssue<unknown>>;
  });
}

/** An array of at most `max` items, its length checked before any item is (a huge array fails fast). */
export function boundedArray<const S extends v.GenericSchema>(item: S, max: number): v.ArraySchema<S, undefined> {
  const schema = v.array(item);
  const inner = schema['~run'];
  return withRun(schema, (ds, config) => {
    const input = ds.value;
    if (Array.isArray(input) && input.length > max) {
      const dataset = ds as Dataset;
      addIssue(dataset, config, {
        type: 'max_length',
        expected: `<=${max}`,
        input,
        message: `must have at most ${max} items, has ${input.length}`,
      });
      return dataset as v.OutputDataset<unknown, v.BaseIssue<unknown>>;
    }
    return inner.call(schema, ds, config);
  });
}

/** Adds an issue at `path` below the refined value. */
export type AddIssue = (path: readonly (string | number)[], message: string) => void;

/**
 * `schema` followed by a check of the whole value (cross-field rules), run only when the value's
 * structure is valid (every field the right type), like zod's superRefine.
 */
export function refined<const S extends v.GenericSchema>(
  schema: S,
  check: (value: v.InferOutput<S>, add: AddIssue) => void,
): v.SchemaWithPipe<readonly [S, v.RawCheckAction<v.InferOutput<S>>]> {
  return v.pipe(
    schema,
    v.rawCheck<v.InferOutput<S>>(({ dataset, addIssue: add }) => {
      if (!dataset.typed) return;
      const value = dataset.value;
      check(value, (path, message) =>
        add({
          message,
          path:
            path.length === 0
              ? undefined
              : (path.map((k) => pathItem(value, k, undefined)) as [v.IssuePathItem, ...v.IssuePathItem[]]),
        }),
      );
    }),
  );
}

/** A string checked by `problem` (the reason it is invalid, or undefined). */
export function checkedString(problem: (s: string) => string | undefined) {
  return v.pipe(
    v.string(),
    v.rawCheck<string>(({ dataset, addIssue: add }) => {
      if (!dataset.typed) return;
      const p = problem(dataset.value);
      if (p !== undefined) add({ message: p });
    }),
  );
}

/** A string turned into something else by `parse`; undefined from it is an issue worded by `problem`. */
export function parsedString<T>(parse: (s: string) => T | undefined, problem: (s: string) => string) {
  return v.pipe(
    v.string(),
    v.rawTransform<string, T>(({ dataset, addIssue: add, NEVER }) => {
      const r = parse(dataset.value);
      if (r !== undefined) return r;
      add({ message: problem(dataset.value) });
      return NEVER;
    }),
  );
}

/** A whole number in [min, max] (valibot: integer + range). */
export function int(min?: number, max?: number) {
  return v.pipe(
    v.number(),
    v.integer(),
    v.minValue(min ?? Number.MIN_SAFE_INTEGER),
    v.maxValue(max ?? Number.MAX_SAFE_INTEGER),
  );
}
