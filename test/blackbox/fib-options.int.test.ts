/**
 * What reaches the kernel and per-neighbour options, black box (FIB on, routes read with `ip route`
 * in margay-bgpd's namespace, protocol 110):
 *  - a learned route is installed; a treat-as-withdraw UPDATE removes it from the kernel too;
 *  - hold timer expiry (RFC 4271 §6.5): NOTIFICATION 4/0, the route leaves the kernel and BIRD;
 *  - `allowasIn: 1` accepts our AS once in the path, not twice;
 *  - `nextHopSelf: true` on an iBGP range rewrites the next hop toward those neighbours.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/bgp-daemons.js';
import { run } from '../helpers/netns.js';
import type { RawBgpPeer, RawMessage } from '../helpers/raw-bgp-peer.js';
import { ipHex, nlri, update, withRig, type Rig } from './rig.js';

const ORIGIN = '40010100';
const nh = (ip: string): string => `400304${ipHex(ip)}`;
const as4 = (n: number): string => n.toString(16).padStart(8, '0');
const path = (...asns: number[]): string =>
  `4002${(2 + 4 * asns.length).toString(16).padStart(2, '0')}02${asns.length.toString(16).padStart(2, '0')}${asns.map(as4).join('')}`;
const announcing =
  (prefix: string) =>
  (m: RawMessage): boolean =>
    m.type === 2 && m.bytes.toString('hex').endsWith(nlri(prefix));

let rig: Rig;
let release: () => void;
let done: Promise<void>;

async function kernel(): Promise<string> {
  return run('ip', ['-n', rig.margay.ns, 'route', 'show', 'proto', '110']);
}

beforeAll(async () => {
  let ready!: () => void;
  const started = new Promise<void>((r) => (ready = r));
  done = withRig(
    async (r) => {
      rig = r;
      ready();
      await new Promise<void>((res) => (release = res));
    },
    {
      extraRanges: ['{ prefix: 10.30.0.128/25, asn: internal, nextHopSelf: true }'],
      rangeOptions: 'allowasIn: 1',
      extraYaml: 'fib: { enabled: true, batchSize: 100 }',
    },
  );
  await Promise.race([started, done]);
}, 60_000);

afterAll(async () => {
  release?.();
  await done;
}, 30_000);

describe('margay-bgpd FIB and neighbour options', () => {
  it('installs a learned route and removes it when a malformed UPDATE withdraws it', async () => {
    const p = await rig.rawPeer(10);
    try {
      const pfx = '10.220.1.0/24';
      p.send(update(ORIGIN + path(65002) + nh('10.30.0.10'), nlri(pfx)));
      await waitFor('kernel route', async () => (await kernel()).includes(`${pfx} via 10.30.0.10`), 10_000, 100);
      p.send(update('40010103' + path(65002) + nh('10.30.0.10'), nlri(pfx)));
      await waitFor('kernel route removed', async () => !(await kernel()).includes(pfx), 10_000, 100);
      expect(p.isClosed).toBe(false);
    } finally {
      p.close();
    }
  });

  it('hold timer expiry: NOTIFICATION 4/0, route gone from the kernel and from BIRD', { timeout: 20_000 }, async () => {
    const p: RawBgpPeer = await rig.rawPeer(11, { holdTime: 3 });
    const pfx = '10.220.2.0/24';
    p.send(update(ORIGIN + path(65002) + nh('10.30.0.11'), nlri(pfx)));
    await waitFor('kernel route', async () => (await kernel()).includes(pfx), 10_000, 100);
    await waitFor(`${pfx} at BIRD`, async () => (await rig.birdRoute(pfx)) !== '', 5000, 50);
    const t0 = Date.now();
    const n = await p.notification(8000); // we send nothing more
    expect([n.code, n.subcode]).toEqual([4, 0]);
    expect(Date.now() - t0).toBeGreaterThan(1500);
    await waitFor('kernel route removed', async () => !(await kernel()).includes(pfx), 10_000, 100);
    await waitFor(`${pfx} withdrawn at BIRD`, async () => (await rig.birdRoute(pfx)) === '', 5000, 50);
    p.close();
  });

  it('allowasIn 1: our AS once in the path is accepted, twice is not', async () => {
    const p = await rig.rawPeer(12);
    try {
      const [once, twice, s] = ['10.220.3.0/24', '10.220.4.0/24', '10.220.5.0/24'];
      p.send(update(ORIGIN + path(65002, 65001, 65010) + nh('10.30.0.12'), nlri(once)));
      p.send(update(ORIGIN + path(65002, 65001, 65010, 65001) + nh('10.30.0.12'), nlri(twice)));
      p.send(update(ORIGIN + path(65002) + nh('10.30.0.12'), nlri(s)));
      await waitFor(`${s} in RIB`, async () => (await rig.ribFrom(s, '10.30.0.12')).length === 1, 5000, 20);
      expect((await rig.ribFrom(once, '10.30.0.12')).filter((r) => r.best).length).toBe(1);
      expect((await rig.ribFrom(twice, '10.30.0.12')).filter((r) => r.best)).toEqual([]);
    } finally {
      p.close();
    }
  });

  it('nextHopSelf on an iBGP range: routes toward those neighbours carry our address', async () => {
    const e = await rig.rawPeer(13);
    const i = await rig.rawPeer(140, { asn: 65001 });
    try {
      const pfx = '10.220.6.0/24';
      e.send(update(ORIGIN + path(65002) + nh('10.30.0.13'), nlri(pfx)));
      const u = await i.waitFor(announcing(pfx), 5000);
      expect(u.bytes.toString('hex')).toContain(`${ipHex('10.30.0.1')}`);
      expect(u.bytes.toString('hex')).not.toContain(ipHex('10.30.0.13'));
    } finally {
      e.close();
      i.close();
    }
  });
});
