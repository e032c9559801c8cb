/**
 * Black-box session behaviour of margay-bgpd (4-octet AS 4200000001) toward raw peers and BIRD:
 * a 2-octet-only speaker (AS_TRANS, AS4_PATH and AS4_AGGREGATOR merging, RFC 6793), hold-time
 * negotiation (RFC 4271 §4.2: the smaller value, 0 = no keepalives), End-of-RIB (RFC 4724 §2),
 * ROUTE-REFRESH and enhanced route refresh (RFC 2918, RFC 7313), a peer's Cease seen by the operator,
 * a wrong ASN (2/2), and an eBGP peer with our own BGP identifier (allowed, RFC 6286 §2.2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../helpers/bgp-daemons.js';
import { RawBgpPeer, type RawMessage } from '../helpers/raw-bgp-peer.js';
import { ipHex, MARGAY_RAW_IP, nlri, update, withRig, type Rig } from './rig.js';

const MARGAY_AS = 4_200_000_001;
const ORIGIN = '40010100';
const nh = (ip: string): string => `400304${ipHex(ip)}`;
const as4 = (n: number): string => n.toString(16).padStart(8, '0');
const as2 = (n: number): string => n.toString(16).padStart(4, '0');
/** A 2-octet-only speaker: IPv4 unicast and route refresh, no 4-octet AS capability. */
const TWO_OCTET_CAPS = [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'route-refresh' }] as const;

/** Path attributes of an UPDATE a raw peer received: type → value (hex). Handles extended lengths. */
function attrsOf(m: RawMessage): Map<number, string> {
  const b = m.bytes;
  const wl = b.readUInt16BE(19);
  const al = b.readUInt16BE(21 + wl);
  const out = new Map<number, string>();
  let o = 23 + wl;
  const end = o + al;
  while (o < end) {
    const flags = b[o]!;
    const type = b[o + 1]!;
    const ext = (flags & 0x10) !== 0;
    const len = ext ? b.readUInt16BE(o + 2) : b[o + 2]!;
    const v = o + (ext ? 4 : 3);
    out.set(type, b.subarray(v, v + len).toString('hex'));
    o = v + len;
  }
  return out;
}

const updateFor = (p: RawBgpPeer, prefix: string, from = 0): Promise<RawMessage> =>
  p.waitFor((m) => m.type === 2 && m.bytes.toString('hex').endsWith(nlri(prefix)), 5000, from);

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
    { asn: MARGAY_AS },
  );
  await Promise.race([started, done]);
}, 60_000);

afterAll(async () => {
  release?.();
  await done;
}, 30_000);

describe('margay-bgpd toward a 2-octet-only speaker (RFC 6793)', () => {
  it('sends AS_TRANS as My AS, rebuilds the path from AS4_PATH, and splits it again toward old speakers', async () => {
    const old = await RawBgpPeer.connect(MARGAY_RAW_IP, 179, await addr(rig, 20));
    try {
      const open = await old.handshake({ asn: 65002, bgpId: '10.30.0.20', capabilities: [...TWO_OCTET_CAPS] });
      expect(open.myAs, 'My AS field toward a 2-octet speaker').toBe(23456);
      await waitFor(
        'Established',
        async () => (await rig.margay.peer('10.30.0.20'))?.state === 'Established',
        5000,
        20,
      );

      // AS_PATH 65002 23456, AS4_PATH 4200000005; AGGREGATOR 23456/10.30.0.20 with AS4_AGGREGATOR 4200000005.
      const p = '10.110.1.0/24';
      old.send(
        update(
          ORIGIN +
            `400206 0202 ${as2(65002)} ${as2(23456)}` +
            nh('10.30.0.20') +
            `c00706 ${as2(23456)} ${ipHex('10.30.0.20')}` +
            `c01106 0201 ${as4(4_200_000_005)}` +
            `c01208 ${as4(4_200_000_005)} ${ipHex('10.30.0.20')}`,
          nlri(p),
        ),
      );
      await waitFor(`${p} in RIB`, async () => (await rig.ribFrom(p, '10.30.0.20')).length === 1, 5000, 20);
      const [r] = await rig.ribFrom(p, '10.30.0.20');
      expect(r!.asPath, 'AS path rebuilt from AS_PATH + AS4_PATH').toBe('65002 4200000005');
      let bird = '';
      await waitFor(`${p} at BIRD`, async () => (bird = await rig.birdRoute(p)) !== '', 5000, 50);
      expect(bird).toMatch(/BGP\.as_path: 4200000001 65002 4200000005/);
      expect(bird).toMatch(/BGP\.aggregator: 10\.30\.0\.20 AS4200000005/);

      // Toward the old speaker: a route from a 4-octet peer with a 4-octet AS in its path.
      const p2 = '10.110.2.0/24';
      const newer = await rig.rawPeer(21);
      try {
        const from = old.received.length;
        newer.send(update(ORIGIN + `40020a0202 ${as4(65002)} ${as4(4_200_000_007)}` + nh('10.30.0.21'), nlri(p2)));
        const u = await updateFor(old, p2, from);
        const a = attrsOf(u);
        expect(a.get(2), 'AS_PATH with AS_TRANS for each 4-octet AS').toBe(
          `0203${as2(23456)}${as2(65002)}${as2(23456)}`,
        );
        expect(a.get(17), 'AS4_PATH with the real path').toBe(
          `0203${as4(MARGAY_AS)}${as4(65002)}${as4(4_200_000_007)}`,
        );
      } finally {
        newer.close();
      }
    } finally {
      old.close();
    }
  });

  it('ignores an AS4_PATH longer than the AS_PATH (RFC 6793 §4.2.3)', async () => {
    const old = await RawBgpPeer.connect(MARGAY_RAW_IP, 179, await addr(rig, 22));
    try {
      await old.handshake({ asn: 65002, bgpId: '10.30.0.22', capabilities: [...TWO_OCTET_CAPS] });
      const p = '10.110.3.0/24';
      old.send(
        update(
          ORIGIN +
            `400206 0202 ${as2(65002)} ${as2(23456)}` +
            nh('10.30.0.22') +
            `c01112 0204 ${as4(1)} ${as4(2)} ${as4(3)} ${as4(4)}`,
          nlri(p),
        ),
      );
      await waitFor(`${p} in RIB`, async () => (await rig.ribFrom(p, '10.30.0.22')).length === 1, 5000, 20);
      expect((await rig.ribFrom(p, '10.30.0.22'))[0]!.asPath).toBe('65002 23456');
      expect(old.received.filter((m) => m.type === 3)).toEqual([]);
    } finally {
      old.close();
    }
  });
});

describe('margay-bgpd session rules toward raw peers', () => {
  it('negotiates the smaller hold time and keeps alive at a third of it; hold time 0 means no keepalives', async () => {
    const fast = await rig.rawPeer(30, { holdTime: 3 });
    const none = await rig.rawPeer(31, { holdTime: 0 });
    try {
      const k0 = fast.received.filter((m) => m.type === 4).length;
      const n0 = none.received.filter((m) => m.type === 4).length;
      // Keep the hold-3 session alive from our side while we watch.
      for (let i = 0; i < 7; i++) {
        fast.sendKeepalive();
        await sleep(500);
      }
      const k = fast.received.filter((m) => m.type === 4).length - k0;
      expect(k, 'keepalives in 3.5 s with hold time 3').toBeGreaterThanOrEqual(2);
      expect(none.received.filter((m) => m.type === 4).length - n0, 'keepalives with hold time 0').toBe(0);
      expect((await rig.margay.peer('10.30.0.30'))?.holdTime).toBe(3);
      expect((await rig.margay.peer('10.30.0.31'))?.state).toBe('Established');
      expect((await rig.margay.peer('10.30.0.30'))?.state).toBe('Established');
    } finally {
      fast.close();
      none.close();
    }
  });

  it('sends its table then End-of-RIB, and re-sends the table on ROUTE-REFRESH (RFC 2918)', async () => {
    await rig.margay.ctl.announce({ prefixes: ['10.120.0.0/24'] });
    const p = await rig.rawPeer(40);
    try {
      const first = await updateFor(p, '10.120.0.0/24');
      const eor = await p.waitFor((m) => m.type === 2 && m.bytes.length === 23, 5000);
      expect(p.received.indexOf(eor), 'End-of-RIB after the table').toBeGreaterThan(p.received.indexOf(first));
      const from = p.received.length;
      p.send(Buffer.from(`${'ff'.repeat(16)}0017 05 0001 00 01`.replace(/\s/g, ''), 'hex'));
      await updateFor(p, '10.120.0.0/24', from);
      expect(p.received.filter((m) => m.type === 3)).toEqual([]);
    } finally {
      p.close();
      await rig.margay.ctl.withdraw(['10.120.0.0/24']);
    }
  });

  it('brackets the re-sent table with BoRR/EoRR when enhanced route refresh is agreed (RFC 7313 §4)', async () => {
    await rig.margay.ctl.announce({ prefixes: ['10.120.0.0/24'] });
    const caps = [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'four-octet-as', asn: 65002 },
      { kind: 'route-refresh' },
      { kind: 'enhanced-route-refresh' },
    ] as const;
    const p = await rig.rawPeer(40, { capabilities: [...caps] });
    try {
      const theirs = p.received.find((m) => m.type === 1)!.open!.capabilities.map((c) => c.kind);
      expect(theirs, 'margay-bgpd advertised enhanced route refresh').toContain('enhanced-route-refresh');
      const first = await updateFor(p, '10.120.0.0/24');
      const eor = await p.waitFor((m) => m.type === 2 && m.bytes.length === 23, 5000);
      expect(p.received.indexOf(eor), 'End-of-RIB after the table').toBeGreaterThan(p.received.indexOf(first));
      const from = p.received.length;
      p.send(Buffer.from('ffffffffffffffffffffffffffffffff0017050001 0001'.replace(/\s/g, ''), 'hex'));
      await updateFor(p, '10.120.0.0/24', from);
      await p.waitFor((m) => m.type === 5 && m.bytes[21] === 2, 3000, from).catch(() => undefined);
      const rr = p.received
        .slice(from)
        .filter((m) => m.type === 5)
        .map((m) => m.bytes.subarray(19).toString('hex'));
      expect(rr, 'BoRR then EoRR (RFC 7313 §4)').toEqual(['00010101', '00010201']);
      expect(p.received.filter((m) => m.type === 3)).toEqual([]);
    } finally {
      p.close();
      await rig.margay.ctl.withdraw(['10.120.0.0/24']);
    }
  });

  it("withdraws a peer's routes downstream when it sends Cease (RFC 9003 message)", async () => {
    const p = await rig.rawPeer(50);
    const prefix = '10.130.0.0/24';
    p.send(update(ORIGIN + `400206 0201 ${as4(65002)}` + nh('10.30.0.50'), nlri(prefix)));
    await waitFor(`${prefix} at BIRD`, async () => (await rig.birdRoute(prefix)) !== '', 5000, 50);
    // Cease / Administrative Shutdown with an RFC 9003 message "bye".
    p.send(Buffer.from(`${'ff'.repeat(16)}0019 03 0602 03 627965`.replace(/\s/g, ''), 'hex'));
    await p.closed;
    await waitFor(`${prefix} withdrawn at BIRD`, async () => (await rig.birdRoute(prefix)) === '', 5000, 50);
    expect(await rig.ribFrom(prefix, '10.30.0.50')).toEqual([]);
  });

  it('refuses a listen-range neighbour with the wrong ASN: OPEN error 2/2', async () => {
    const a = await addr(rig, 60);
    const p = await RawBgpPeer.connect(MARGAY_RAW_IP, 179, a);
    try {
      p.sendOpen({ asn: 65009, bgpId: a });
      const n = await p.notification();
      expect([n.code, n.subcode]).toEqual([2, 2]);
    } finally {
      p.close();
    }
  });

  it('accepts an eBGP peer whose BGP identifier equals its own (RFC 6286 §2.2)', async () => {
    const a = await addr(rig, 61);
    const p = await RawBgpPeer.connect(MARGAY_RAW_IP, 179, a);
    try {
      await p.handshake({ asn: 65002, bgpId: '10.31.0.1' });
      await waitFor('Established', async () => (await rig.margay.peer(a))?.state === 'Established', 5000, 20);
    } finally {
      p.close();
    }
  });
});

describe('margay-bgpd message size (RFC 4271 §4.1, RFC 8654)', () => {
  /**
   * An UPDATE of exactly `size` bytes: /32 NLRI (5 bytes each) under 10.142/16 or 10.143/16, plus a small
   * unknown optional transitive attribute to hit the size. Returns the UPDATE and its prefix count.
   */
  function sized(ip: string, second: number, size: number): { bytes: Buffer; count: number } {
    const head = ORIGIN + `4002060201${as4(65002)}` + nh(ip);
    const base = update(head, '').length + 3;
    const k = (size - base) % 5;
    const count = (size - base - k) / 5;
    const nl = Array.from(
      { length: count },
      (_, i) =>
        `200a${second.toString(16)}${(i >> 8).toString(16).padStart(2, '0')}${(i & 255).toString(16).padStart(2, '0')}`,
    ).join('');
    const bytes = update(head + `c0fa${k.toString(16).padStart(2, '0')}${'ab'.repeat(k)}`, nl);
    if (bytes.length !== size) throw new Error(`built ${bytes.length} bytes, wanted ${size}`);
    return { bytes, count };
  }
  const counted = async (prefix: string): Promise<number> =>
    (await rig.margay.ctl.rib({ prefix, longer: true, limit: 1 })).matched;

  it('without extended messages: 4096 bytes are fine, 4097 gets 1/2 with the length as data', async () => {
    const caps = [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'four-octet-as', asn: 65002 },
    ] as const;
    const p = await rig.rawPeer(65, { capabilities: [...caps] });
    try {
      const ok = sized('10.30.0.65', 142, 4096);
      p.send(ok.bytes);
      await waitFor('4096-byte UPDATE applied', async () => (await counted('10.142.0.0/16')) === ok.count, 5000, 20);
      p.send(sized('10.30.0.65', 143, 4097).bytes);
      const n = await p.notification();
      expect(n).toEqual({ code: 1, subcode: 2, data: '1001' });
    } finally {
      p.close();
    }
  });

  it('with extended messages on both sides: a 20000-byte UPDATE is accepted', async () => {
    const caps = [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'four-octet-as', asn: 65002 },
      { kind: 'extended-message' },
    ] as const;
    const p = await rig.rawPeer(66, { capabilities: [...caps] });
    try {
      expect(p.received.find((m) => m.type === 1)!.open!.capabilities.map((c) => c.kind)).toContain('extended-message');
      const big = sized('10.30.0.66', 144, 20_000);
      p.send(big.bytes);
      await waitFor('20000-byte UPDATE applied', async () => (await counted('10.144.0.0/16')) === big.count, 5000, 20);
      expect(p.received.filter((m) => m.type === 3)).toEqual([]);
    } finally {
      p.close();
    }
  });
});

describe('margay-bgpd FSM errors from a raw peer (RFC 4271 §8, RFC 6608)', () => {
  it('UPDATE in OpenConfirm: NOTIFICATION 5/2', async () => {
    const a = await addr(rig, 62);
    const p = await RawBgpPeer.connect(MARGAY_RAW_IP, 179, a);
    try {
      p.sendOpen({ asn: 65002, bgpId: a });
      await p.waitForType(1);
      p.send(update(ORIGIN + `400206 0201 ${as4(65002)}` + nh(a), nlri('10.140.0.0/24')));
      const n = await p.notification();
      expect([n.code, n.subcode]).toEqual([5, 2]);
    } finally {
      p.close();
    }
  });

  it('KEEPALIVE before any OPEN: NOTIFICATION 5/1', async () => {
    const a = await addr(rig, 63);
    const p = await RawBgpPeer.connect(MARGAY_RAW_IP, 179, a);
    try {
      p.sendKeepalive();
      const n = await p.notification();
      expect([n.code, n.subcode]).toEqual([5, 1]);
    } finally {
      p.close();
    }
  });

  it('ignores a ROUTE-REFRESH for a family that was not negotiated (RFC 2918 §4)', async () => {
    const p = await rig.rawPeer(64);
    try {
      p.send(Buffer.from(`${'ff'.repeat(16)}0017 05 0002 00 01`.replace(/\s/g, ''), 'hex'));
      p.send(update(ORIGIN + `400206 0201 ${as4(65002)}` + nh('10.30.0.64'), nlri('10.140.1.0/24')));
      await waitFor(
        'sentinel in RIB',
        async () => (await rig.ribFrom('10.140.1.0/24', '10.30.0.64')).length === 1,
        5000,
        20,
      );
      expect(p.received.filter((m) => m.type === 3)).toEqual([]);
    } finally {
      p.close();
    }
  });
});

/** Makes sure host address 10.30.0.n exists (rawPeer adds it on first use; here we connect ourselves). */
async function addr(r: Rig, n: number): Promise<string> {
  const { run } = await import('../helpers/netns.js');
  const ip = `10.30.0.${n}`;
  await run('ip', ['addr', 'replace', `${ip}/24`, 'dev', r.hostIf]);
  return ip;
}
