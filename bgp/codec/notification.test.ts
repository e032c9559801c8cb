import { describe, expect, it } from 'vitest';
import { decodeMessage, decodeOptions } from './message.js';
import { encodeHardReset, encodeNotification, encodeShutdown, shutdownData } from './notification.js';
import { decodeRouteRefresh, encodeKeepalive, encodeRouteRefresh } from './route-refresh.js';
import { fromHex, hexOf, MARKER } from './test-helpers.js';
import type { NotificationMessage, RouteRefreshMessage } from './types.js';

const OPTS = decodeOptions();

describe('NOTIFICATION', () => {
  it('encodes and decodes a plain one (golden: hold timer expired)', () => {
    const b = encodeNotification(4, 0);
    expect(hexOf(b)).toBe(`${MARKER}0015030400`);
    expect(decodeMessage(b, OPTS)).toEqual({ type: 'notification', errorCode: 4, subcode: 0, data: Buffer.alloc(0) });
  });
  it('carries data (golden: 3/2 with the attribute)', () => {
    const b = encodeNotification(3, 2, fromHex('40630100'));
    expect(hexOf(b)).toBe(`${MARKER}0019030302` + '40630100');
  });
  it('RFC 9003 shutdown communication round-trips, UTF-8 included', () => {
    const b = encodeShutdown(2, 'maintenance — back at 06:00');
    const m = decodeMessage(b, OPTS) as NotificationMessage;
    expect([m.errorCode, m.subcode, m.shutdownMessage]).toEqual([6, 2, 'maintenance — back at 06:00']);
    expect(hexOf(encodeShutdown(4, 'hi'))).toBe(`${MARKER}0018030604026869`);
  });
  it('cuts the shutdown text to 255 bytes on a character boundary', () => {
    const d = shutdownData('é'.repeat(200));
    expect([d[0], d.length]).toEqual([254, 255]);
  });
  it('ignores an invalid shutdown communication (bad UTF-8, length past the end)', () => {
    const bad = decodeMessage(encodeNotification(6, 2, fromHex('02c328')), OPTS) as NotificationMessage;
    expect([bad.shutdownMessage, hexOf(bad.data)]).toEqual([undefined, '02c328']);
    const long = decodeMessage(encodeNotification(6, 4, fromHex('0968')), OPTS) as NotificationMessage;
    expect(long.shutdownMessage).toBeUndefined();
  });
  it('RFC 8538 hard reset wraps the real code and subcode', () => {
    const b = encodeHardReset(6, 2, shutdownData('bye'));
    expect(hexOf(b)).toBe(`${MARKER}001b030609` + '0602' + '03627965');
    const m = decodeMessage(b, OPTS) as NotificationMessage;
    expect([m.hardReset?.errorCode, m.hardReset?.subcode, m.shutdownMessage]).toEqual([6, 2, 'bye']);
  });
  it('truncates data so the message fits 4096 bytes', () => {
    expect(encodeNotification(3, 1, Buffer.alloc(10000)).length).toBe(4096);
  });
});

describe('KEEPALIVE and ROUTE-REFRESH', () => {
  it('KEEPALIVE golden', () => {
    expect(hexOf(encodeKeepalive())).toBe(`${MARKER}001304`);
    expect(decodeMessage(encodeKeepalive(), OPTS)).toEqual({ type: 'keepalive' });
  });
  it.each([
    [0, `${MARKER}00170500010001`],
    [1, `${MARKER}00170500020101`],
    [2, `${MARKER}00170500010201`],
  ])('ROUTE-REFRESH subtype %i golden (RFC 2918 / RFC 7313)', (subtype, golden) => {
    const afi = subtype === 1 ? 2 : 1;
    const b = encodeRouteRefresh(afi, 1, subtype);
    expect(hexOf(b)).toBe(golden);
    expect(decodeMessage(b, OPTS)).toEqual({
      type: 'route-refresh',
      afi,
      safi: 1,
      subtype,
    } satisfies RouteRefreshMessage);
    expect(decodeRouteRefresh(b).subtype).toBe(subtype);
  });
});
