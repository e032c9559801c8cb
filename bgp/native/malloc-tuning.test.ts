import { describe, expect, it } from 'vitest';
import { isSockoptAvailable, setMallocTrimThreshold } from './index.js';

describe('setMallocTrimThreshold (glibc mallopt, margay-bgpd start-up)', () => {
  // `npm run build` builds the addon; the test says so rather than passing without it.
  it('is built, and glibc takes the option', () => {
    expect(isSockoptAvailable()).toBe(true);
    expect(setMallocTrimThreshold(4 * 1024 * 1024)).toBe(true);
  });
  it('refuses a negative size', () => {
    expect(() => setMallocTrimThreshold(-1)).toThrow(/M_TRIM_THRESHOLD -1/);
  });
});
