import { describe, expect, it } from 'vitest';
import { InvariantError } from '../errors.js';
import { encodeRouteOp, NoSuchDeviceError, type RouteOp } from './netlink-route.js';

/** Decodes what encodeRouteOp built (test/kernel/route-table.int.test.ts checks the kernel agrees). */
function decode(b: Buffer) {
  const attrs = new Map<number, Buffer>();
  for (let o = 28; o + 4 <= b.length; ) {
    const len = b.readUInt16LE(o);
    attrs.set(b.readUInt16LE(o + 2), b.subarray(o + 4, o + len));
    o += (len + 3) & ~3;
  }
  return {
    len: b.readUInt32LE(0),
    type: b.readUInt16LE(4),
    flags: b.readUInt16LE(6),
    seq: b.readUInt32LE(8),
    family: b[16],
    dstLen: b[17],
    table: b[20],
    proto: b[21],
    scope: b[22],
    rtype: b[23],
    attrs,
  };
}

const idx = (dev: string): number => ({ eth0: 2, eth1: 3 })[dev] ?? 0;
const enc = (op: RouteOp, seq = 7) => decode(encodeRouteOp(op, seq, idx));

describe('encodeRouteOp (as iproute2 builds the same request)', () => {
  it('add: RTM_NEWROUTE with CREATE|EXCL and ACK; a dev-only IPv4 route gets scope link', () => {
    const m = enc({ op: 'add', route: { dst: '10.1.2.3/32', dev: 'eth1', table: 254, proto: 109 } });
    expect(m).toMatchObject({ type: 24, flags: 0x1 | 0x4 | 0x400 | 0x200, seq: 7, family: 2, dstLen: 32 });
    expect(m).toMatchObject({ table: 254, proto: 109, scope: 253, rtype: 1 });
    expect([...m.attrs.get(1)!]).toEqual([10, 1, 2, 3]);
    expect(m.attrs.get(4)!.readUInt32LE(0)).toBe(3);
    expect(m.len).toBe(28 + 8 + 8);
  });

  it('replace: CREATE|REPLACE; a route via a gateway has scope universe; metric and src', () => {
    const m = enc({
      op: 'replace',
      route: { dst: '10.9.0.0/26', via: '10.0.0.1', dev: 'eth0', src: '10.0.0.2', metric: 20, table: 254, proto: 110 },
    });
    expect(m).toMatchObject({ type: 24, flags: 0x1 | 0x4 | 0x400 | 0x100, scope: 0, dstLen: 26 });
    expect([...m.attrs.get(5)!]).toEqual([10, 0, 0, 1]);
    expect([...m.attrs.get(7)!]).toEqual([10, 0, 0, 2]);
    expect(m.attrs.get(6)!.readUInt32LE(0)).toBe(20);
  });

  it('blackhole, unreachable and prohibit: their route type, scope universe; an explicit scope is kept', () => {
    for (const [type, n] of [
      ['blackhole', 6],
      ['unreachable', 7],
      ['prohibit', 8],
    ] as const) {
      expect(enc({ op: 'add', route: { dst: '10.9.0.0/26', type, table: 254, proto: 111 } })).toMatchObject({
        rtype: n,
        scope: 0,
      });
    }
    expect(
      enc({ op: 'add', route: { dst: '10.9.0.0/26', dev: 'eth0', scope: 'host', table: 254, proto: 109 } }).scope,
    ).toBe(254);
  });

  it('IPv6: AF_INET6, scope universe also without a gateway; an IPv4 route via IPv6 uses RTA_VIA', () => {
    const v6 = enc({ op: 'add', route: { dst: 'fd00::5/128', dev: 'eth0', table: 254, proto: 109 } });
    expect(v6).toMatchObject({ family: 10, dstLen: 128, scope: 0 });
    expect(v6.attrs.get(1)!.length).toBe(16);
    const via6 = enc({ op: 'add', route: { dst: '10.9.0.0/24', via: 'fd00::1', dev: 'eth0', table: 254, proto: 110 } });
    expect(via6.attrs.has(5)).toBe(false);
    const v = via6.attrs.get(18)!;
    expect(v.readUInt16LE(0)).toBe(10);
    expect(v.length).toBe(18);
  });

  it('a table above 255 goes into RTA_TABLE, with rtm_table unspecified', () => {
    const m = enc({ op: 'add', route: { dst: '10.9.0.0/24', via: '10.0.0.1', table: 1000, proto: 110 } });
    expect(m.table).toBe(0);
    expect(m.attrs.get(15)!.readUInt32LE(0)).toBe(1000);
    expect(
      enc({ op: 'add', route: { dst: '10.9.0.0/24', via: '10.0.0.1', table: 100, proto: 110 } }).attrs.has(15),
    ).toBe(false);
  });

  it('multipath: one rtnexthop per hop, hops = weight − 1, each with its gateway', () => {
    const m = enc({
      op: 'add',
      route: {
        dst: '10.9.0.0/24',
        table: 254,
        proto: 110,
        nexthops: [
          { via: '10.0.0.1', dev: 'eth0' },
          { via: '10.0.1.1', dev: 'eth1', weight: 256 },
        ],
      },
    });
    expect(m.scope).toBe(0);
    const mp = m.attrs.get(9)!;
    expect(mp.length).toBe(2 * 16);
    expect([mp.readUInt16LE(0), mp[3], mp.readInt32LE(4)]).toEqual([16, 0, 2]);
    expect([...mp.subarray(12, 16)]).toEqual([10, 0, 0, 1]);
    expect([mp.readUInt16LE(16), mp[19], mp.readInt32LE(20)]).toEqual([16, 255, 3]);
  });

  it('del: RTM_DELROUTE without CREATE; IPv4 matches any scope (NOWHERE), IPv6 universe; metric when given', () => {
    const m = enc({ op: 'del', key: { dst: '10.9.0.0/26', table: 254, proto: 111, metric: 5 } });
    expect(m).toMatchObject({ type: 25, flags: 0x1 | 0x4, scope: 255, rtype: 0, proto: 111 });
    expect(m.attrs.get(6)!.readUInt32LE(0)).toBe(5);
    expect(enc({ op: 'del', key: { dst: 'fd00::/64', table: 254, proto: 110 } })).toMatchObject({ scope: 0 });
  });

  it('refuses what it cannot encode, and names a missing device as ip does', () => {
    expect(() => enc({ op: 'add', route: { dst: '10.9.0.0/24', dev: 'nope0', table: 254, proto: 109 } })).toThrow(
      NoSuchDeviceError,
    );
    expect(() => enc({ op: 'add', route: { dst: '10.9.0.0/24', dev: 'nope0', table: 254, proto: 109 } })).toThrow(
      'Cannot find device "nope0"',
    );
    const bad: RouteOp[] = [
      { op: 'add', route: { dst: '10.9.0.0', table: 254, proto: 109 } },
      { op: 'add', route: { dst: '10.9.0.0/33', table: 254, proto: 109 } },
      { op: 'add', route: { dst: '10.9.0.0/24', table: -1, proto: 109 } },
      { op: 'add', route: { dst: '10.9.0.0/24', table: 254, proto: 256 } },
      { op: 'add', route: { dst: '10.9.0.0/24', table: 254, proto: 110, metric: 2 ** 32 } },
      { op: 'add', route: { dst: '10.9.0.0/24', table: 254, proto: 110, nexthops: [{ via: '10.0.0.1', weight: 0 }] } },
      {
        op: 'add',
        route: { dst: '10.9.0.0/24', via: '10.0.0.1', table: 254, proto: 110, nexthops: [{ via: '10.0.0.2' }] },
      },
    ];
    for (const op of bad) expect(() => enc(op), JSON.stringify(op)).toThrow(InvariantError);
    expect(() => enc({ op: 'add', route: { dst: 'not-an-ip/24', table: 254, proto: 110 } })).toThrow();
  });
});
