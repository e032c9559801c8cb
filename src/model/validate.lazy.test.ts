import * as valibot from 'valibot';
import { beforeEach, describe, expect, it, vi } from 'vitest';

/**
 * Start-up (docs/startup.md): the model builds a kind's schema on its first validation, not at
 * import. Every call of a valibot function by the model is counted through a wrapper: a schema built
 * at import (a `const X = v.object(...)` at module level) would show up as a call before any validation.
 */
let vCalls = 0;
vi.mock('valibot', async (importOriginal) => {
  const actual = await importOriginal<typeof import('valibot')>();
  const counted: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(actual)) {
    counted[name] =
      typeof value === 'function' && name !== 'safeParse'
        ? (...args: unknown[]) => {
            vCalls++;
            return (value as (...a: unknown[]) => unknown)(...args);
          }
        : value;
  }
  return counted;
});

const pool = (name: string) => ({
  apiVersion: 'margay.dev/v1',
  kind: 'IPPool',
  metadata: { name },
  spec: { cidr: '10.1.0.0/16' },
});
const peer = {
  apiVersion: 'margay.dev/v1',
  kind: 'BGPPeer',
  metadata: { name: 'tor' },
  spec: { peerIP: '192.0.2.1', asNumber: 65001 },
};

describe('schemas are built per kind on first use', () => {
  beforeEach(() => {
    vi.resetModules();
    vCalls = 0;
  });

  it('importing the model builds no schema', async () => {
    const model = await import('./index.js');
    expect(vCalls).toBe(0);
    expect(model.builtSchemaKinds()).toEqual([]);
  });

  it("validating a kind builds that kind's schema, once, and no other kind's", async () => {
    const model = await import('./index.js');
    expect(model.validateResource(pool('a')).spec).toMatchObject({ blockSize: 26, ipipMode: 'Never' });
    expect(model.builtSchemaKinds()).toEqual(['IPPool']);
    const afterFirst = vCalls;
    expect(afterFirst).toBeGreaterThan(0);

    model.validateResource(pool('b'));
    expect(vCalls).toBe(afterFirst); // kept: the second IPPool builds nothing

    model.validateResourceOf('BGPPeer', peer);
    expect(model.builtSchemaKinds()).toEqual(['IPPool', 'BGPPeer']);
    expect(vCalls).toBeGreaterThan(afterFirst);
  });

  it('a rejected object of an unknown kind builds no schema', async () => {
    const model = await import('./index.js');
    expect(() =>
      model.validateResource({ apiVersion: 'margay.dev/v1', kind: 'Nope', metadata: { name: 'x' } }),
    ).toThrow(/unknown kind "Nope"/);
    expect(model.builtSchemaKinds()).toEqual([]);
    expect(vCalls).toBe(0);
  });

  it('SCHEMAS still lists every kind, and reading one builds only that one', async () => {
    const model = await import('./index.js');
    expect(Object.keys(model.SCHEMAS).sort()).toEqual([...model.KIND_IDS].sort());
    expect(model.builtSchemaKinds()).toEqual([]);
    expect(valibot.safeParse(model.SCHEMAS.Node, {}).success).toBe(false);
    expect(model.builtSchemaKinds()).toEqual(['Node']);
  });
});

describe('validation is repeatable', () => {
  beforeEach(() => {
    vi.resetModules();
  });

  it('the same results and the same errors on every parse of a kind', async () => {
    const model = await import('./index.js');
    const bad = { ...pool('b'), spec: { cidr: '10.1.0.0/16', blockSize: 'x', bogus: 1 } };
    const errorOf = (raw: unknown): string => {
      try {
        model.validateResource(raw);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('accepted a bad IPPool');
    };
    const firstOk = model.validateResource(pool('a'));
    const firstErr = errorOf(bad);
    expect(firstErr).toContain('spec.bogus');
    expect(firstErr).toContain('spec.blockSize');
    for (let i = 0; i < 40; i++) {
      expect(model.validateResource(pool('a'))).toEqual(firstOk);
      expect(errorOf(bad)).toBe(firstErr);
    }
  });
});
