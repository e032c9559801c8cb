/**
 * Capabilities and the behaviours they switch on, seen from a raw peer and from BIRD downstream:
 *  - an OPEN without any capability (a plain RFC 4271 speaker) still exchanges IPv4 unicast (RFC 4760 §8);
 *  - an unknown capability is ignored (RFC 5492 §3);
 *  - ADD-PATH receive (RFC 7911): two paths of one prefix from one peer, withdrawn one by one; and
 *    without ADD-PATH, the next best path goes downstream when the best one is withdrawn;
 *  - graceful restart helper (RFC 4724) with the RFC 8538 N bit: after a Cease the peer's routes stay
 *    (stale) until it is back and sends End-of-RIB, which sweeps what it did not re-announce; a Hard
 *    Reset (Cease 9) flushes them at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/bgp-daemons.js';
import type { Capability } from '../../bgp/codec/types.js';
import { hex, ipHex, nlri, update, withRig, type Rig } from './rig.js';

const ORIGIN = '40010100';
const AS_PATH = '4002060201 0000fdea';
const good = (ip: string): string => ORIGIN + AS_PATH + `400304${ipHex(ip)}`;
const cease = (sub: number, data = ''): Buffer => {
  const body = hex(`06 ${sub.toString(16).padStart(2, '0')} ${data}`);
  return Buffer.concat([hex(`${'ff'.repeat(16)}${(19 + body.length).toString(16).padStart(4, '0')}03`), body]);
};
const EOR = update('');

let rig: Rig;
let release: () => void;
let done: Promise<void>;

beforeAll(async () => {
  let ready!: () => void;
  const started = new Promise<void>((r) => (ready = r));
  done = withRig(
    async (r) => {
      rig = r;
      ready();
      await new Promise<void>((res) => (release = res));
    },
    { rangeOptions: 'addPath: receive, gracefulRestart: { enabled: true, restartTime: 30 }' },
  );
  await Promise.race([started, done]);
}, 60_000);

afterAll(async () => {
  release?.();
  await done;
}, 30_000);

const grCap = (restarting: boolean): Capability => ({
  kind: 'graceful-restart',
  restarting,
  notification: true,
  restartTime: 30,
  families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
});
const baseCaps = (asn = 65002): Capability[] => [
  { kind: 'multiprotocol', afi: 1, safi: 1 },
  { kind: 'four-octet-as', asn },
  { kind: 'route-refresh' },
];

describe('margay-bgpd capabilities (black box)', () => {
  it('exchanges IPv4 unicast with a speaker that sends no capabilities at all (RFC 4760 §8)', async () => {
    const p = await rig.rawPeer(10, { capabilities: [] });
    try {
      p.send(update(ORIGIN + '4002040201fdea' + `400304${ipHex('10.30.0.10')}`, nlri('10.160.1.0/24')));
      await waitFor(
        'route in RIB',
        async () => (await rig.ribFrom('10.160.1.0/24', '10.30.0.10')).length === 1,
        5000,
        20,
      );
      await rig.margay.ctl.announce({ prefixes: ['10.160.2.0/24'] });
      await p.waitFor((m) => m.type === 2 && m.bytes.toString('hex').endsWith(nlri('10.160.2.0/24')), 5000);
      expect(p.received.filter((m) => m.type === 3)).toEqual([]);
    } finally {
      p.close();
      await rig.margay.ctl.withdraw(['10.160.2.0/24']);
    }
  });

  it('ignores an unknown capability (RFC 5492 §3)', async () => {
    const p = await rig.rawPeer(11, {
      capabilities: [...baseCaps(), { kind: 'unknown', code: 200, value: Buffer.from('abcd', 'hex') }],
    });
    p.close();
  });

  it('ADD-PATH receive: keeps two paths of one prefix from one peer and withdraws them by path id (RFC 7911)', async () => {
    const p = await rig.rawPeer(12, {
      capabilities: [...baseCaps(), { kind: 'add-path', families: [{ afi: 1, safi: 1, mode: 'send' }] }],
    });
    try {
      const pfx = '10.160.3.0/24';
      const withId = (id: number, prefix: string): string => id.toString(16).padStart(8, '0') + nlri(prefix);
      p.send(update(good('10.30.0.12'), withId(1, pfx)));
      p.send(update(ORIGIN + '40020a0202 0000fdea 0000fdf2' + `400304${ipHex('10.30.0.12')}`, withId(2, pfx)));
      await waitFor('two paths', async () => (await rig.ribFrom(pfx, '10.30.0.12')).length === 2, 5000, 20);
      expect((await rig.ribFrom(pfx, '10.30.0.12')).map((r) => r.pathId).sort()).toEqual([1, 2]);
      await waitFor(
        'the best path at BIRD',
        async () => /as_path: 65001 65002\s/.test(await rig.birdRoute(pfx)),
        5000,
        50,
      );
      p.send(update('', '', withId(1, pfx)));
      await waitFor('one path left', async () => (await rig.ribFrom(pfx, '10.30.0.12')).length === 1, 5000, 20);
      expect((await rig.ribFrom(pfx, '10.30.0.12'))[0]!.pathId).toBe(2);
      await waitFor(
        'the remaining path at BIRD',
        async () => /as_path: 65001 65002 65010/.test(await rig.birdRoute(pfx)),
        5000,
        50,
      );
    } finally {
      p.close();
    }
  });

  it('when the best path of a prefix is withdrawn, the next one is advertised (two peers, no ADD-PATH)', async () => {
    const pfx = '10.160.6.0/24';
    const a = await rig.rawPeer(20);
    const b = await rig.rawPeer(21);
    try {
      a.send(update(good('10.30.0.20'), nlri(pfx)));
      b.send(update(ORIGIN + '40020a0202 0000fdea 0000fdf2' + `400304${ipHex('10.30.0.21')}`, nlri(pfx)));
      await waitFor('two paths', async () => (await rig.margay.ctl.rib({ prefix: pfx })).routes.length === 2, 5000, 20);
      await waitFor(
        'the best path at BIRD',
        async () => /as_path: 65001 65002\s/.test(await rig.birdRoute(pfx)),
        5000,
        50,
      );
      a.send(update('', '', nlri(pfx)));
      await waitFor(
        'the other path at BIRD',
        async () => /as_path: 65001 65002 65010/.test(await rig.birdRoute(pfx)),
        5000,
        50,
      );
    } finally {
      a.close();
      b.close();
    }
  });

  it('GR helper with the N bit: Cease keeps the routes stale; End-of-RIB after the restart sweeps the rest; Hard Reset flushes (RFC 4724, RFC 8538)', {
    timeout: 30_000,
  }, async () => {
    const ip = '10.30.0.13';
    const [keep, drop] = ['10.160.4.0/24', '10.160.5.0/24'];
    let p = await rig.rawPeer(13, { capabilities: [...baseCaps(), grCap(false)] });
    const mine = p.received.find((m) => m.type === 1)!.open!.capabilities.find((c) => c.kind === 'graceful-restart');
    expect(mine, 'margay-bgpd offers GR with the N bit').toMatchObject({ notification: true });
    p.send(update(good(ip), nlri(keep) + nlri(drop)));
    p.send(EOR);
    await waitFor(
      'both at BIRD',
      async () => (await rig.birdRoute(keep)) !== '' && (await rig.birdRoute(drop)) !== '',
      5000,
      50,
    );

    // Cease 6/4 (Administrative Reset) with N negotiated: graceful, the routes stay, marked stale.
    p.send(cease(4));
    await p.closed;
    await waitFor('routes stale', async () => (await rig.ribFrom(keep, ip))[0]?.stale === true, 5000, 20);
    expect(await rig.birdRoute(keep), 'BIRD keeps the route during the restart').not.toBe('');

    // Back with the Restarting bit; re-announce only `keep`, then End-of-RIB: `drop` is swept.
    // margay-bgpd backs off (< 1 s) after a session ends and refuses connections meanwhile: retry.
    p = await waitFor(
      'reconnected',
      () => rig.rawPeer(13, { capabilities: [...baseCaps(), grCap(true)] }).catch(() => undefined),
      10_000,
      200,
    );
    p.send(update(good(ip), nlri(keep)));
    p.send(EOR);
    await waitFor(`${drop} swept`, async () => (await rig.ribFrom(drop, ip)).length === 0, 5000, 20);
    await waitFor(`${drop} withdrawn at BIRD`, async () => (await rig.birdRoute(drop)) === '', 5000, 50);
    expect((await rig.ribFrom(keep, ip))[0]?.stale ?? false).toBe(false);
    expect(await rig.birdRoute(keep)).not.toBe('');

    // Hard Reset (Cease 9): no graceful restart, routes go at once.
    p.send(cease(9, '0604')); // RFC 8538 §3: Hard Reset carries the original code/subcode
    await p.closed;
    await waitFor(`${keep} flushed`, async () => (await rig.ribFrom(keep, ip)).length === 0, 5000, 20);
    await waitFor(`${keep} withdrawn at BIRD`, async () => (await rig.birdRoute(keep)) === '', 5000, 50);
  });

  it('GR helper: stale routes are swept when the peer is not back within its restart time (RFC 4724 §4.2)', {
    timeout: 20_000,
  }, async () => {
    const ip = '10.30.0.14';
    const pfx = '10.160.7.0/24';
    const p = await rig.rawPeer(14, {
      capabilities: [...baseCaps(), { ...grCap(false), restartTime: 2 } as Capability],
    });
    p.send(update(good(ip), nlri(pfx)));
    p.send(EOR);
    await waitFor(`${pfx} at BIRD`, async () => (await rig.birdRoute(pfx)) !== '', 5000, 50);
    p.close(); // TCP just ends: graceful
    await waitFor('stale', async () => (await rig.ribFrom(pfx, ip))[0]?.stale === true, 5000, 20);
    const t0 = Date.now();
    await waitFor(`${pfx} swept`, async () => (await rig.ribFrom(pfx, ip)).length === 0, 10_000, 50);
    expect(Date.now() - t0).toBeGreaterThan(1000);
    await waitFor(`${pfx} withdrawn at BIRD`, async () => (await rig.birdRoute(pfx)) === '', 5000, 50);
  });

  it('GR helper: a peer that comes back without the GR capability gets its stale routes flushed (RFC 4724 §4.2)', {
    timeout: 20_000,
  }, async () => {
    const ip = '10.30.0.15';
    const [a, b] = ['10.160.8.0/24', '10.160.9.0/24'];
    let p = await rig.rawPeer(15, { capabilities: [...baseCaps(), grCap(false)] });
    p.send(update(good(ip), nlri(a) + nlri(b)));
    p.send(EOR);
    await waitFor(`${b} at BIRD`, async () => (await rig.birdRoute(b)) !== '', 5000, 50);
    p.close();
    await waitFor('stale', async () => (await rig.ribFrom(a, ip))[0]?.stale === true, 5000, 20);
    p = await waitFor('reconnected', () => rig.rawPeer(15).catch(() => undefined), 10_000, 200);
    try {
      // Only `a` again, and no End-of-RIB: `b` must already be gone, as GR was not negotiated this time.
      p.send(update(good(ip), nlri(a)));
      await waitFor(`${b} flushed`, async () => (await rig.ribFrom(b, ip)).length === 0, 5000, 20);
      await waitFor(`${b} withdrawn at BIRD`, async () => (await rig.birdRoute(b)) === '', 5000, 50);
      await waitFor(
        `${a} fresh`,
        async () =>
          (await rig.ribFrom(a, ip))[0]?.stale === false || (await rig.ribFrom(a, ip))[0]?.stale === undefined,
        5000,
        20,
      );
    } finally {
      p.close();
    }
  });
});
