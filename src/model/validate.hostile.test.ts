import { describe, expect, it } from 'vitest';
import { validateResource } from './index.js';
import { MAX_DEPTH, MAX_ITEMS } from './input-limits.js';
import { catchValidationError } from './testing/catch-validation-error.js';

/** Hostile input: a clear ValidationError naming the field, never a crash or a changed prototype. */
const M = 'margay.dev/v1';
const pool = (over: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) => ({
  apiVersion: M,
  kind: 'IPPool',
  metadata: { name: 'p' },
  spec: { cidr: '10.1.0.0/16', ...spec },
  ...over,
});

describe('__proto__, constructor and prototype keys', () => {
  it.each([
    [
      'the object',
      '{"apiVersion":"margay.dev/v1","kind":"IPPool","metadata":{"name":"p"},"spec":{"cidr":"10.1.0.0/16"},"__proto__":{"x":1}}',
      '__proto__',
    ],
    [
      'metadata',
      '{"apiVersion":"margay.dev/v1","kind":"IPPool","metadata":{"name":"p","__proto__":{"polluted":true}},"spec":{"cidr":"10.1.0.0/16"}}',
      'metadata.__proto__',
    ],
    [
      'labels',
      '{"apiVersion":"margay.dev/v1","kind":"IPPool","metadata":{"name":"p","labels":{"__proto__":"x"}},"spec":{"cidr":"10.1.0.0/16"}}',
      'metadata.labels.__proto__',
    ],
    [
      'annotations',
      '{"apiVersion":"v1","kind":"Node","metadata":{"name":"n","annotations":{"__proto__":{"a":"b"}}}}',
      'metadata.annotations.__proto__',
    ],
    [
      'a dropped field of a Kubernetes object',
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"n"},"spec":{"x":{"__proto__":{"a":1}}}}',
      'spec.x.__proto__',
    ],
    [
      'a rule',
      '{"apiVersion":"margay.dev/v1","kind":"GlobalNetworkPolicy","metadata":{"name":"g"},"spec":{"ingress":[{"action":"Allow","__proto__":{"action":"Deny"}}]}}',
      'spec.ingress[0].__proto__',
    ],
  ])('in %s: an error naming the key, no prototype changed', (_where, json, path) => {
    const e = catchValidationError(() => validateResource(JSON.parse(json)));
    expect(e.issues).toEqual([{ path, message: 'not allowed as a field name' }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('keeps constructor and prototype as plain data (valid label and annotation keys)', () => {
    const raw = JSON.parse(
      '{"apiVersion":"v1","kind":"Node","metadata":{"name":"n","labels":{"constructor":"a","prototype":"b"},"annotations":{"constructor":"c"},"constructor":{"x":1}}}',
    );
    const r = validateResource(raw);
    expect(Object.getPrototypeOf(r.metadata)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(r.metadata.labels)).toBe(Object.prototype);
    expect(r.metadata.labels).toEqual({ constructor: 'a', prototype: 'b' });
    expect(r.metadata.annotations).toEqual({ constructor: 'c' });
    expect(Object.hasOwn(r.metadata, 'constructor')).toBe(true);
  });

  it('a constructor key in a strict spec is an unknown field', () => {
    const e = catchValidationError(() => validateResource(JSON.parse(JSON.stringify(pool({}, { constructor: 1 })))));
    expect(e.issues).toEqual([{ path: 'spec.constructor', message: 'unknown field' }]);
  });
});

describe('size and depth', () => {
  it('rejects nesting deeper than MAX_DEPTH, naming where', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    const e = catchValidationError(() =>
      validateResource({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', managedFields: deep } }),
    );
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]!.message).toBe(`nested more than ${MAX_DEPTH} levels deep`);
    expect(e.issues[0]!.path).toMatch(/^metadata\.managedFields(\.d)+$/);
  });

  it('rejects an array longer than MAX_ITEMS anywhere, before looking at its items', () => {
    const huge = new Array(MAX_ITEMS + 1).fill('x');
    const e = catchValidationError(() =>
      validateResource({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', finalizers: huge } }),
    );
    expect(e.issues).toEqual([
      { path: 'metadata.finalizers', message: `has ${MAX_ITEMS + 1} items, more than the ${MAX_ITEMS} allowed` },
    ]);
  });

  it('checks a bounded list length before its items (IPReservation: 10000)', () => {
    const e = catchValidationError(() =>
      validateResource({
        apiVersion: M,
        kind: 'IPReservation',
        metadata: { name: 'r' },
        spec: { reservedCIDRs: new Array(20_000).fill('nope') },
      }),
    );
    expect(e.issues).toEqual([{ path: 'spec.reservedCIDRs', message: 'must have at most 10000 items, has 20000' }]);
  });

  it('lists at most 50 problems, then how many more', () => {
    const e = catchValidationError(() =>
      validateResource({
        apiVersion: M,
        kind: 'IPReservation',
        metadata: { name: 'r' },
        spec: { reservedCIDRs: new Array(500).fill(7) },
      }),
    );
    expect(e.issues).toHaveLength(51);
    expect(e.issues[0]).toEqual({ path: 'spec.reservedCIDRs[0]', message: 'expected string, got number 7' });
    expect(e.issues[50]).toEqual({ path: '', message: 'and 450 more problems not listed' });
  });
});

describe('wrong types everywhere', () => {
  it('reports every unknown field, not just the first', () => {
    const e = catchValidationError(() => validateResource(pool({ status: {} }, { colour: 'red', size: 1 })));
    expect(e.issues.map((i) => i.path)).toEqual(['spec.colour', 'spec.size', 'status']);
  });

  it.each<[unknown, string]>([
    [Number.POSITIVE_INFINITY, 'spec.order: must be a finite number, got number Infinity'],
    [Number.NaN, 'spec.order: expected number, got number NaN'],
    ['1', 'spec.order: expected number, got string "1"'],
  ])('order %s', (order, msg) => {
    const e = catchValidationError(() =>
      validateResource({ apiVersion: M, kind: 'GlobalNetworkPolicy', metadata: { name: 'g' }, spec: { order } }),
    );
    expect(e.message).toContain(msg);
  });

  it.each<[string, unknown]>([
    ['metadata as an array', { apiVersion: M, kind: 'IPPool', metadata: [], spec: {} }],
    ['spec as an array', pool({ spec: [1, 2] })],
    ['spec as a string', pool({ spec: 'x' })],
    ['labels as an array', pool({ metadata: { name: 'p', labels: ['a'] } })],
    ['a number for every field', pool({}, { blockSize: 'x', ipipMode: 1, natOutgoing: 'yes', allowedUses: {} })],
  ])('%s', (_what, raw) => {
    const e = catchValidationError(() => validateResource(raw));
    expect(e.issues.length).toBeGreaterThan(0);
    for (const i of e.issues) expect(i.message).toMatch(/^(expected|required|must|unknown|".*")/);
  });
});
