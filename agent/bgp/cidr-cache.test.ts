import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/model/index.js';
import { parseCidrCached } from './cidr-cache.js';

describe('parseCidrCached', () => {
  it('answers as parseCidr does, also for what does not parse, and stays bounded under many distinct names', () => {
    for (const c of ['10.1.0.0/26', '10.1.0.5/26', 'fd00::/122', 'nonsense', '10.0.0.0/33', ''])
      expect(parseCidrCached(c)).toEqual(parseCidr(c));
    expect(parseCidrCached('10.1.0.0/26')).toBe(parseCidrCached('10.1.0.0/26'));
    for (let i = 0; i < 10_000; i++) parseCidrCached(`10.${i >> 8}.${i & 255}.0/24`);
    expect(parseCidrCached('10.9.9.0/24')).toEqual(parseCidr('10.9.9.0/24'));
  });
});
