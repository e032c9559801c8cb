/** RFC 8950 on the receive side: IPv4 MP_REACH_NLRI with an IPv6 next hop only when negotiated. */
import { describe, expect, it } from 'vitest';
import { decodeMessage, decodeOptions } from './message.js';
import { fromHex, MARKER, protocolErrorOf, reaction } from './test-helpers.js';
import type { DecodeOptions, UpdateMessage } from './types.js';

const ATTRS = '40010100' + '4002060201 0000fde9';
/** MP_REACH_NLRI, AFI 1 SAFI 1, 16-byte next hop 2001:db8::1, NLRI 10.0.0.0/24. */
const MP_V4_V6NH = '800e19 0001 01 10 20010db8000000000000000000000001 00 18 0a0000';
/** Same with a 32-byte next hop (global + link-local). */
const MP_V4_V6NH32 = '800e29 0001 01 20 20010db8000000000000000000000001 fe800000000000000000000000000001 00 18 0a0000';

function update(attrs: string): Buffer {
  const a = fromHex(attrs);
  const body = Buffer.concat([Buffer.from([0, 0, a.length >> 8, a.length & 255]), a]);
  return Buffer.concat([fromHex(MARKER), Buffer.from([(19 + body.length) >> 8, (19 + body.length) & 255, 2]), body]);
}
const opts = (enhe: boolean | undefined): DecodeOptions =>
  decodeOptions({ localAs: 65000, peerAs: 65001, ...(enhe !== undefined && { extendedNextHopV4: enhe }) });

describe('IPv4 NLRI with an IPv6 next hop (RFC 8950)', () => {
  it.each([MP_V4_V6NH, MP_V4_V6NH32])('is accepted when negotiated (%s)', (mp) => {
    const m = decodeMessage(update(ATTRS + mp), opts(true)) as UpdateMessage;
    expect(m.action).toBe('none');
    expect(m.attributes.mpReach?.afi).toBe(1);
    expect(m.attributes.mpReach?.nextHop.subarray(0, 16).toString('hex')).toBe('20010db8000000000000000000000001');
  });
  it('is a next-hop length error (3/9, session reset) when not negotiated (RFC 7606 §7.11)', () => {
    const e = protocolErrorOf(() => decodeMessage(update(ATTRS + MP_V4_V6NH), opts(false)));
    expect(reaction(e)).toEqual([3, 9, fromHex(MP_V4_V6NH).toString('hex'), 'session-reset']);
  });
  it('is not checked when the caller does not say (codec default)', () => {
    expect((decodeMessage(update(ATTRS + MP_V4_V6NH), opts(undefined)) as UpdateMessage).action).toBe('none');
  });
});
