/**
 * The control socket from outside: bad requests get a 4xx with `{ error, code }` and never hurt the
 * daemon (the BIRD session stays up, good requests still work afterwards). Then a reload that changes
 * only an export policy withdraws from BIRD without resetting its session, and a second reload that
 * removes the policy brings the route back (the issue: reload "without dropping unaffected sessions").
 */
import { request } from 'node:http';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/bgp-daemons.js';
import { BIRD_IP, withRig } from './rig.js';

function raw(
  socketPath: string,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, method, path, headers: body === undefined ? {} : { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const BAD: readonly (readonly [string, string, string | undefined])[] = [
  ['POST', '/announce', '{not json'],
  ['POST', '/announce', ''],
  ['POST', '/announce', '[]'],
  ['POST', '/announce', 'null'],
  ['POST', '/announce', '{"prefixes": "10.0.0.0/8"}'],
  ['POST', '/announce', '{"prefixes": ["10.0.0.0/33"]}'],
  ['POST', '/announce', '{"prefixes": ["2001:db8::/129"]}'],
  ['POST', '/announce', '{"prefixes": ["10.0.0.0/8"], "nextHop": "banana"}'],
  ['POST', '/announce', '{"prefixes": ["10.0.0.0/8"], "communities": ["1:2:3:4"]}'],
  ['POST', '/announce', '{"prefixes": ["10.0.0.0/8"], "med": -1}'],
  ['POST', '/announce', '{"prefixes": ["10.0.0.0/8"], "origin": "bgp"}'],
  ['POST', '/announce', '{"prefixes": [{"toString": 1}]}'],
  ['POST', '/announce', '{"__proto__": {"prefixes": ["10.0.0.0/8"]}}'],
  ['POST', '/withdraw', '{"prefixes": [null]}'],
  ['GET', '/rib?prefix=banana', undefined],
  ['GET', '/rib?limit=-5', undefined],
  ['GET', '/rib?family=ipx', undefined],
  ['GET', '/rib?prefix=10.0.0.0/8&longer=maybe', undefined],
  ['GET', '/nope', undefined],
  ['DELETE', '/peers', undefined],
  ['GET', '/announce', undefined],
];

describe('margay-bgpd control socket and policy reload', () => {
  it('answers bad requests with 4xx and survives; an export-policy reload does not reset the session', {
    timeout: 60_000,
  }, async () => {
    await withRig(async (rig) => {
      const sock = rig.margay.ctl.socketPath;
      const wrong: string[] = [];
      for (const [method, path, body] of BAD) {
        const r = await raw(sock, method, path, body);
        let code: unknown;
        try {
          code = (JSON.parse(r.text) as { code?: unknown }).code;
        } catch {
          code = undefined;
        }
        if (r.status < 400 || r.status >= 500 || typeof code !== 'string')
          wrong.push(`${method} ${path} ${body ?? ''} → ${r.status} ${r.text.slice(0, 200)}`);
      }
      expect(wrong).toEqual([]);
      // A refresh for a peer that does not exist is answered 200 { sent: false } (margayctl exits 1).
      expect(JSON.parse((await raw(sock, 'POST', '/refresh', '{"peer": "192.0.2.99"}')).text)).toEqual({ sent: false });
      expect((await rig.margay.peer(BIRD_IP))?.state).toBe('Established');

      // Still fully working: announce reaches BIRD.
      await rig.margay.ctl.announce({ prefixes: ['10.244.1.0/24', '10.96.0.0/16'] });
      await waitFor(
        'both at BIRD',
        async () => (await rig.birdRoute('10.244.1.0/24')) !== '' && (await rig.birdRoute('10.96.0.0/16')) !== '',
        5000,
        50,
      );

      // Export policy on the BIRD peer only: 10.96.0.0/16 goes, the session stays.
      const before = await rig.margay.peer(BIRD_IP);
      const base = await readFile(rig.margay.configFile, 'utf8');
      const withPolicy = base
        .replace(
          `{ address: ${BIRD_IP}, asn: 65003, connectRetry: 1 }`,
          `{ address: ${BIRD_IP}, asn: 65003, connectRetry: 1, export: pods-only }`,
        )
        .concat(
          '\npolicies:\n  pods-only:\n    defaultAction: reject\n    rules:\n      - { match: { prefixes: [{ prefix: 10.244.0.0/16, le: 32 }] }, action: accept }\n',
        );
      expect(withPolicy).toContain('export: pods-only');
      await rig.margay.reload(withPolicy);
      await waitFor(
        '10.96.0.0/16 withdrawn at BIRD',
        async () => (await rig.birdRoute('10.96.0.0/16')) === '',
        10_000,
        100,
      );
      expect(await rig.birdRoute('10.244.1.0/24')).not.toBe('');
      await rig.margay.reload(base);
      await waitFor('10.96.0.0/16 back at BIRD', async () => (await rig.birdRoute('10.96.0.0/16')) !== '', 10_000, 100);
      const after = await rig.margay.peer(BIRD_IP);
      expect(after?.flaps).toBe(before?.flaps);
      expect(after?.state).toBe('Established');
    });
  });
});
