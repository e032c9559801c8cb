import { describe, expect, it } from 'vitest';
import { decodeMessage, decodeOptions } from './message.js';
import { decodeOpen, encodeOpen, validateOpen } from './open.js';
import { fromHex, hexOf, MARKER, protocolErrorOf, reaction } from './test-helpers.js';
import type { Capability, OpenMessage } from './types.js';

const OPTS = decodeOptions();
const ID_10_0_0_1 = 0x0a000001;
const GOLDEN = fromHex(`${MARKER} 002d 01 04 fde9 005a 0a000001 10 02 0e 0104 0001 0001 0200 4104 0000fde9`);
const CAPS: Capability[] = [
  { kind: 'multiprotocol', afi: 1, safi: 1 },
  { kind: 'route-refresh' },
  { kind: 'four-octet-as', asn: 65001 },
];

describe('OPEN encode/decode', () => {
  it('encodes the golden OPEN byte for byte', () => {
    expect(hexOf(encodeOpen({ asn: 65001, holdTime: 90, bgpId: ID_10_0_0_1, capabilities: CAPS }))).toBe(hexOf(GOLDEN));
  });

  it('decodes the golden OPEN', () => {
    const m = decodeMessage(GOLDEN, OPTS) as OpenMessage;
    expect(m).toEqual({
      type: 'open',
      version: 4,
      myAs: 65001,
      asn: 65001,
      holdTime: 90,
      bgpId: ID_10_0_0_1,
      capabilities: CAPS,
      extendedParams: false,
    });
  });

  it('puts AS_TRANS in My AS for a 4-octet ASN and recovers the ASN from the capability', () => {
    const b = encodeOpen({
      asn: 4200000001,
      holdTime: 3,
      bgpId: 1,
      capabilities: [{ kind: 'four-octet-as', asn: 4200000001 }],
    });
    expect(b.readUInt16BE(20)).toBe(23456);
    const m = decodeOpen(b);
    expect([m.myAs, m.asn]).toEqual([23456, 4200000001]);
  });

  it('round-trips every capability kind', () => {
    const caps: Capability[] = [
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'route-refresh' },
      { kind: 'enhanced-route-refresh' },
      { kind: 'extended-message' },
      { kind: 'four-octet-as', asn: 4294967295 },
      {
        kind: 'graceful-restart',
        restarting: true,
        notification: true,
        restartTime: 120,
        families: [
          { afi: 1, safi: 1, forwardingPreserved: true },
          { afi: 2, safi: 1, forwardingPreserved: false },
        ],
      },
      {
        kind: 'add-path',
        families: [
          { afi: 1, safi: 1, mode: 'receive' },
          { afi: 2, safi: 1, mode: 'both' },
        ],
      },
      { kind: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
      { kind: 'role', role: 4 },
      { kind: 'unknown', code: 73, value: fromHex('0474657374') },
    ];
    const m = decodeOpen(encodeOpen({ asn: 64512, holdTime: 180, bgpId: 7, capabilities: caps }));
    expect(m.capabilities).toEqual(caps);
  });

  it('uses RFC 9072 extended optional parameters when capabilities exceed 255 bytes', () => {
    const caps: Capability[] = Array.from({ length: 70 }, (_, i) => ({ kind: 'multiprotocol', afi: 1, safi: i + 1 }));
    const b = encodeOpen({ asn: 1, holdTime: 90, bgpId: 1, capabilities: caps });
    expect(hexOf(b.subarray(28, 31))).toBe('ffff' + ((b.length - 32) >> 8).toString(16).padStart(2, '0'));
    const m = decodeOpen(b);
    expect(m.extendedParams).toBe(true);
    expect(m.capabilities).toEqual(caps);
  });

  it('decodes a forced RFC 9072 OPEN (golden)', () => {
    const b = encodeOpen({
      asn: 65001,
      holdTime: 90,
      bgpId: ID_10_0_0_1,
      capabilities: [{ kind: 'route-refresh' }],
      extendedParams: true,
    });
    expect(hexOf(b)).toBe(hexOf(fromHex(`${MARKER} 0025 01 04 fde9 005a 0a000001 ff ff 0005 02 0002 0200`)));
    expect(decodeOpen(b).capabilities).toEqual([{ kind: 'route-refresh' }]);
  });
});

describe('OPEN errors (RFC 4271 §6.2)', () => {
  const open = (patch: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(GOLDEN);
    patch(b);
    return b;
  };
  it('2/1 unsupported version, data = 0004', () => {
    expect(
      reaction(
        protocolErrorOf(() =>
          decodeMessage(
            open((b) => (b[19] = 3)),
            OPTS,
          ),
        ),
      ),
    ).toEqual([2, 1, '0004', 'session-reset']);
  });
  it('2/4 unsupported optional parameter', () => {
    expect(
      reaction(
        protocolErrorOf(() =>
          decodeMessage(
            open((b) => (b[29] = 1)),
            OPTS,
          ),
        ),
      ),
    ).toEqual([2, 4, '', 'session-reset']);
  });
  it('2/0 when the optional parameter length disagrees with the message', () => {
    expect(
      reaction(
        protocolErrorOf(() =>
          decodeMessage(
            open((b) => (b[28] = 0x0f)),
            OPTS,
          ),
        ),
      ),
    ).toEqual([2, 0, '', 'session-reset']);
  });
  it('2/0 for a capability with an impossible length', () => {
    const b = fromHex(`${MARKER} 0021 01 04 fde9 005a 0a000001 04 02 02 4100`);
    expect(reaction(protocolErrorOf(() => decodeMessage(b, OPTS)))).toEqual([2, 0, '', 'session-reset']);
  });
  it('1/2 for an OPEN shorter than 29 bytes, data = length', () => {
    const b = fromHex(`${MARKER} 001c 01 04 fde9 005a 0a000001`);
    expect(reaction(protocolErrorOf(() => decodeMessage(b, OPTS)))).toEqual([1, 2, '001c', 'session-reset']);
  });

  const m = decodeOpen(GOLDEN);
  const want = { localAs: 65000, localBgpId: 0x0a000002, peerAs: 65001 } as const;
  it('accepts the golden OPEN from the expected peer', () => {
    expect(validateOpen(m, want)).toBeUndefined();
  });
  it('2/2 bad peer AS', () => {
    expect(reaction(validateOpen(m, { ...want, peerAs: 65002 })!)).toEqual([2, 2, 'fde9', 'session-reset']);
    expect(reaction(validateOpen(m, { ...want, peerAs: 'internal' })!).slice(0, 2)).toEqual([2, 2]);
    expect(validateOpen(m, { ...want, peerAs: 'external' })).toBeUndefined();
  });
  it('2/2 for AS 0 (RFC 7607)', () => {
    const z = decodeOpen(encodeOpen({ asn: 0, holdTime: 90, bgpId: 1, capabilities: [] }));
    expect(reaction(validateOpen(z, { ...want, peerAs: 'external' })!).slice(0, 2)).toEqual([2, 2]);
  });
  it('2/3 BGP identifier 0, or equal to ours on iBGP', () => {
    const z = { ...m, bgpId: 0 };
    expect(reaction(validateOpen(z, want)!)).toEqual([2, 3, '00000000', 'session-reset']);
    const same = { ...m, asn: 65000, myAs: 65000, capabilities: [], bgpId: 0x0a000002 };
    expect(reaction(validateOpen(same, { ...want, peerAs: 65000 })!).slice(0, 2)).toEqual([2, 3]);
    expect(validateOpen({ ...m, bgpId: 0x0a000002 }, want)).toBeUndefined(); // eBGP may share (RFC 6286)
  });
  it.each([1, 2])('2/6 hold time %i', (h) => {
    expect(reaction(validateOpen({ ...m, holdTime: h }, want)!)).toEqual([2, 6, `000${h}`, 'session-reset']);
  });
  it.each([0, 3])('accepts hold time %i', (h) => {
    expect(validateOpen({ ...m, holdTime: h }, want)).toBeUndefined();
  });
  it('2/11 role mismatch (RFC 9234), accepted for a matching pair or no role', () => {
    const withRole = (r: number): OpenMessage => ({
      ...m,
      capabilities: [...m.capabilities, { kind: 'role', role: r }],
    });
    expect(reaction(validateOpen(withRole(0), { ...want, localRole: 0 })!)).toEqual([2, 11, '', 'session-reset']);
    expect(validateOpen(withRole(3), { ...want, localRole: 0 })).toBeUndefined();
    expect(validateOpen(withRole(4), { ...want, localRole: 4 })).toBeUndefined();
    expect(validateOpen(m, { ...want, localRole: 4 })).toBeUndefined();
  });
  it('2/7 lists the missing required capabilities as data', () => {
    const e = validateOpen(m, {
      ...want,
      requiredCapabilities: [{ kind: 'multiprotocol', afi: 2, safi: 1 }, { kind: 'route-refresh' }],
    });
    expect(reaction(e!)).toEqual([2, 7, '010400020001', 'session-reset']);
  });
});
