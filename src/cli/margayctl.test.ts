import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError, type CliIo, type CommandGroup } from './command.js';
import { exitWhenIdle, GROUPS, lineWriter, runMargayctl, VERBS, type IdleProcess } from './margayctl.js';
import { nearestPackageJson, packageVersion } from './version.js';

function io(): CliIo & { outs: string[]; errs: string[] } {
  const outs: string[] = [];
  const errs: string[] = [];
  return { outs, errs, out: (t) => outs.push(t), err: (t) => errs.push(t) };
}

const calls: string[][] = [];
const TEST_GROUPS: Record<string, CommandGroup> = {
  g: {
    summary: 'a group',
    commands: {
      ok: { summary: 's', usage: 'u', run: async (a) => (calls.push(a), 0) },
      bad: {
        summary: 's',
        usage: 'ok-usage',
        run: async () => {
          throw new UsageError('nope');
        },
      },
    },
  },
};

describe('runMargayctl dispatcher', () => {
  it('dispatches to the group command with the remaining args', async () => {
    expect(await runMargayctl(['g', 'ok', '--x', '1'], io(), TEST_GROUPS)).toBe(0);
    expect(calls.at(-1)).toEqual(['--x', '1']);
  });
  it('unknown group/command exit 2 with help', async () => {
    const i = io();
    expect(await runMargayctl(['zz'], i, TEST_GROUPS)).toBe(2);
    expect(i.errs[0]).toContain('unknown group "zz"');
    expect(await runMargayctl(['g', 'zz'], i, TEST_GROUPS)).toBe(2);
    expect(await runMargayctl(['g', 'toString'], i, TEST_GROUPS)).toBe(2);
  });
  it('UsageError exits 2 with usage; --help exits 0', async () => {
    const i = io();
    expect(await runMargayctl(['g', 'bad'], i, TEST_GROUPS)).toBe(2);
    expect(i.errs.at(-1)).toContain('ok-usage');
    expect(await runMargayctl(['g', 'ok', '--help'], i, TEST_GROUPS)).toBe(0);
  });
  it('registers the bgp group with peers, rib, announce, withdraw, reload', async () => {
    expect(Object.keys((await GROUPS.bgp!.load()).commands).sort()).toEqual([
      'announce',
      'peers',
      'refresh',
      'reload',
      'rib',
      'withdraw',
    ]);
  });
  it('lazy registrations carry the same summaries as the groups and verbs they load', async () => {
    for (const g of Object.values(GROUPS)) expect(g.summary).toBe((await g.load()).summary);
    for (const v of Object.values(VERBS)) {
      const loaded = await v.load();
      expect(v.summary).toBe(loaded.summary);
      expect(v.usage).toBe(loaded.usage);
    }
    expect(Object.keys(VERBS).sort()).toEqual(['apply', 'delete', 'get', 'version']);
  });
  it('version and --version print the package version and Node version; extra arguments are usage errors', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const argv of [['version'], ['--version']]) {
      const i = io();
      expect(await runMargayctl(argv, i)).toBe(0);
      expect(i.outs).toEqual([`margayctl ${pkg.version} (Node.js ${process.version})`]);
    }
    const i = io();
    expect(await runMargayctl(['version', 'extra'], i)).toBe(2);
    expect(i.errs[0]).toContain('unexpected argument "extra"');
  });
  it('packageVersion names the file and the problem; nearestPackageJson stops at /', () => {
    expect(nearestPackageJson(new URL('file:///nonexistent/a/b/')).href).toBe('file:///package.json');
    expect(() => packageVersion(new URL('file:///nonexistent/package.json'))).toThrow(
      /cannot read \/nonexistent\/package.json/,
    );
  });
  it('bgp commands report an unreachable socket as exit 1 with a hint', async () => {
    const i = io();
    expect(await runMargayctl(['bgp', 'peers', '--socket', '/nonexistent/dir/x.sock'], i)).toBe(1);
    expect(i.errs[0]).toContain('is margay-bgpd running?');
  });
  it('bad options are usage errors', async () => {
    const i = io();
    expect(await runMargayctl(['bgp', 'peers', '--bogus'], i)).toBe(2);
    expect(await runMargayctl(['bgp', 'announce', '--socket', '/x'], i)).toBe(2);
  });
  it('VERB --help prints the registered usage without loading the command', async () => {
    const i = io();
    let loaded = false;
    const verbs = { ...VERBS, get: { ...VERBS.get!, load: async () => ((loaded = true), VERBS.get!.load()) } };
    const saved = { ...VERBS };
    Object.assign(VERBS as Record<string, unknown>, verbs);
    try {
      expect(await runMargayctl(['get', '--help'], i)).toBe(0);
    } finally {
      Object.assign(VERBS as Record<string, unknown>, saved);
    }
    expect(loaded).toBe(false);
    expect(i.outs.at(-1)).toContain('usage: margayctl get KIND');
  });
  it('exitWhenIdle ends the process only after a finished command, with all output written and nothing left to run', () => {
    const fake = (active: string[], beforeExit = 0) => {
      const exits: number[] = [];
      const proc: IdleProcess = {
        exit: ((code: number) => void exits.push(code)) as IdleProcess['exit'],
        getActiveResourcesInfo: () => active,
        listenerCount: ((name: string) => (name === 'beforeExit' ? beforeExit : 0)) as IdleProcess['listenerCount'],
      };
      return { proc, exits };
    };
    const idle = fake([]);
    expect(exitWhenIdle(2, true, idle.proc)).toBe(true);
    expect(idle.exits).toEqual([2]);
    for (const [code, flushed, f] of [
      [undefined, true, fake([])], // the command has not finished (or failed inside)
      [0, false, fake([])], // a line went through a stream that may still hold it
      [0, true, fake(['Timeout'])], // a ref'd timer, handle or request could still run
      [0, true, fake(['FSReqCallback'])],
      [0, true, fake([], 1)], // a 'beforeExit' listener would run
    ] as const) {
      expect(exitWhenIdle(code, flushed, f.proc)).toBe(false);
      expect(f.exits).toEqual([]);
    }
  });
  it('lineWriter writes whole lines to the descriptor in order; other errors than EAGAIN/EPIPE are thrown', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mgy-linewriter-'));
    try {
      const file = join(dir, 'out');
      const fd = openSync(file, 'w');
      const stream = (): NodeJS.WritableStream => {
        throw new Error('the stream must not be touched for a blocking descriptor');
      };
      const out = lineWriter(fd, stream);
      out('first');
      out('x'.repeat(200_000));
      out('last ✓');
      closeSync(fd);
      expect(readFileSync(file, 'utf8')).toBe(`first\n${'x'.repeat(200_000)}\nlast ✓\n`);
      expect(() => lineWriter(fd, stream)('after close')).toThrow(/EBADF/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
