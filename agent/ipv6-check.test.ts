import { describe, expect, it, vi } from 'vitest';

const calls = vi.hoisted(() => [] as string[]);
vi.mock('node:v8', async (importOriginal) => ({
  ...(await importOriginal<typeof import('node:v8')>()),
  setFlagsFromString: (flags: string) => void calls.push(`v8 ${flags}`),
}));
vi.mock('node:net', async (importOriginal) => {
  const net = await importOriginal<typeof import('node:net')>();
  return { ...net, isIPv6: (s: string) => (calls.push(`isIPv6 ${s}`), net.isIPv6(s)) };
});

const { compileIpv6CheckNatively } = await import('./ipv6-check.js');

describe('compileIpv6CheckNatively', () => {
  it("compiles isIPv6's regular expression with tier-up off, restores the flag, and does it once", () => {
    compileIpv6CheckNatively();
    compileIpv6CheckNatively();
    expect(calls).toEqual(['v8 --no-regexp-tier-up', 'isIPv6 ::', 'v8 --regexp-tier-up']);
  });
});
