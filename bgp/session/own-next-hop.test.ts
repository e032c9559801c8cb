import { describe, expect, it } from 'vitest';
import type { UpdateMessage } from '../codec/types.js';
import { OWN_NEXT_HOP_LOG_MS, OwnNextHopWatch } from './own-next-hop.js';

const list = (count: number) => ({ afi: 1, safi: 1, addPath: false, buf: Buffer.alloc(0), start: 0, end: 0, count });
function upd(nextHop: string | undefined, mpNextHop?: Buffer, nlri = 1): UpdateMessage {
  return {
    type: 'update',
    withdrawn: list(0),
    nlri: list(mpNextHop ? 0 : nlri),
    attributes: { nextHop, ...(mpNextHop && { mpReach: { afi: 2, safi: 1, nextHop: mpNextHop, nlri: list(nlri) } }) },
    rawAttributes: Buffer.alloc(0),
    receivedAttributes: Buffer.alloc(0),
    attributeKey: Buffer.alloc(0),
    action: 'none',
    problems: [],
  };
}

describe('OwnNextHopWatch (RFC 4271 §6.3 log)', () => {
  it('logs the first UPDATE with our IPv4 address as NEXT_HOP, then at most once per interval with a count', () => {
    const w = new OwnNextHopWatch('::ffff:10.0.0.1');
    expect(w.address).toBe('10.0.0.1');
    expect(w.check(upd('10.0.0.2'), 0)).toBe(false);
    expect(w.check(upd('10.0.0.1'), 0)).toBe(true);
    expect(w.takeCount()).toBe(1);
    for (let i = 1; i <= 1000; i++) expect(w.check(upd('10.0.0.1'), i)).toBe(false);
    expect(w.check(upd('10.0.0.1'), OWN_NEXT_HOP_LOG_MS)).toBe(true);
    expect(w.takeCount()).toBe(1001);
  });

  it('ignores an UPDATE without NLRI (a withdrawal or End-of-RIB)', () => {
    const w = new OwnNextHopWatch('10.0.0.1');
    expect(w.check(upd('10.0.0.1', undefined, 0), 0)).toBe(false);
  });

  it('matches the MP_REACH next hop, global or link-local part', () => {
    const w = new OwnNextHopWatch('2001:db8::1');
    const own = Buffer.from('20010db8000000000000000000000001', 'hex');
    const other = Buffer.from('20010db8000000000000000000000002', 'hex');
    const ll = Buffer.from('fe800000000000000000000000000001', 'hex');
    expect(w.check(upd(undefined, other), 0)).toBe(false);
    expect(w.check(upd(undefined, Buffer.concat([other, ll])), 0)).toBe(false);
    expect(w.check(upd(undefined, own), 0)).toBe(true);
    expect(w.check(upd(undefined, Buffer.concat([ll, own])), OWN_NEXT_HOP_LOG_MS)).toBe(true);
  });

  it('is off without a local address', () => {
    expect(new OwnNextHopWatch(undefined).check(upd('10.0.0.1'), 0)).toBe(false);
  });
});
