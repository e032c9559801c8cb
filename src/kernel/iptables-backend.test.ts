import { describe, expect, it } from 'vitest';
import { InvariantError } from '../errors.js';
import { silentLogger } from '../log.js';
import { KernelBatchError } from './errors.js';
import { IptablesRestoreBackend } from './iptables-backend.js';
import { renderChainDecl, renderRule } from './iptables-format.js';
import { FakeCommandRunner } from './testing/fake-command-runner.js';
import { FakeIptablesBackend } from './testing/fake-iptables-backend.js';

describe('IptablesRestoreBackend', () => {
  it('uses the tools of its family and mode, in the namespace, with --noflush and --wait', async () => {
    const runner = new FakeCommandRunner().on('save', { stdout: '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n' });
    const b = new IptablesRestoreBackend(runner, silentLogger(), 6, 'legacy', 'n1');
    expect((await b.save('filter')).chains.map((c) => c.name)).toEqual(['INPUT']);
    await b.restore('filter', [renderChainDecl('mgy-a')]);
    expect(runner.commands.map((c) => [c.argv.join(' '), c.stdin])).toEqual([
      ['ip netns exec n1 ip6tables-legacy-save -t filter', undefined],
      ['ip netns exec n1 ip6tables-legacy-restore --noflush --wait=10', '*filter\n:mgy-a - [0:0]\nCOMMIT\n'],
    ]);
  });

  it("answers each table's first save from the detection's dump (no process), until it is stale or anything was written", async () => {
    const dump = '*mangle\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:mgy-x - [0:0]\nCOMMIT\n';
    const runner = new FakeCommandRunner().on('save', { stdout: '*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n' });
    const b = new IptablesRestoreBackend(runner, silentLogger(), 4, 'nft', undefined, { text: dump, at: Date.now() });
    expect((await b.save('filter')).chains.map((c) => c.name)).toEqual(['INPUT', 'mgy-x']);
    expect((await b.save('nat')).chains).toEqual([]); // not in the dump: nothing there, as `-t nat` says
    expect(runner.commands).toEqual([]);
    // Second read of a table: fresh.
    expect((await b.save('filter')).chains.map((c) => c.name)).toEqual(['FORWARD']);
    expect(runner.lines).toEqual(['iptables-nft-save -t filter']);
    // A write drops the dump; so does its age.
    const w = new IptablesRestoreBackend(runner, silentLogger(), 4, 'nft', undefined, { text: dump, at: Date.now() });
    await w.restore('filter', [renderChainDecl('mgy-a')]);
    expect((await w.save('mangle')).chains).toEqual([]);
    const old = new IptablesRestoreBackend(runner, silentLogger(), 4, 'nft', undefined, {
      text: dump,
      at: Date.now() - 6000,
    });
    expect((await old.save('filter')).chains.map((c) => c.name)).toEqual(['FORWARD']);
    expect(runner.lines.slice(1)).toEqual([
      'iptables-nft-restore --noflush --wait=10',
      'iptables-nft-save -t mangle',
      'iptables-nft-save -t filter',
    ]);
  });

  it('names the failing input line', async () => {
    const runner = new FakeCommandRunner().on('restore', {
      exitCode: 2,
      stderr:
        "iptables-restore v1.8.9 (legacy): Couldn't load target `NOPE':No such file or directory\n\nError occurred at line: 3\nTry `iptables-restore -h' for more information.\n",
    });
    const err = await new IptablesRestoreBackend(runner, silentLogger(), 4, 'legacy')
      .restore('filter', [renderChainDecl('mgy-a'), renderRule('-A', 'mgy-a', ['-j', 'NOPE'])])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelBatchError);
    expect((err as KernelBatchError).failures).toEqual([
      {
        line: 3,
        text: '-A mgy-a -j NOPE',
        reason: "iptables-restore v1.8.9 (legacy): Couldn't load target `NOPE':No such file or directory",
      },
    ]);
  });

  it('refuses foreign lines and flushing restores before running anything', async () => {
    const runner = new FakeCommandRunner();
    const b = new IptablesRestoreBackend(runner, silentLogger(), 4, 'nft');
    await expect(b.restore('filter', ['-A INPUT -j DROP'])).rejects.toThrow(InvariantError);
    await expect(b.restore('filter', [], { noflush: false as true })).rejects.toThrow(/noflush/);
    expect(runner.commands).toEqual([]);
  });
});

describe('FakeIptablesBackend', () => {
  it('applies restore atomically, keeps foreign rules, and removes only ours', async () => {
    const b = new FakeIptablesBackend();
    b.seedForeign('filter', 'KUBE-FW', ['-j', 'DROP']);
    b.seedForeign('filter', 'INPUT', ['-j', 'KUBE-FW']);
    await b.restore('filter', [
      renderChainDecl('mgy-a'),
      renderRule('-A', 'mgy-a', ['-j', 'ACCEPT'], 'mgy:r1'),
      renderRule('-I', 'INPUT', ['-j', 'mgy-a'], 'mgy:j'),
    ]);
    const err = await b
      .restore('filter', [renderRule('-A', 'mgy-a', ['-j', 'DROP']), renderRule('-A', 'mgy-a', ['-j', 'mgy-missing'])])
      .catch((e: unknown) => e);
    expect((err as KernelBatchError).failures[0]!.line).toBe(3);
    expect(b.saveText('filter')).not.toContain('-A mgy-a -j DROP');
    expect((await b.save('filter')).chains.find((c) => c.name === 'INPUT')!.rules.map((r) => r.owned)).toEqual([
      true,
      false,
    ]);
    await b.removeOwned('filter');
    expect(b.saveText('filter')).toBe(
      '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:KUBE-FW - [0:0]\n-A INPUT -j KUBE-FW\n-A KUBE-FW -j DROP\nCOMMIT\n',
    );
  });
});
