import { describe, expect, it } from 'vitest';
import { backoffSeconds, jitter, nextFailureCount } from './backoff.js';
import { resolveCollision } from './collision.js';

const P = { initialSeconds: 1, maxSeconds: 120, stableSeconds: 60 };

describe('back-off', () => {
  it('starts at once with no failures, then doubles up to the cap', () => {
    expect([0, 1, 2, 3, 4, 8, 50].map((f) => backoffSeconds(f, P, 0.999999))).toEqual(
      [0, 1, 2, 4, 8, 120, 120].map((s) => expect.closeTo(s, 3)),
    );
  });
  it('jitter scales into [0.75, 1] of the base', () => {
    expect(backoffSeconds(3, P, 0)).toBe(3);
    expect(jitter(40, 0)).toBe(30);
    expect(jitter(40, 0.5)).toBe(35);
  });
  it('a session that establishes and breaks at once keeps backing off (no line-rate flap)', () => {
    let f = 0;
    for (let i = 0; i < 10; i++) f = nextFailureCount(f, true, 0.01, P);
    expect(f).toBe(10);
    expect(backoffSeconds(f, P, 0)).toBeGreaterThanOrEqual(90);
  });
  it('a stable session resets the count; an admin stop keeps it', () => {
    expect(nextFailureCount(7, true, 61, P)).toBe(1);
    expect(nextFailureCount(7, false, 61, P)).toBe(0);
    expect(nextFailureCount(7, false, 1, P)).toBe(7);
  });
});

describe('collision resolution (RFC 4271 §6.8)', () => {
  const LOW = 0x01010101;
  const HIGH = 0xc0000001; // above 2^31: compared unsigned
  it('our id lower: keep the incoming connection', () => {
    expect(resolveCollision(LOW, HIGH, true, 'OpenConfirm')).toBe('close-other');
    expect(resolveCollision(LOW, HIGH, false, 'OpenSent')).toBe('close-this');
  });
  it('our id higher: keep our outgoing connection', () => {
    expect(resolveCollision(HIGH, LOW, true, 'OpenSent')).toBe('close-this');
    expect(resolveCollision(HIGH, LOW, false, 'OpenConfirm')).toBe('close-other');
  });
  it('an Established connection always wins; a connecting one is abandoned', () => {
    expect(resolveCollision(HIGH, LOW, false, 'Established')).toBe('close-this');
    expect(resolveCollision(LOW, HIGH, true, 'Connect')).toBe('abandon-other');
    expect(resolveCollision(LOW, HIGH, true, undefined)).toBe('none');
  });
});
