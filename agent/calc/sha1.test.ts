import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha1Hex } from './sha1.js';

const ref = (s: string): string => createHash('sha1').update(s).digest('hex');

describe('sha1Hex', () => {
  it('matches node:crypto: FIPS vectors, every length around the block and padding edges, UTF-8, random keys', () => {
    expect(sha1Hex('abc')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(sha1Hex('')).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
    for (let n = 0; n <= 200; n++) expect(sha1Hex('x'.repeat(n)), `length ${n}`).toBe(ref('x'.repeat(n)));
    for (const s of ['k8s-pod-network/ctr/eth0', 'ü/€/𝄞', 'a'.repeat(1000)]) expect(sha1Hex(s)).toBe(ref(s));
    for (let i = 0; i < 200; i++) {
      const s = `${randomBytes(1 + (i % 90)).toString('base64')}/${'é'.repeat(i % 7)}/eth${i}`;
      expect(sha1Hex(s), s).toBe(ref(s));
    }
  });
});
