import { describe, expect, it } from 'vitest';
import { InvariantError, KernelOpError } from '../errors.js';
import { silentLogger } from '../log.js';
import type { KernelBatchError } from './errors.js';
import { IpsetRestoreBackend } from './ipset-backend.js';
import { FakeCommandRunner } from './testing/fake-command-runner.js';
import { FakeIpsetBackend } from './testing/fake-ipset-backend.js';

describe('IpsetRestoreBackend', () => {
  it('lists only our sets, in the namespace', async () => {
    const runner = new FakeCommandRunner()
      .on('ipset save', {
        stdout: 'create KUBE-X hash:net family inet\ncreate mgyA hash:ip family inet\nadd mgyA 10.0.0.1\n',
      })
      .on('ipset list -n', { stdout: 'KUBE-X\nmgyA\n' });
    const b = new IpsetRestoreBackend(runner, silentLogger(), 'n1');
    expect(await b.list()).toEqual([{ name: 'mgyA', type: 'hash:ip', family: 'inet', members: ['10.0.0.1'] }]);
    expect(await b.listNames()).toEqual(['mgyA']);
    expect(runner.lines).toEqual(['ip netns exec n1 ipset save', 'ip netns exec n1 ipset list -n']);
  });

  it('restores with -exist and names the failing line', async () => {
    const runner = new FakeCommandRunner().on('restore', {
      exitCode: 1,
      stderr: 'ipset v7.17: Error in line 2: Syntax error: cannot parse 10.0.0.300: resolving to IPv4 address failed\n',
    });
    const err = await new IpsetRestoreBackend(runner, silentLogger())
      .restore(['create mgyA hash:ip family inet', 'add mgyA 10.0.0.300'])
      .catch((e: unknown) => e);
    expect(runner.commands[0]!.argv).toEqual(['ipset', 'restore', '-exist']);
    expect((err as KernelBatchError).failures).toEqual([
      {
        line: 2,
        text: 'add mgyA 10.0.0.300',
        reason: 'Syntax error: cannot parse 10.0.0.300: resolving to IPv4 address failed',
      },
    ]);
  });

  it('destroys idempotently, never a foreign set', async () => {
    const runner = new FakeCommandRunner()
      .on('destroy mgyGone', { exitCode: 1, stderr: 'ipset v7.17: The set with the given name does not exist\n' })
      .on('destroy mgyBusy', {
        exitCode: 1,
        stderr: 'ipset v7.17: Set cannot be destroyed: it is in use by a kernel component\n',
      });
    const b = new IpsetRestoreBackend(runner, silentLogger());
    await b.destroy('mgyGone');
    await expect(b.destroy('mgyBusy')).rejects.toThrow(KernelOpError);
    await expect(b.destroy('KUBE-X')).rejects.toThrow(InvariantError);
  });
});

describe('FakeIpsetBackend', () => {
  it('replaces atomically, keeps foreign sets, refuses to destroy sets in use', async () => {
    const b = new FakeIpsetBackend();
    b.seedForeign({ name: 'KUBE-X', type: 'hash:net', family: 'inet' }, ['1.0.0.0/8']);
    await b.replaceSet({ name: 'mgyA', type: 'hash:net', family: 'inet' }, ['10.0.0.0/24']);
    await b.replaceSet({ name: 'mgyA', type: 'hash:net', family: 'inet' }, ['10.1.0.0/24', '10.2.0.0/24']);
    expect(await b.list()).toEqual([
      { name: 'mgyA', type: 'hash:net', family: 'inet', members: ['10.1.0.0/24', '10.2.0.0/24'] },
    ]);
    b.inUse.add('mgyA');
    await expect(b.destroy('mgyA')).rejects.toThrow(/in use/);
    expect([...b.sets.keys()]).toEqual(['KUBE-X', 'mgyA']);
  });
});
