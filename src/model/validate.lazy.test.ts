import { beforeEach, describe, expect, it, vi } from 'vitest';

/**
 * Start-up (docs/startup.md): the model builds a kind's zod schema on its first validation, not at
 * import. Every use of zod's `z` by the model is counted through a proxy: a schema built at import
 * (a `const X = z.object(...)` at module level) would show up as a use before any validation.
 */
let zUses = 0;
vi.mock('zod', async (importOriginal) => {
  const actual = await importOriginal<typeof import('zod')>();
  const z = new Proxy(actual.z, {
    get(target, prop, receiver) {
      zUses++;
      return Reflect.get(target, prop, receiver);
    },
  });
  return { ...actual, z };
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
    zUses = 0;
  });

  it('importing the model builds no schema', async () => {
    const model = await import('./index.js');
    expect(zUses).toBe(0);
    expect(model.builtSchemaKinds()).toEqual([]);
  });

  it("validating a kind builds that kind's schema, once, and no other kind's", async () => {
    const model = await import('./index.js');
    expect(model.validateResource(pool('a')).spec).toMatchObject({ blockSize: 26, ipipMode: 'Never' });
    expect(model.builtSchemaKinds()).toEqual(['IPPool']);
    const afterFirst = zUses;
    expect(afterFirst).toBeGreaterThan(0);

    model.validateResource(pool('b'));
    expect(zUses).toBe(afterFirst); // kept: the second IPPool builds nothing

    model.validateResourceOf('BGPPeer', peer);
    expect(model.builtSchemaKinds()).toEqual(['IPPool', 'BGPPeer']);
    expect(zUses).toBeGreaterThan(afterFirst);
  });

  it('a rejected object of an unknown kind builds no schema', async () => {
    const model = await import('./index.js');
    expect(() =>
      model.validateResource({ apiVersion: 'margay.dev/v1', kind: 'Nope', metadata: { name: 'x' } }),
    ).toThrow(/unknown kind "Nope"/);
    expect(model.builtSchemaKinds()).toEqual([]);
    expect(zUses).toBe(0);
  });

  it('SCHEMAS still lists every kind, and reading one builds only that one', async () => {
    const model = await import('./index.js');
    expect(Object.keys(model.SCHEMAS).sort()).toEqual([...model.KIND_IDS].sort());
    expect(model.builtSchemaKinds()).toEqual([]);
    expect(model.SCHEMAS.Node.safeParse({}).success).toBe(false);
    expect(model.builtSchemaKinds()).toEqual(['Node']);
  });
});

describe("zod's JIT only after a kind's first parses (docs/startup.md)", () => {
  beforeEach(() => {
    vi.resetModules();
  });

  it('the same results and the same errors before and after the JIT takes over', async () => {
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
    // 40 rounds: well past the jitless first parses, so both of zod's paths are compared.
    for (let i = 0; i < 40; i++) {
      expect(model.validateResource(pool('a'))).toEqual(firstOk);
      expect(errorOf(bad)).toBe(firstErr);
    }
  });
});
