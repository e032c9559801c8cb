import { describe, expect, it, vi } from 'vitest';
import { main } from './main.js';

// margay-bgpd's edge: usage and configuration errors exit 2 before anything starts. (Running the
// daemon itself is covered by test/interop/daemon.int.test.ts.)
describe('margay-bgpd main', () => {
  it('exits 2 on usage errors and 0 for --help', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await main([], {})).toBe(2);
      expect(String(err.mock.calls.at(-1)?.[0])).toContain('--config is required');
      expect(await main(['--bogus'], {})).toBe(2);
      expect(await main(['--config', 'x.yaml', '--log-level', 'loud'], {})).toBe(2);
      expect(String(err.mock.calls.at(-1)?.[0])).toContain('unknown log level "loud"');
      expect(await main(['--help'], {})).toBe(0);
      expect(String(out.mock.calls.at(-1)?.[0])).toContain('usage: margay-bgpd --config FILE');
    } finally {
      err.mockRestore();
      out.mockRestore();
    }
  });

  it('exits 2 when the config file cannot be read', async () => {
    expect(await main(['--config', '/nonexistent/margay-bgpd.yaml', '--log-level', 'silent'], {})).toBe(2);
  });
});
