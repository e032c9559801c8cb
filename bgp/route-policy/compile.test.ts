import { describe, expect, it } from 'vitest';
import { EMPTY_ATTRS, SEG, type RouteAttrs } from '../rib/attrs.js';
import { parsePrefix } from '../attrs/index.js';
import { parseCommunity } from '../attrs/index.js';
import { RoutePolicyCompileError, compileRoutePolicy, compileRoutePolicyOnce, type RouteContext } from './compile.js';
import type { RoutePolicy } from './types.js';

function ctx(prefix: string, extra: Partial<RouteContext> = {}): RouteContext {
  const p = parsePrefix(prefix);
  return {
    family: p.family,
    words: p.words,
    len: p.len,
    local: false,
    selfNextHop: Uint8Array.of(10, 0, 0, 1),
    localAs: 65000,
    ...extra,
  };
}

const attrs = (x: Partial<RouteAttrs> = {}): RouteAttrs => ({
  ...EMPTY_ATTRS,
  asPath: [{ type: SEG.AS_SEQUENCE, asns: [65001, 65010] }],
  nextHop: Uint8Array.of(10, 0, 0, 2),
  ...x,
});

function run(def: Omit<RoutePolicy, 'name'>, prefix: string, a = attrs(), c: Partial<RouteContext> = {}) {
  return compileRoutePolicy({ name: 't', ...def }).evaluate(a, ctx(prefix, c));
}

describe('prefix lists', () => {
  const pods = {
    defaultResult: 'reject' as const,
    statements: [{ match: { prefix: { entries: [{ prefix: '10.244.0.0/16', ge: 24, le: 26 }] } } }],
  };
  it('match ge/le ranges inside the prefix', () => {
    expect(run(pods, '10.244.3.0/26')).not.toBeNull();
    expect(run(pods, '10.244.3.0/24')).not.toBeNull();
    expect(run(pods, '10.244.3.0/27')).toBeNull();
    expect(run(pods, '10.244.0.0/16')).toBeNull();
    expect(run(pods, '10.245.0.0/24')).toBeNull();
    expect(run(pods, 'fd00::/64')).toBeNull();
  });

  it('exact match by default, le alone, and first-match deny entries in named lists', () => {
    const exact = {
      defaultResult: 'reject' as const,
      statements: [{ match: { prefix: { entries: [{ prefix: '10.0.0.0/8' }] } } }],
    };
    expect(run(exact, '10.0.0.0/8')).not.toBeNull();
    expect(run(exact, '10.0.0.0/9')).toBeNull();
    const p = compileRoutePolicy(
      { name: 'named', defaultResult: 'reject', statements: [{ match: { prefix: { list: 'l' } } }] },
      [
        {
          name: 'l',
          entries: [
            { prefix: '10.1.0.0/16', le: 32, action: 'deny' },
            { prefix: '10.0.0.0/8', le: 32 },
          ],
        },
      ],
    );
    expect(p.evaluate(attrs(), ctx('10.1.2.0/24'))).toBeNull();
    expect(p.evaluate(attrs(), ctx('10.2.2.0/24'))).not.toBeNull();
    expect(p.prefixDependent).toBe(true);
  });

  it('inverts (Calico NotIn) and handles IPv6', () => {
    const notIn = {
      defaultResult: 'accept' as const,
      statements: [
        {
          match: { prefix: { entries: [{ prefix: '2001:db8::/32', le: 128 }], invert: true } },
          result: 'reject' as const,
        },
      ],
    };
    expect(run(notIn, '2001:db8:1::/48')).not.toBeNull();
    expect(run(notIn, '2001:db9::/48')).toBeNull();
  });
});

describe('attribute matches', () => {
  it('communities any / all / none', () => {
    const def = (m: object) => ({ defaultResult: 'reject' as const, statements: [{ match: { community: m } }] });
    const a = attrs({ communities: [parseCommunity('65000:1'), parseCommunity('no-export')] });
    expect(run(def({ any: ['65000:2', '65000:1'] }), '10.0.0.0/8', a)).not.toBeNull();
    expect(run(def({ all: ['65000:1', 'no-export'] }), '10.0.0.0/8', a)).not.toBeNull();
    expect(run(def({ all: ['65000:1', '65000:2'] }), '10.0.0.0/8', a)).toBeNull();
    expect(run(def({ none: ['no-export'] }), '10.0.0.0/8', a)).toBeNull();
  });

  it('large communities', () => {
    const def = {
      defaultResult: 'reject' as const,
      statements: [{ match: { largeCommunity: { any: ['65000:1:2'] } } }],
    };
    expect(run(def, '10.0.0.0/8', attrs({ largeCommunities: [65000, 1, 2] }))).not.toBeNull();
    expect(run(def, '10.0.0.0/8', attrs({ largeCommunities: [65000, 1, 3] }))).toBeNull();
  });

  it('AS path regex, contains, origin and neighbour AS, length, empty', () => {
    const m = (asPath: object) => ({ defaultResult: 'reject' as const, statements: [{ match: { asPath } }] });
    expect(run(m({ regex: '^65001 ' }), '10.0.0.0/8')).not.toBeNull();
    expect(run(m({ regex: '(^| )65010$' }), '10.0.0.0/8')).not.toBeNull();
    expect(run(m({ regex: '^65010' }), '10.0.0.0/8')).toBeNull();
    expect(run(m({ contains: [65010] }), '10.0.0.0/8')).not.toBeNull();
    expect(run(m({ originAs: [65010] }), '10.0.0.0/8')).not.toBeNull();
    expect(run(m({ originAs: [65001] }), '10.0.0.0/8')).toBeNull();
    expect(run(m({ neighborAs: [65001] }), '10.0.0.0/8')).not.toBeNull();
    expect(run(m({ maxLength: 1 }), '10.0.0.0/8')).toBeNull();
    expect(run(m({ empty: true }), '10.0.0.0/8', attrs({ asPath: [] }))).not.toBeNull();
    const set = attrs({
      asPath: [
        { type: SEG.AS_SEQUENCE, asns: [1] },
        { type: SEG.AS_SET, asns: [2, 3] },
      ],
    });
    expect(run(m({ regex: '^1 \\{2 3\\}$' }), '10.0.0.0/8', set)).not.toBeNull();
  });

  it('next hop, origin, family and locally originated', () => {
    const one = (match: object) => ({ defaultResult: 'reject' as const, statements: [{ match }] });
    expect(run(one({ nextHopIn: ['10.0.0.0/30'] }), '10.0.0.0/8')).not.toBeNull();
    expect(run(one({ nextHopIn: ['10.0.1.0/30'] }), '10.0.0.0/8')).toBeNull();
    expect(run(one({ origin: 'igp' }), '10.0.0.0/8')).not.toBeNull();
    expect(run(one({ origin: 'incomplete' }), '10.0.0.0/8')).toBeNull();
    expect(run(one({ family: 'ipv6' }), '10.0.0.0/8')).toBeNull();
    expect(run(one({ local: true }), '10.0.0.0/8', attrs(), { local: true })).not.toBeNull();
  });
});

describe('actions and flow', () => {
  it('sets local-pref, MED, communities, next hop, origin and prepends', () => {
    const out = run(
      {
        defaultResult: 'reject',
        statements: [
          {
            actions: {
              setLocalPref: 250,
              setMed: 9,
              addCommunities: ['65000:7'],
              addLargeCommunities: ['1:2:3'],
              setNextHop: 'self',
              prepend: { count: 2 },
              setOrigin: 'incomplete',
            },
          },
        ],
      },
      '10.0.0.0/8',
      attrs({ communities: [parseCommunity('65000:1')] }),
    )!;
    expect(out.localPref).toBe(250);
    expect(out.med).toBe(9);
    expect(out.communities).toEqual([parseCommunity('65000:1'), parseCommunity('65000:7')]);
    expect(out.largeCommunities).toEqual([1, 2, 3]);
    expect([...out.nextHop]).toEqual([10, 0, 0, 1]);
    expect(out.asPath[0]!.asns).toEqual([65000, 65000, 65001, 65010]);
    expect(out.origin).toBe(2);
    const removed = run(
      {
        defaultResult: 'accept',
        statements: [
          {
            actions: {
              removeCommunities: ['65000:1'],
              setMed: 'remove',
              setNextHop: '192.0.2.1',
              prepend: { as: 64512, count: 1 },
            },
            result: 'next',
          },
        ],
      },
      '10.0.0.0/8',
      attrs({ communities: [parseCommunity('65000:1')], med: 3 }),
    )!;
    expect(removed.communities).toEqual([]);
    expect(removed.med).toBeUndefined();
    expect([...removed.nextHop]).toEqual([192, 0, 2, 1]);
    expect(removed.asPath[0]!.asns).toEqual([64512, 65001, 65010]);
  });

  it('is copy-on-write: no change returns the same object', () => {
    const a = attrs();
    expect(run({ defaultResult: 'accept', statements: [] }, '10.0.0.0/8', a)).toBe(a);
    expect(
      run({ defaultResult: 'accept', statements: [{ actions: { removeCommunities: ['1:1'] } }] }, '10.0.0.0/8', a),
    ).toBe(a);
  });

  it('evaluates first match, "next" continues, default applies at the end', () => {
    const def: Omit<RoutePolicy, 'name'> = {
      defaultResult: 'reject',
      statements: [
        { match: { community: { any: ['65000:9'] } }, result: 'reject' },
        { actions: { setLocalPref: 50 }, result: 'next' },
        { match: { asPath: { neighborAs: [65001] } }, result: 'accept' },
      ],
    };
    expect(run(def, '10.0.0.0/8')!.localPref).toBe(50);
    expect(run(def, '10.0.0.0/8', attrs({ communities: [parseCommunity('65000:9')] }))).toBeNull();
    expect(run(def, '10.0.0.0/8', attrs({ asPath: [] }))).toBeNull();
    expect(compileRoutePolicy({ name: 'x', ...def }).prefixDependent).toBe(false);
  });

  it('reports bad input naming the policy and statement', () => {
    expect(() =>
      compileRoutePolicy({
        name: 'bad',
        defaultResult: 'accept',
        statements: [{ name: 's1', match: { community: { any: ['x:y'] } } }],
      }),
    ).toThrow(RoutePolicyCompileError);
    expect(() =>
      compileRoutePolicy({
        name: 'bad',
        defaultResult: 'accept',
        statements: [{ match: { prefix: { entries: [{ prefix: '10.0.0.0/8', ge: 4 }] } } }],
      }),
    ).toThrow(/policy "bad" statement 0/);
    expect(() =>
      compileRoutePolicy({
        name: 'bad',
        defaultResult: 'accept',
        statements: [{ match: { prefix: { list: 'nope' } } }],
      }),
    ).toThrow(/unknown prefix list/);
  });
});

describe('rejectsAll', () => {
  const stmt = (result: 'accept' | 'reject' | 'next') => ({ match: { community: { any: ['65000:1'] } }, result });
  it('is true only when neither the default nor any statement can accept', () => {
    const c = (def: Omit<RoutePolicy, 'name'>) => compileRoutePolicy({ name: 't', ...def }).rejectsAll;
    expect(c({ defaultResult: 'reject', statements: [] })).toBe(true);
    expect(c({ defaultResult: 'reject', statements: [stmt('reject'), stmt('next')] })).toBe(true);
    expect(c({ defaultResult: 'reject', statements: [stmt('accept')] })).toBe(false);
    expect(c({ defaultResult: 'accept', statements: [stmt('reject')] })).toBe(false);
  });
});

describe('compileRoutePolicyOnce', () => {
  it('compiles a definition object once (peers sharing a policy share its compilation), a new one afresh', () => {
    const def: RoutePolicy = { name: 'p', defaultResult: 'accept', statements: [] };
    const lists = [{ name: 'l', entries: [{ prefix: '10.0.0.0/8', le: 32 }] }];
    const a = compileRoutePolicyOnce(def, lists);
    expect(compileRoutePolicyOnce(def, lists)).toBe(a);
    expect(compileRoutePolicyOnce({ ...def }, lists)).not.toBe(a);
    expect(compileRoutePolicyOnce(def, [...lists])).not.toBe(a); // other prefix lists: compiled again
    const bad: RoutePolicy = {
      name: 'bad',
      defaultResult: 'accept',
      statements: [{ match: { prefix: { list: 'nope' } } }],
    };
    expect(() => compileRoutePolicyOnce(bad)).toThrow(RoutePolicyCompileError);
    expect(() => compileRoutePolicyOnce(bad)).toThrow(RoutePolicyCompileError); // failures are not cached
  });
});
