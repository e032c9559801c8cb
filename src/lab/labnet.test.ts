import { describe, expect, it } from 'vitest';
import { LabProcessError } from './errors.js';
import { askAgent, parseProbeAnswer } from './labnet.js';

describe('labnet answers', () => {
  it('parses ok and fail lines into probe results', () => {
    const r = parseProbeAnswer(
      'tcp 10.244.1.2 7000 ok 10.244.0.5 3\nudp 10.244.1.2 7000 fail timeout 1500\nudp fd00::1 7000 ok 10.99.0.11 7\nend\n',
      3,
    );
    expect(r).toEqual([
      { ip: '10.244.1.2', proto: 'tcp', ms: 3, ok: true, seen: '10.244.0.5' },
      { ip: '10.244.1.2', proto: 'udp', ms: 1500, ok: false, error: 'timeout' },
      { ip: 'fd00::1', proto: 'udp', ms: 7, ok: true, seen: '10.99.0.11' },
    ]);
  });

  it('refuses an answer that is cut short, has extra lines or bad fields', () => {
    expect(() => parseProbeAnswer('tcp 10.0.0.1 7000 ok 10.0.0.2 1\n', 1)).toThrow(LabProcessError); // no "end"
    expect(() => parseProbeAnswer('end\n', 1)).toThrow(/1 results/);
    expect(() => parseProbeAnswer('sctp 10.0.0.1 7000 ok 10.0.0.2 1\nend\n', 1)).toThrow(/bad probe answer/);
    expect(() => parseProbeAnswer('tcp 10.0.0.1 7000 maybe x 1\nend\n', 1)).toThrow(/bad probe answer/);
  });

  it('never sends a target that is not an address or a label with blanks', async () => {
    await expect(
      askAgent({ socket: '/nonexistent', label: 'p' }, [{ ip: '10.0.0.1\nadd x /', proto: 'tcp' }], 100),
    ).rejects.toThrow(/not an IP address/);
    await expect(askAgent({ socket: '/nonexistent', label: 'a b' }, [], 100)).rejects.toThrow(/label/);
  });
});
