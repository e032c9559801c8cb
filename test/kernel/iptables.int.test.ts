import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { silentLogger } from '../../src/log.js';
import { InvariantError } from '../../src/errors.js';
import { ExecaCommandRunner } from '../../src/kernel/command-runner.js';
import { KernelBatchError } from '../../src/kernel/errors.js';
import { IptablesRestoreBackend } from '../../src/kernel/iptables-backend.js';
import { detectIptablesMode, IPTABLES_MODES } from '../../src/kernel/iptables-detect.js';
import { renderChainDecl, renderRule } from '../../src/kernel/iptables-format.js';
import { inNetns, linkNetns, withNetns, withNetnses } from '../helpers/netns.js';

const log = silentLogger();
const runner = new ExecaCommandRunner(log);
/** iptables-save text without its `# Generated ... on <time>` comments. */
const noComments = (s: string): string =>
  s
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');

describe.each(IPTABLES_MODES)('IptablesRestoreBackend (%s) against the kernel', (mode) => {
  it.each([4, 6] as const)('IPv%i: creates, saves, updates with --noflush and removes only ours', async (family) => {
    await withNetns(async (ns) => {
      const bin = `${family === 4 ? 'iptables' : 'ip6tables'}-${mode}`;
      // Foreign state: a chain with a rule, a jump from INPUT, a FORWARD policy.
      await inNetns(ns, bin, ['-N', 'KUBE-FW']);
      await inNetns(ns, bin, ['-A', 'KUBE-FW', '-m', 'comment', '--comment', 'kube fw', '-j', 'RETURN']);
      await inNetns(ns, bin, ['-A', 'INPUT', '-j', 'KUBE-FW']);
      await inNetns(ns, bin, ['-P', 'FORWARD', 'DROP']);
      const before = noComments(await inNetns(ns, `${bin}-save`, ['-t', 'filter']));

      const b = new IptablesRestoreBackend(runner, log, family, mode, ns);
      const src = family === 4 ? '10.0.0.0/8' : 'fd00::/8';
      await b.restore('filter', [
        renderChainDecl('mgy-fw'),
        renderChainDecl('mgy-from-wl'),
        renderRule('-A', 'mgy-fw', ['-s', src, '-j', 'mgy-from-wl'], 'mgy:r1 "quoted" \\ back'),
        renderRule('-A', 'mgy-from-wl', ['-p', 'tcp', '--dport', '80', '-j', 'ACCEPT'], 'mgy:r2'),
        renderRule('-I', 'INPUT', ['-j', 'mgy-fw'], 'mgy:jump'),
      ]);
      let saved = await b.save('filter');
      const chain = (n: string) => saved.chains.find((c) => c.name === n);
      expect(chain('mgy-fw')!.rules.map((r) => r.comment)).toEqual(['mgy:r1 "quoted" \\ back']);
      expect(chain('mgy-from-wl')!.rules[0]!.args).toEqual(expect.arrayContaining(['--dport', '80', '-j', 'ACCEPT']));
      expect(chain('INPUT')!.rules.map((r) => [r.owned, r.args.at(-1)])).toEqual([
        [true, 'mgy-fw'],
        [false, 'KUBE-FW'],
      ]);
      expect(chain('FORWARD')!.policy).toBe('DROP');
      expect(chain('KUBE-FW')!.owned).toBe(false);

      // Update one chain with --noflush: redeclaring flushes just that chain; the rest stays.
      await b.restore('filter', [
        renderChainDecl('mgy-from-wl'),
        renderRule('-A', 'mgy-from-wl', ['-p', 'udp', '-j', 'DROP'], 'mgy:r3'),
      ]);
      saved = await b.save('filter');
      expect(chain('mgy-from-wl')!.rules.map((r) => r.comment)).toEqual(['mgy:r3']);
      expect(chain('mgy-fw')!.rules).toHaveLength(1);
      expect(chain('KUBE-FW')!.rules).toHaveLength(1);

      // A failing line leaves the table as it was and is named.
      const err = await b
        .restore('filter', [
          renderRule('-A', 'mgy-fw', ['-j', 'DROP']),
          renderRule('-A', 'mgy-fw', ['-j', 'mgy-nonexistent']),
        ])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KernelBatchError);
      expect((err as KernelBatchError).failures[0]!.line).toBeGreaterThanOrEqual(3);
      expect((await b.save('filter')).chains.find((c) => c.name === 'mgy-fw')!.rules).toHaveLength(1);

      // Lines touching foreign chains are refused before anything runs.
      await expect(b.restore('filter', ['-F INPUT'])).rejects.toThrow(InvariantError);

      await b.removeOwned('filter');
      expect(noComments(await inNetns(ns, `${bin}-save`, ['-t', 'filter']))).toBe(before);
    });
  });
});

describe('iptables backend detection', () => {
  it('follows the host default with no rules, and the backend that holds rules otherwise', async () => {
    await withNetnses(2, async ([a, b]) => {
      const v = (await execa('iptables', ['-V'])).stdout;
      const def = v.includes('legacy') ? 'legacy' : 'nft';
      expect(await detectIptablesMode(runner, log, { netns: a! })).toBe(def);
      await inNetns(a!, 'iptables-legacy', ['-A', 'INPUT', '-j', 'ACCEPT']);
      await inNetns(a!, 'iptables-legacy', ['-A', 'INPUT', '-j', 'ACCEPT']);
      expect(await detectIptablesMode(runner, log, { netns: a! })).toBe('legacy');
      await inNetns(b!, 'ip6tables-nft', ['-A', 'INPUT', '-j', 'ACCEPT']);
      expect(await detectIptablesMode(runner, log, { netns: b! })).toBe('nft');
      expect(await detectIptablesMode(runner, log, { netns: b!, override: 'legacy' })).toBe('legacy');
    });
  });

  it('rules written through the backend filter real traffic', async () => {
    await withNetnses(2, async ([a, b]) => {
      await linkNetns(a!, b!, '10.62.0.1/24', '10.62.0.2/24');
      const mode = await detectIptablesMode(runner, log, { netns: b! });
      const fw = new IptablesRestoreBackend(runner, log, 4, mode, b!);
      await inNetns(a!, 'ping', ['-c', '1', '-W', '2', '10.62.0.2']);
      await fw.restore('filter', [
        renderChainDecl('mgy-in'),
        renderRule('-A', 'mgy-in', ['-p', 'icmp', '-j', 'DROP'], 'mgy:icmp'),
        renderRule('-A', 'INPUT', ['-j', 'mgy-in'], 'mgy:jump'),
      ]);
      const blocked = await execa('ip', ['netns', 'exec', a!, 'ping', '-c', '1', '-W', '1', '10.62.0.2'], {
        reject: false,
      });
      expect(blocked.exitCode).not.toBe(0);
      await fw.removeOwned('filter');
      await inNetns(a!, 'ping', ['-c', '1', '-W', '2', '10.62.0.2']);
    });
  });
});
