import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import type { AnnounceRequest, RibQuery, RibQueryResult } from '../speaker/types.js';
import { routeControlRequest, type ControlHandler } from './routes.js';

function recorder(): { h: ControlHandler; calls: unknown[] } {
  const calls: unknown[] = [];
  const empty: RibQueryResult = { matched: 0, prefixes: { ipv4: 0, ipv6: 0 }, paths: { ipv4: 0, ipv6: 0 }, routes: [] };
  const h: ControlHandler = {
    peers: () => [],
    rib: (q: RibQuery) => (calls.push(['rib', q]), empty),
    announce: (r: AnnounceRequest) => (calls.push(['announce', r]), { announced: r.prefixes.length }),
    withdraw: (p) => (calls.push(['withdraw', p]), { withdrawn: p.length }),
    refresh: (peer, family) => (calls.push(['refresh', peer, family]), { sent: true }),
    reload: async () => {
      throw new ConfigError('x', 'peers[0].asn: bad');
    },
  };
  return { h, calls };
}

describe('routeControlRequest', () => {
  it('GET /peers', async () => {
    const { h } = recorder();
    expect(await routeControlRequest(h, 'GET', '/peers', '')).toEqual({ status: 200, body: { peers: [] } });
  });
  it('GET /rib parses filters', async () => {
    const { h, calls } = recorder();
    const r = await routeControlRequest(
      h,
      'GET',
      '/rib?prefix=10.0.0.0/8&longer=true&peer=10.0.0.2&family=ipv4&best=true&limit=5',
      '',
    );
    expect(r.status).toBe(200);
    expect(calls).toEqual([
      ['rib', { prefix: '10.0.0.0/8', longer: true, peer: '10.0.0.2', family: 'ipv4', bestOnly: true, limit: 5 }],
    ]);
  });
  it('GET /rib rejects a bad prefix and unknown params', async () => {
    const { h } = recorder();
    expect((await routeControlRequest(h, 'GET', '/rib?prefix=10.0.0.0', '')).status).toBe(400);
    expect((await routeControlRequest(h, 'GET', '/rib?colour=red', '')).status).toBe(400);
  });
  it('POST /announce validates and forwards', async () => {
    const { h, calls } = recorder();
    const ok = await routeControlRequest(
      h,
      'POST',
      '/announce',
      JSON.stringify({ prefixes: ['10.1.0.0/24'], nextHop: '10.0.0.1', communities: ['65000:1'] }),
    );
    expect(ok).toEqual({ status: 200, body: { announced: 1 } });
    expect(calls[0]).toEqual([
      'announce',
      { prefixes: ['10.1.0.0/24'], nextHop: '10.0.0.1', communities: ['65000:1'] },
    ]);
    const bad = await routeControlRequest(h, 'POST', '/announce', JSON.stringify({ prefixes: ['nope'] }));
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('prefixes.0');
    expect((await routeControlRequest(h, 'POST', '/announce', '{')).status).toBe(400);
  });
  it('POST /withdraw', async () => {
    const { h } = recorder();
    expect(await routeControlRequest(h, 'POST', '/withdraw', '{"prefixes":["2001:db8::/48"]}')).toEqual({
      status: 200,
      body: { withdrawn: 1 },
    });
  });
  it('POST /refresh defaults to ipv4 and validates the family', async () => {
    const { h, calls } = recorder();
    expect(await routeControlRequest(h, 'POST', '/refresh', '{"peer":"10.0.0.2"}')).toEqual({
      status: 200,
      body: { sent: true },
    });
    expect(calls.at(-1)).toEqual(['refresh', '10.0.0.2', 'ipv4']);
    expect((await routeControlRequest(h, 'POST', '/refresh', '{"peer":"10.0.0.2","family":"ipx"}')).status).toBe(400);
  });
  it('handler MargayErrors become 400 with their code', async () => {
    const { h } = recorder();
    const r = await routeControlRequest(h, 'POST', '/reload', '');
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'MGY_CONFIG' });
  });
  it('404 and 405', async () => {
    const { h } = recorder();
    expect((await routeControlRequest(h, 'GET', '/nope', '')).status).toBe(404);
    expect((await routeControlRequest(h, 'DELETE', '/peers', '')).status).toBe(405);
  });
});

describe('routeControlRequest with hostile bodies', () => {
  const post = async (path: string, body: string) => {
    const { h, calls } = recorder();
    const r = await routeControlRequest(h, 'POST', path, body);
    return { ...r, calls, error: (r.body as { error?: string }).error ?? '' };
  };

  it.each([
    ['/announce', '{', 'body is not JSON'],
    ['/announce', '{"prefixes":["10.0.0.0/8"]', 'body is not JSON'],
    ['/announce', '\u0000', 'body is not JSON'],
    ['/announce', '[]', '(body): expected an object, received array'],
    ['/announce', 'null', '(body): expected an object, received null'],
    ['/announce', '"x"', '(body): expected an object, received "x"'],
    ['/announce', '{}', 'prefixes: required'],
    ['/announce', '{"prefixes":"10.0.0.0/8"}', 'prefixes: expected an array, received "10.0.0.0/8"'],
    ['/announce', '{"prefixes":[]}', 'prefixes: must have at least 1 item'],
    ['/announce', '{"prefixes":[5]}', 'prefixes.0: must be a CIDR'],
    ['/announce', '{"prefixes":["10.0.0.0/8"],"med":"5"}', 'med: expected number, received "5"'],
    ['/announce', '{"prefixes":["10.0.0.0/8"],"med":-1}', 'med: must be ≥ 0'],
    ['/announce', '{"prefixes":["10.0.0.0/8"],"localPref":1.5}', 'localPref: must be an integer'],
    ['/announce', '{"prefixes":["10.0.0.0/8"],"nextHop":"me"}', 'nextHop: must be an IP address'],
    ['/announce', '{"prefixes":["10.0.0.0/8"],"communities":"1:2"}', 'communities: expected an array'],
    ['/announce', '{"prefixes":["10.0.0.0/8"],"largeCommunities":["1:2"]}', 'largeCommunities.0: must be a large'],
    ['/announce', '{"prefixes":["10.0.0.0/8"],"origin":"bgp"}', 'origin: expected one of "igp" | "egp" | "incomplete"'],
    ['/announce', '{"prefixes":["10.0.0.0/8"],"__proto__":{"x":1}}', '(body): Unrecognized key: "__proto__"'],
    ['/announce', '{"prefixes":["10.0.0.0/8"],"colour":"red"}', '(body): Unrecognized key: "colour"'],
    ['/withdraw', '{"prefixes":{"0":"10.0.0.0/8"}}', 'prefixes: expected an array, received object'],
    ['/refresh', '{"peer":5}', 'peer: expected string, received 5'],
    ['/refresh', '{"peer":""}', 'peer: must not be empty'],
    ['/refresh', '{"peer":"10.0.0.2","family":6}', 'family: expected one of "ipv4" | "ipv6", received 6'],
  ])('POST %s %s → 400 naming the field', async (path, body, expected) => {
    const r = await post(path, body);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'MGY_BGP_CONTROL_BAD_REQUEST' });
    expect(r.error).toContain(expected);
    expect(r.calls).toEqual([]);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('GET /rib: wrong query values → 400 naming the parameter; limit reads as Number() did', async () => {
    const { h, calls } = recorder();
    const err = async (url: string) => ((await routeControlRequest(h, 'GET', url, '')).body as { error: string }).error;
    expect(await err('/rib?limit=abc')).toBe('limit: expected number, received NaN');
    expect(await err('/rib?limit=-1')).toBe('limit: must be ≥ 0');
    expect(await err('/rib?limit=20000000')).toBe('limit: must be ≤ 10000000');
    expect(await err('/rib?best=yes')).toBe('best: expected one of "true" | "false", received "yes"');
    expect(await err('/rib?__proto__=1')).toBe('(body): Unrecognized key: "__proto__"');
    expect((await routeControlRequest(h, 'GET', '/rib?limit=1e3&rejected=true', '')).status).toBe(200);
    expect(calls).toEqual([['rib', { limit: 1000, rejected: true }]]);
  });

  it('a million bad prefixes: 400 naming the first ten and counting the rest, quickly', async () => {
    const body = JSON.stringify({ prefixes: Array.from({ length: 1_000_000 }, (_, i) => (i % 2 ? 'nope' : i)) });
    const t0 = performance.now();
    const r = await post('/withdraw', body);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(r.status).toBe(400);
    expect(r.error.split('; ')).toHaveLength(11);
    expect(r.error).toMatch(
      /^prefixes\.0: must be a CIDR like 10\.0\.0\.0\/24; .*; prefixes: 999990 more are not CIDRs$/,
    );
    expect(r.calls).toEqual([]);
  });
});
