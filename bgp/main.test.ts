import { describe, expect, it, vi } from 'vitest';
import { main, TUNED_ENV, tunedExec } from './main.js';

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

  it('exits 2 with one plain line naming the file when the config cannot be read or is invalid', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['--config', '/nonexistent/margay-bgpd.yaml', '--log-level', 'silent'], {})).toBe(2);
      const line = String(err.mock.calls.at(-1)?.[0]);
      expect(line).toMatch(
        /^margay-bgpd: invalid configuration \(\/nonexistent\/margay-bgpd\.yaml\): cannot read: ENOENT/,
      );
      expect(line.split('\n').filter(Boolean)).toHaveLength(1); // no stack, no JSON
    } finally {
      err.mockRestore();
    }
  });
});

describe('tunedExec (memory settings by re-exec)', () => {
  it('re-executes once with the V8 flag and the malloc threshold, keeping argv and env', () => {
    const plan = tunedExec(
      '/usr/bin/node',
      ['--enable-source-maps'],
      ['/usr/bin/node', '/x/main.js', '--config', 'c.yaml'],
      { PATH: '/bin' },
    );
    expect(plan?.argv).toEqual([
      '/usr/bin/node',
      '--max-semi-space-size=1',
      '--enable-source-maps',
      '/x/main.js',
      '--config',
      'c.yaml',
    ]);
    expect(plan?.env).toEqual(['PATH=/bin', 'MALLOC_MMAP_THRESHOLD_=131072', 'MALLOC_ARENA_MAX=1', `${TUNED_ENV}=1`]);
  });
  it('never loops, and leaves what the operator chose', () => {
    expect(tunedExec('/n', [], ['/n', 'm.js'], { [TUNED_ENV]: '1' })).toBeUndefined();
    expect(tunedExec('/n', [], ['/n', 'm.js'], { [TUNED_ENV]: '0' })).toBeUndefined();
    const own = tunedExec('/n', ['--max_semi_space_size=8'], ['/n', 'm.js'], {
      NODE_OPTIONS: '',
      MALLOC_MMAP_THRESHOLD_: '65536',
    });
    expect(own?.argv).toEqual(['/n', '--max_semi_space_size=8', 'm.js']);
    expect(own?.env).toContain('MALLOC_MMAP_THRESHOLD_=65536');
    expect(tunedExec('/n', [], ['/n', 'm.js'], { NODE_OPTIONS: '--max-semi-space-size=4' })?.argv).toEqual([
      '/n',
      'm.js',
    ]);
  });
});
