import { describe, expect, it, vi } from 'vitest';

// Names are derived before an agent's first routes (re-registered pods, attachment records):
// node:crypto's first hash would cost ≈ 7 ms of CPU there, so it must not be used for them.
vi.mock('node:crypto', async (importOriginal) => ({
  ...(await importOriginal<typeof import('node:crypto')>()),
  createHash: () => {
    throw new Error('node:crypto createHash used for a name');
  },
}));

const { hostIfName } = await import('./identity.js');
const { workloadInterfaceName } = await import('../calc/index.js');

describe('veth names without node:crypto', () => {
  it("are Calico's: mgy + 11 hex digits of sha1", () => {
    expect(workloadInterfaceName('default', 'p1')).toBe('mgy182c452fe96');
    expect(workloadInterfaceName('kube-system', 'coredns-abc')).toBe('mgy3d5d6ab04b5');
    expect(hostIfName({ namespace: 'default', pod: 'p1' }, 'ctr123', 'eth0')).toBe('mgy182c452fe96');
    expect(hostIfName({ namespace: 'default', pod: 'p1' }, 'ctr123', 'net1')).toBe('mgy9d7e78609ef');
    expect(hostIfName(undefined, 'ctr123', 'eth0')).toBe('mgya272025c834');
  });
});
