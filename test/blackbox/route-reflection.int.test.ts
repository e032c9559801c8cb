/**
 * margay-bgpd (AS 65001, cluster id 10.31.0.1) as a route reflector for raw iBGP clients
 * (10.30.0.128/25) with one non-client iBGP neighbour range (10.30.0.64/26), RFC 4456:
 *  - client → client: ORIGINATOR_ID = the originator's BGP identifier, CLUSTER_LIST = our cluster id,
 *    NEXT_HOP unchanged;
 *  - non-client → clients only, never to another non-client;
 *  - a route whose CLUSTER_LIST holds our cluster id, or whose ORIGINATOR_ID is our router id, is a
 *    loop (§8): never best, never reflected, no NOTIFICATION.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/bgp-daemons.js';
import type { RawBgpPeer, RawMessage } from '../helpers/raw-bgp-peer.js';
import { ipHex, nlri, update, withRig, type Rig } from './rig.js';

const CLUSTER = '10.31.0.1';
const ORIGIN = '40010100';
const EMPTY_PATH = '400200';
const LP = '40050400000064';
const nh = (ip: string): string => `400304${ipHex(ip)}`;

function attrsOf(m: RawMessage): Map<number, string> {
  const b = m.bytes;
  const wl = b.readUInt16BE(19);
  const al = b.readUInt16BE(21 + wl);
  const out = new Map<number, string>();
  let o = 23 + wl;
  const end = o + al;
  while (o < end) {
    const ext = (b[o]! & 0x10) !== 0;
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
let c1: RawBgpPeer;
let c2: RawBgpPeer;
let n1: RawBgpPeer;
let n2: RawBgpPeer;

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
      extraRanges: [
        '{ prefix: 10.30.0.128/25, asn: internal, routeReflectorClient: true }',
        '{ prefix: 10.30.0.64/26, asn: internal }',
      ],
      extraYaml: `routeReflector: { clusterId: ${CLUSTER} }`,
    },
  );
  await Promise.race([started, done]);
  c1 = await rig.rawPeer(130, { asn: 65001, bgpId: '192.0.2.130' });
  c2 = await rig.rawPeer(131, { asn: 65001, bgpId: '192.0.2.131' });
  n1 = await rig.rawPeer(70, { asn: 65001, bgpId: '192.0.2.70' });
  n2 = await rig.rawPeer(71, { asn: 65001, bgpId: '192.0.2.71' });
}, 60_000);

afterAll(async () => {
  for (const p of [c1, c2, n1, n2]) p?.close();
  release?.();
  await done;
}, 30_000);

describe('margay-bgpd as a route reflector (RFC 4456)', () => {
  it('reflects client → client with ORIGINATOR_ID and CLUSTER_LIST, next hop unchanged', async () => {
    expect((await rig.margay.peer('10.30.0.130'))?.routeReflectorClient).toBe(true);
    const p = '10.170.1.0/24';
    c1.send(update(ORIGIN + EMPTY_PATH + nh('10.30.0.130') + LP, nlri(p)));
    const a = attrsOf(await c2.waitFor(announcing(p), 5000));
    expect(a.get(9), 'ORIGINATOR_ID').toBe(ipHex('192.0.2.130'));
    expect(a.get(10), 'CLUSTER_LIST').toBe(ipHex(CLUSTER));
    expect(a.get(3), 'NEXT_HOP').toBe(ipHex('10.30.0.130'));
    await n1.waitFor(announcing(p), 5000);
  });

  it('reflects a non-client route to clients only', async () => {
    const p = '10.170.2.0/24';
    const s = '10.170.3.0/24';
    n1.send(update(ORIGIN + EMPTY_PATH + nh('10.30.0.70') + LP, nlri(p)));
    await c1.waitFor(announcing(p), 5000);
    c1.send(update(ORIGIN + EMPTY_PATH + nh('10.30.0.130') + LP, nlri(s)));
    await n2.waitFor(announcing(s), 5000);
    expect(n2.received.some(announcing(p)), 'non-client → non-client').toBe(false);
  });

  it('drops routes that looped: our cluster id in CLUSTER_LIST, or our router id as ORIGINATOR_ID', async () => {
    const viaCluster = '10.170.4.0/24';
    const viaOriginator = '10.170.5.0/24';
    const s = '10.170.6.0/24';
    c1.send(
      update(
        ORIGIN +
          EMPTY_PATH +
          nh('10.30.0.130') +
          LP +
          `800a08${ipHex('192.0.2.9')}${ipHex(CLUSTER)}` +
          `800904${ipHex('192.0.2.9')}`,
        nlri(viaCluster),
      ),
    );
    c1.send(
      update(
        ORIGIN + EMPTY_PATH + nh('10.30.0.130') + LP + `800904${ipHex('10.31.0.1')}` + `800a04${ipHex('192.0.2.8')}`,
        nlri(viaOriginator),
      ),
    );
    c1.send(update(ORIGIN + EMPTY_PATH + nh('10.30.0.130') + LP, nlri(s)));
    await c2.waitFor(announcing(s), 5000);
    await waitFor(`${s} in RIB`, async () => (await rig.ribFrom(s, '10.30.0.130')).length === 1, 5000, 20);
    expect(
      (await rig.ribFrom(viaCluster, '10.30.0.130')).filter((r) => r.best),
      'CLUSTER_LIST loop is not best',
    ).toEqual([]);
    expect(
      (await rig.ribFrom(viaOriginator, '10.30.0.130')).filter((r) => r.best),
      'ORIGINATOR_ID loop is not best',
    ).toEqual([]);
    expect(c2.received.some(announcing(viaCluster)), 'CLUSTER_LIST loop reflected').toBe(false);
    expect(c2.received.some(announcing(viaOriginator)), 'ORIGINATOR_ID loop reflected').toBe(false);
    expect(c1.received.filter((m) => m.type === 3)).toEqual([]);
  });
});
