/**
 * Real routers accept what the codec encodes. A MiniSpeaker (codec only) peers with BIRD 2, FRR and GoBGP
 * in their own namespaces and sends packUpdates / packWithdrawals output: IPv4 classic NLRI with every
 * common attribute, IPv6 in MP_REACH_NLRI with a 32-byte next hop, withdrawals in both forms, End-of-RIB,
 * 65535-byte messages (RFC 8654) and AS_TRANS + AS4_PATH toward a 2-octet session (RFC 6793). The
 * daemons' own route counts and route details are the verdict.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeEndOfRib,
  encodePathAttributes,
  FAMILY,
  packUpdates,
  packWithdrawals,
  parseAddress,
  type Capability,
  type EncodeOptions,
  type PathAttributes,
  type PrefixBatch,
} from '../../bgp/codec/index.js';
import {
  startBird,
  startFrr,
  startGobgp,
  type BirdHandle,
  type DaemonHandle,
  type FrrHandle,
  type GobgpHandle,
} from '../helpers/bgp-daemons.js';
import { addVethToNetns, createNetns, deleteNetns, run } from '../helpers/netns.js';
import { MiniSpeaker } from './mini-speaker.js';

const HOST = '10.255.8.1';
const PEER = '10.255.8.2';
const HOST6 = '2001:db8:fe::1';
const PEER6 = '2001:db8:fe::2';
const HOST_LL = 'fe80::a1';
const OUR_AS = 4200000002;
const THEIR_AS = 65010;
const N4 = 3000;
const N6 = 300;

/** N IPv4 prefixes from 100.64.0.0 (lengths /24–/28) or N IPv6 /48s under 2001:db8:4000::/34. */
function batch(afi: 1 | 2, n: number, from = 0): PrefixBatch {
  const stride = afi === 1 ? 4 : 16;
  const lengths = new Uint8Array(n);
  const addresses = new Uint8Array(n * stride);
  for (let i = 0; i < n; i++) {
    const k = from + i;
    if (afi === 1) {
      const a = (0x64400000 + k * 256) >>> 0;
      addresses.set([a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, 0], i * 4);
      lengths[i] = 24 + (k % 5);
    } else {
      addresses.set([0x20, 0x01, 0x0d, 0xb8, 0x40 + (k >> 8), k & 255], i * 16);
      lengths[i] = 48;
    }
  }
  return { afi, count: n, lengths, addresses };
}

const ATTRS_A: PathAttributes = {
  origin: 0,
  asPath: [{ type: 2, asns: [OUR_AS, 64999] }],
  nextHop: HOST,
  med: 50,
  communities: [65001 * 65536 + 100],
  extCommunities: [Buffer.from('0002fde900000007', 'hex')],
  largeCommunities: [{ global: OUR_AS, local1: 1, local2: 2 }],
};
const ATTRS_B: PathAttributes = {
  origin: 2,
  asPath: [
    { type: 2, asns: [OUR_AS] },
    { type: 1, asns: [64512, 64513] },
  ],
  nextHop: HOST,
  atomicAggregate: true,
  aggregator: { asn: OUR_AS, address: HOST },
};

function caps(extended: boolean, fourOctet = true): Capability[] {
  const c: Capability[] = [
    { kind: 'multiprotocol', afi: 1, safi: 1 },
    { kind: 'multiprotocol', afi: 2, safi: 1 },
    { kind: 'route-refresh' },
  ];
  if (fourOctet) c.push({ kind: 'four-octet-as', asn: OUR_AS });
  if (extended) c.push({ kind: 'extended-message' });
  return c;
}

/** Announce N4 IPv4 (two attribute sets) and N6 IPv6, then withdraw the first third of each; End-of-RIB. */
async function announceAndWithdraw(sp: MiniSpeaker, enc: EncodeOptions, nextHop6: Buffer, max: number): Promise<void> {
  const v4 = batch(1, N4);
  const half = N4 / 2;
  await sp.send(
    packUpdates({
      attributes: encodePathAttributes(ATTRS_A, enc),
      prefixes: v4,
      to: half,
      addPath: false,
      maxMessageLength: max,
    }),
  );
  await sp.send(
    packUpdates({
      attributes: encodePathAttributes(ATTRS_B, enc),
      prefixes: v4,
      from: half,
      addPath: false,
      maxMessageLength: max,
    }),
  );
  const v6attrs = encodePathAttributes(
    { origin: 0, asPath: [{ type: 2, asns: [OUR_AS] }], communities: [65001 * 65536 + 6] },
    enc,
  );
  await sp.send(
    packUpdates({
      attributes: v6attrs,
      prefixes: batch(2, N6),
      nextHop: nextHop6,
      addPath: false,
      maxMessageLength: max,
    }),
  );
  await sp.send(packWithdrawals({ prefixes: v4, to: N4 / 3, addPath: false, maxMessageLength: max }));
  await sp.send(packWithdrawals({ prefixes: batch(2, N6), to: N6 / 3, addPath: false, maxMessageLength: max }));
  await sp.send([encodeEndOfRib(FAMILY.IPV4_UNICAST), encodeEndOfRib(FAMILY.IPV6_UNICAST)]);
}

interface Lab {
  ns: string;
  hostIf: string;
  linkLocal: Buffer;
}
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function lab(): Promise<Lab> {
  const ns = await createNetns('enc');
  cleanup.push(() => deleteNetns(ns));
  const { hostIf } = await addVethToNetns(ns, { cidr: `${PEER}/24` });
  await run('ip', ['addr', 'add', `${HOST}/24`, 'dev', hostIf]);
  await run('ip', ['addr', 'add', `${HOST6}/64`, 'dev', hostIf, 'nodad']);
  await run('ip', ['-n', ns, 'addr', 'add', `${PEER6}/64`, 'dev', 'eth0', 'nodad']);
  await run('ip', ['addr', 'add', `${HOST_LL}/64`, 'dev', hostIf, 'nodad']);
  return { ns, hostIf, linkLocal: parseAddress(HOST_LL)! };
}

function speaker(extended = false, fourOctet = true): MiniSpeaker {
  const sp = new MiniSpeaker({ host: HOST, asn: OUR_AS, bgpId: 0x0aff0801, capabilities: caps(extended, fourOctet) });
  cleanup.push(() => sp.close());
  return sp;
}

/** Poll a daemon's count until it equals `want` (20 s); on timeout fail with the last value seen. */
async function expectCount(read: () => Promise<number>, want: number, h: DaemonHandle): Promise<void> {
  let last = -1;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    last = await read();
    if (last === want) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(last, `daemon log:\n${(await h.log()).slice(-3000)}`).toBe(want);
}

/** BIRD: routes imported over all channels of protocol `p`. */
async function birdImported(h: BirdHandle, p: string): Promise<number> {
  const out = await h.birdc('show', 'protocols', 'all', p);
  return [...out.matchAll(/Routes:\s+(\d+) imported/g)].reduce((s, m) => s + Number(m[1]), 0);
}

const nh6 = (l: Lab): Buffer => Buffer.concat([parseAddress(HOST6)!, l.linkLocal]);

describe('real daemons accept the codec’s UPDATEs', () => {
  it('BIRD 2: counts, attributes, 32-byte IPv6 next hop and 65535-byte messages', async () => {
    const l = await lab();
    const sp = speaker(true);
    const h = (await startBird(
      l.ns,
      `router id ${PEER};
protocol device {}
protocol bgp t { local ${PEER} as ${THEIR_AS}; neighbor ${HOST} as ${OUR_AS}; enable extended messages on;
  ipv4 { import all; export none; }; ipv6 { import all; export none; }; }`,
    )) as BirdHandle;
    cleanup.push(() => h.stop());
    const open = await sp.established;
    expect(open.capabilities).toContainEqual({ kind: 'extended-message' });
    await announceAndWithdraw(sp, { fourOctetAs: true, extendedMessages: true }, nh6(l), 65535);
    const want = N4 - N4 / 3 + (N6 - N6 / 3);
    await expectCount(() => birdImported(h, 't'), want, h);
    const detail = await h.birdc('show', 'route', 'for', '100.68.176.0/24', 'all');
    expect(detail).toContain(`BGP.as_path: ${OUR_AS} 64999`);
    expect(detail).toContain('BGP.community: (65001,100)');
    expect(detail).toContain(`BGP.large_community: (${OUR_AS}, 1, 2)`);
    expect(detail).toContain('BGP.med: 50');
    const v6 = await h.birdc('show', 'route', 'for', '2001:db8:40ff::/48', 'all');
    expect(v6).toContain(`BGP.next_hop: ${HOST6} fe80:`);
    expect(sp.notifications()).toEqual([]);
  });

  it('BIRD 2 without 4-octet AS: AS_TRANS in the path, the real ASN rebuilt from AS4_PATH', async () => {
    const l = await lab();
    const sp = speaker(false, false); // like a 2-octet speaker: AS_TRANS in My AS, no capability
    const h = (await startBird(
      l.ns,
      `router id ${PEER};
protocol device {}
protocol bgp t { local ${PEER} as ${THEIR_AS}; neighbor ${HOST} as 23456; enable as4 off;
  ipv4 { import all; export none; }; ipv6 { import all; export none; }; }`,
    )) as BirdHandle;
    cleanup.push(() => h.stop());
    const open = await sp.established;
    expect(open.capabilities.some((c) => c.kind === 'four-octet-as')).toBe(false);
    await announceAndWithdraw(sp, { fourOctetAs: false, extendedMessages: false }, nh6(l), 4096);
    await expectCount(() => birdImported(h, 't'), N4 - N4 / 3 + N6 - N6 / 3, h);
    const detail = await h.birdc('show', 'route', 'for', '100.68.176.0/24', 'all');
    expect(detail).toContain(`BGP.as_path: ${OUR_AS} 64999`);
    const b = await h.birdc('show', 'route', 'for', '100.71.208.0/24', 'all');
    expect(b).toContain(`BGP.aggregator: ${HOST} AS${OUR_AS}`);
  });

  it('BIRD 2 with ADD-PATH: two paths per prefix told apart by path id (RFC 7911)', async () => {
    const l = await lab();
    const capsAp: Capability[] = [...caps(false), { kind: 'add-path', families: [{ afi: 1, safi: 1, mode: 'send' }] }];
    const sp = new MiniSpeaker({ host: HOST, asn: OUR_AS, bgpId: 0x0aff0801, capabilities: capsAp });
    cleanup.push(() => sp.close());
    const h = (await startBird(
      l.ns,
      `router id ${PEER};
protocol device {}
protocol bgp t { local ${PEER} as ${THEIR_AS}; neighbor ${HOST} as ${OUR_AS};
  ipv4 { add paths rx; import all; export none; }; }`,
    )) as BirdHandle;
    cleanup.push(() => h.stop());
    const open = await sp.established;
    expect(open.capabilities).toContainEqual({ kind: 'add-path', families: [{ afi: 1, safi: 1, mode: 'receive' }] });
    const n = 500;
    const one = batch(1, n);
    const ids = (id: number): PrefixBatch => ({ ...one, pathIds: new Uint32Array(n).fill(id) });
    const enc = { fourOctetAs: true, extendedMessages: false };
    await sp.send(
      packUpdates({
        attributes: encodePathAttributes(ATTRS_A, enc),
        prefixes: ids(1),
        addPath: true,
        maxMessageLength: 4096,
      }),
    );
    await sp.send(
      packUpdates({
        attributes: encodePathAttributes({ ...ATTRS_B, nextHop: '10.255.8.3' }, enc),
        prefixes: ids(2),
        addPath: true,
        maxMessageLength: 4096,
      }),
    );
    await sp.send(packWithdrawals({ prefixes: ids(2), to: 100, addPath: true, maxMessageLength: 4096 }));
    await expectCount(() => birdImported(h, 't'), 2 * n - 100, h);
    expect(sp.notifications()).toEqual([]);
  });

  it('FRR: counts per family after announcements and withdrawals', async () => {
    const l = await lab();
    const sp = speaker();
    const h = (await startFrr(
      l.ns,
      `frr defaults traditional
router bgp ${THEIR_AS}
 bgp router-id ${PEER}
 no bgp ebgp-requires-policy
 neighbor ${HOST} remote-as ${OUR_AS}
 address-family ipv6 unicast
  neighbor ${HOST} activate
 exit-address-family`,
      { zebra: true, noKernel: true }, // zebra: bgpd needs interface data to accept a link-local next hop
    )) as FrrHandle;
    cleanup.push(() => h.stop());
    await sp.established;
    await announceAndWithdraw(sp, { fourOctetAs: true, extendedMessages: false }, nh6(l), 4096);
    await expectCount(
      async () => ((await h.peers('ipv4'))[HOST]?.pfxRcd ?? 0) * 100_000 + ((await h.peers('ipv6'))[HOST]?.pfxRcd ?? 0),
      (N4 - N4 / 3) * 100_000 + N6 - N6 / 3,
      h,
    );
    const r = await h.vtyshJson<{ paths: { aspath: { string: string }; largeCommunity?: { string: string } }[] }>(
      'show bgp ipv4 unicast 100.68.176.0/24 json',
    );
    expect(r.paths[0]!.aspath.string).toBe(`${OUR_AS} 64999`);
    expect(r.paths[0]!.largeCommunity?.string).toBe(`${OUR_AS}:1:2`);
    expect(sp.notifications()).toEqual([]);
  });

  it('GoBGP: counts per family after announcements and withdrawals', async () => {
    const l = await lab();
    const sp = speaker();
    const h = (await startGobgp(
      l.ns,
      `[global.config]
  as = ${THEIR_AS}
  router-id = "${PEER}"
  port = -1
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${HOST}"
    peer-as = ${OUR_AS}
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
`,
    )) as GobgpHandle;
    cleanup.push(() => h.stop());
    await sp.established;
    await announceAndWithdraw(sp, { fourOctetAs: true, extendedMessages: false }, nh6(l), 4096);
    const count = async (fam: string): Promise<number> =>
      Number(/Destination:\s*(\d+)/.exec(await h.gobgp('global', 'rib', 'summary', '-a', fam))?.[1] ?? -1);
    await expectCount(
      async () => (await count('ipv4')) * 100_000 + (await count('ipv6')),
      (N4 - N4 / 3) * 100_000 + N6 - N6 / 3,
      h,
    );
    const r = await h.gobgp('global', 'rib', '-a', 'ipv4', '100.68.176.0/24');
    expect(r).toContain(`${OUR_AS} 64999`);
    expect(sp.notifications()).toEqual([]);
  });
});
