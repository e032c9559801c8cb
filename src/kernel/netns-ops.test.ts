import { describe, expect, it } from 'vitest';
import { InvariantError, KernelOpError } from '../errors.js';
import { silentLogger } from '../log.js';
import { IpNetnsOps, parseNetnsList } from './netns-ops.js';
import { FakeCommandRunner } from './testing/fake-command-runner.js';
import { FakeNetnsOps } from './testing/fake-netns-ops.js';

describe('IpNetnsOps', () => {
  it('lists, adds (with lo up), execs inside, and deletes idempotently', async () => {
    const runner = new FakeCommandRunner()
      .on('netns list', { stdout: '[{"name":"a"},{"name":"b","id":0}]\n' })
      .on('netns del gone', {
        exitCode: 1,
        stderr: 'Cannot remove namespace file "/run/netns/gone": No such file or directory',
      });
    const ns = new IpNetnsOps(runner, silentLogger());
    expect(await ns.list()).toEqual(['a', 'b']);
    expect(await ns.exists('b')).toBe(true);
    await ns.add('c');
    await ns.exec('c', ['sysctl', '-n', 'net.ipv4.ip_forward']);
    await ns.delete('gone');
    expect(runner.lines.slice(2)).toEqual([
      'ip netns add c',
      'ip -n c link set lo up',
      'ip netns exec c sysctl -n net.ipv4.ip_forward',
      'ip netns del gone',
    ]);
    expect(parseNetnsList('')).toEqual([]);
    await expect(ns.add('../x')).rejects.toThrow(InvariantError);
  });
});

describe('FakeNetnsOps', () => {
  it('tracks namespaces and fails exec in a missing one', async () => {
    const f = new FakeNetnsOps();
    await f.add('a');
    await expect(f.add('a')).rejects.toThrow(KernelOpError);
    f.execReplies.set('cat x', 'hello');
    expect((await f.exec('a', ['cat', 'x'])).stdout).toBe('hello');
    await expect(f.exec('zz', ['true'])).rejects.toThrow(/No such file/);
    await f.delete('a');
    expect(await f.list()).toEqual([]);
  });
});
