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
