/**
 * iBGP/eBGP routing rules of margay-bgpd (AS 65001), black box, with raw peers that both send and
 * observe: iBGP neighbours 10.30.0.128/25 (AS 65001), eBGP neighbours 10.30.0.0/24 (AS 65002).
 *  - eBGP → iBGP: NEXT_HOP kept, LOCAL_PREF added, MED kept, AS_PATH not prepended (RFC 4271 §5.1);
 *  - iBGP → eBGP: AS prepended, NEXT_HOP self, no LOCAL_PREF, the neighbour AS's MED not passed on;
 *  - iBGP → iBGP: not re-advertised without route reflection (RFC 4271 §9.2);
 *  - a path holding our own AS is never best nor advertised, and no NOTIFICATION (loop, §9.1.2);
 *  - a higher LOCAL_PREF from iBGP beats a shorter eBGP path, and the reason says so (§9.1.2.2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/bgp-daemons.js';
import type { RawBgpPeer, RawMessage } from '../helpers/raw-bgp-peer.js';
import { ipHex, nlri, update, withRig, type Rig } from './rig.js';

const ORIGIN = '40010100';
const nh = (ip: string): string => `400304${ipHex(ip)}`;
const as4 = (n: number): string => n.toString(16).padStart(8, '0');
const path = (...asns: number[]): string =>
  asns.length === 0
    ? '400200'
    : `4002${(2 + 4 * asns.length).toString(16).padStart(2, '0')}02${asns.length.toString(16).padStart(2, '0')}${asns.map(as4).join('')}`;
const med = (n: number): string => `800404${as4(n)}`;
const lp = (n: number): string => `400504${as4(n)}`;

function attrsOf(m: RawMessage): Map<number, string> {
  const b = m.bytes;
  const wl = b.readUInt16BE(19);
  const al = b.readUInt16BE(21 + wl);
  const out = new Map<number, string>();
  let o = 23 + wl;
  const end = o + al;
  while (o < end) {
    const flags = b[o]!;
    const ext = (flags & 0x10) !== 0;
    const len = ext ? b.readUInt16BE(o + 2) : b[o + 2]!;
    const v = o + (ext ? 4 : 3);
    out.set(b[o + 1]!, b.subarray(v, v + len).toString('hex'));
    o = v + len;
  }
  return out;
}
const announcing =
  (prefix: string) =>
  (m: RawMessage): boolean =>
    m.type === 2 && m.bytes.toString('hex').endsWith(nlri(prefix));

let rig: Rig;
let release: () => void;
let done: Promise<void>;
let ibgpA: RawBgpPeer;
let ibgpB: RawBgpPeer;
let ebgpA: RawBgpPeer;
let ebgpB: RawBgpPeer;

beforeAll(async () => {
  let ready!: () => void;
  const started = new Promise<void>((r) => (ready = r));
  done = withRig(
    async (r) => {
      rig = r;
      ready();
      await new Promise<void>((res) => (release = res));
    },
    { extraRanges: ['{ prefix: 10.30.0.128/25, asn: internal }'] },
  );
  await Promise.race([started, done]);
  ibgpA = await rig.rawPeer(130, { asn: 65001 });
  ibgpB = await rig.rawPeer(131, { asn: 65001 });
  ebgpA = await rig.rawPeer(10);
  ebgpB = await rig.rawPeer(11);
}, 60_000);

afterAll(async () => {
  for (const p of [ibgpA, ibgpB, ebgpA, ebgpB]) p?.close();
  release?.();
  await done;
}, 30_000);

describe('margay-bgpd iBGP/eBGP rules', () => {
  it('the listen ranges give the expected session types', async () => {
    expect((await rig.margay.peer('10.30.0.130'))?.type).toBe('ibgp');
    expect((await rig.margay.peer('10.30.0.10'))?.type).toBe('ebgp');
  });

  it('eBGP → iBGP: next hop kept, LOCAL_PREF added, MED kept, no prepend', async () => {
    const p = '10.150.1.0/24';
    ebgpA.send(update(ORIGIN + path(65002) + nh('10.30.0.10') + med(20), nlri(p)));
    const u = attrsOf(await ibgpA.waitFor(announcing(p), 5000));
    expect(u.get(3), 'NEXT_HOP unchanged toward iBGP').toBe(ipHex('10.30.0.10'));
    expect(u.get(5), 'LOCAL_PREF present toward iBGP').toBe(as4(100));
    expect(u.get(4), 'MED passed within the AS').toBe(as4(20));
    expect(u.get(2), 'AS_PATH not prepended toward iBGP').toBe(`0201${as4(65002)}`);
  });

  it('iBGP → eBGP: prepend, next hop self, no LOCAL_PREF, no MED', async () => {
    const p = '10.150.2.0/24';
    ibgpA.send(update(ORIGIN + path() + nh('10.30.0.130') + lp(300) + med(5), nlri(p)));
    const u = attrsOf(await ebgpB.waitFor(announcing(p), 5000));
    expect(u.get(2)).toBe(`0201${as4(65001)}`);
    expect(u.get(3)).toBe(ipHex('10.30.0.1'));
    expect(u.has(5), 'no LOCAL_PREF toward eBGP').toBe(false);
    expect(u.has(4), "the MED of another AS's route is not sent on to eBGP").toBe(false);
    const [r] = await rig.ribFrom(p, '10.30.0.130');
    expect(r?.localPref).toBe(300);
  });

  it('iBGP → iBGP: not re-advertised without route reflection', async () => {
    const p = '10.150.3.0/24';
    const s = '10.150.4.0/24';
    ibgpA.send(update(ORIGIN + path() + nh('10.30.0.130') + lp(100), nlri(p)));
    // The sentinel from eBGP reaches ibgpB after p would have: then p must not be there.
    ebgpA.send(update(ORIGIN + path(65002) + nh('10.30.0.10'), nlri(s)));
    await ibgpB.waitFor(announcing(s), 5000);
    await ebgpB.waitFor(announcing(p), 5000);
    expect(ibgpB.received.some(announcing(p))).toBe(false);
  });

  it('never uses or advertises a route whose AS_PATH holds our own AS, and sends no NOTIFICATION', async () => {
    const p = '10.150.5.0/24';
    const s = '10.150.6.0/24';
    ebgpA.send(update(ORIGIN + path(65002, 65001, 65010) + nh('10.30.0.10'), nlri(p)));
    ebgpA.send(update(ORIGIN + path(65002) + nh('10.30.0.10'), nlri(s)));
    await waitFor(`${s} in RIB`, async () => (await rig.ribFrom(s, '10.30.0.10')).length === 1, 5000, 20);
    // margay-bgpd keeps the looped path in its Adj-RIB-In (like BIRD's `import keep filtered`), but it
    // must never be best nor advertised.
    expect((await rig.ribFrom(p, '10.30.0.10')).filter((r) => r.best)).toEqual([]);
    await ebgpB.waitFor(announcing(s), 5000);
    expect(ebgpB.received.some(announcing(p)), 'looped route advertised').toBe(false);
    expect(await rig.birdRoute(p)).toBe('');
    expect(ebgpA.received.filter((m) => m.type === 3)).toEqual([]);
  });

  it('prefers a higher LOCAL_PREF over a shorter AS path and records why', async () => {
    const p = '10.150.7.0/24';
    ebgpA.send(update(ORIGIN + path(65002) + nh('10.30.0.10'), nlri(p)));
    ibgpA.send(update(ORIGIN + path(65020, 65021) + nh('10.30.0.130') + lp(200), nlri(p)));
    await waitFor(
      `two paths for ${p}`,
      async () => (await rig.margay.ctl.rib({ prefix: p })).routes.length === 2,
      5000,
      20,
    );
    const routes = (await rig.margay.ctl.rib({ prefix: p })).routes;
    const best = routes.find((r) => r.best);
    expect(best?.from).toBe('10.30.0.130');
    expect(best?.reason).toBe('local-pref');
  });

  it('prepends to a full 255-AS AS_SEQUENCE by opening a new segment (RFC 4271 §5.1.2)', async () => {
    const p = '10.150.8.0/24';
    const asns = [65002, ...Array.from({ length: 254 }, (_, i) => 64600 + i)];
    const body = `02ff${asns.map(as4).join('')}`;
    ebgpA.send(
      update(ORIGIN + `5002${(body.length / 2).toString(16).padStart(4, '0')}${body}` + nh('10.30.0.10'), nlri(p)),
    );
    let bird = '';
    await waitFor(`${p} at BIRD`, async () => (bird = await rig.birdRoute(p)) !== '', 5000, 50);
    // BIRD truncates long paths in `show route all`: ask it with a filter instead.
    expect(bird).toMatch(/BGP\.as_path: 65001 65002 64600 /);
    expect(await rig.bird.birdc('show', 'route', p, 'where', 'bgp_path.len', '=', '256')).toContain(p);
    const u = attrsOf(await ebgpB.waitFor(announcing(p), 5000));
    expect(u.get(2)!.slice(0, 12), 'a new 1-AS segment in front').toBe(`0201${as4(65001)}`);
    expect(u.get(2)!.slice(12, 16), 'then the full 255-AS segment').toBe('02ff');
  });
});
