import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { KernelOpError } from '../../src/errors.js';
import { ExecaCommandRunner } from '../../src/kernel/command-runner.js';
import { IpNeighborOps } from '../../src/kernel/neighbor-ops.js';
import { confKey, ProcSysctlOps } from '../../src/kernel/sysctl-ops.js';
import { inNetns, run, uniqueName, withNetnses } from '../helpers/netns.js';

const log = silentLogger();
const runner = new ExecaCommandRunner(log);

describe('SysctlOps against the kernel', () => {
  it('reads and writes per-namespace and per-interface settings without touching the sandbox namespace', async () => {
    await withNetnses(2, async ([a, b]) => {
      // A veth whose name holds a dot, as VLAN sub-interfaces do.
      const dotted = `mgy.${uniqueName('d').slice(-6)}`;
      await run('ip', ['-n', a!, 'link', 'add', dotted, 'type', 'veth', 'peer', 'name', 'mgypeer']);
      const sa = new ProcSysctlOps(runner, log, a!);
      const sb = new ProcSysctlOps(runner, log, b!);
      const outside = (await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim();

      await sa.setMany({
        'net.ipv4.ip_forward': 1,
        [confKey(4, dotted, 'proxy_arp')]: 1,
        [confKey(4, dotted, 'rp_filter')]: 2,
        [confKey(6, dotted, 'accept_ra')]: 0,
        'net.ipv6.conf.all.forwarding': 1,
      });
      expect(await sa.get('net.ipv4.ip_forward')).toBe('1');
      expect(await sa.get(confKey(4, dotted, 'proxy_arp'))).toBe('1');
      expect(await sa.get(confKey(4, dotted, 'rp_filter'))).toBe('2');
      expect(await sa.get(confKey(6, dotted, 'accept_ra'))).toBe('0');
      expect(await inNetns(a!, 'cat', [`/proc/sys/net/ipv4/conf/${dotted}/proxy_arp`])).toBe('1');
      // Other namespaces keep their own values.
      expect(await sb.get('net.ipv4.ip_forward')).toBe('0');
      expect((await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim()).toBe(outside);

      const err = await sa.set(confKey(4, 'mgynosuchdev', 'rp_filter'), 1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KernelOpError);
      expect((err as Error).message).toContain('mgynosuchdev');
    });
  });
});

describe('NeighborOps against the kernel', () => {
  it('adds permanent and proxy entries, lists them, deletes them idempotently', async () => {
    await withNetnses(1, async ([a]) => {
      await run('ip', ['-n', a!, 'link', 'add', 'mgyn0', 'type', 'veth', 'peer', 'name', 'mgyn1']);
      await run('ip', ['-n', a!, 'link', 'set', 'mgyn0', 'up']);
      await run('ip', ['-n', a!, 'link', 'set', 'mgyn1', 'up']);
      const n = new IpNeighborOps(runner, log, { netns: a! });
      await n.replace({ dst: '10.90.0.7', dev: 'mgyn0', lladdr: '02:00:00:00:00:07' });
      await n.replace({ dst: '10.90.0.7', dev: 'mgyn0', lladdr: '02:00:00:00:00:08' }); // replace in place
      await n.replace({ dst: 'fd90::7', dev: 'mgyn0', lladdr: '02:00:00:00:00:09' });
      await n.replaceProxy({ dst: '10.90.0.8', dev: 'mgyn0' });
      expect(await n.list({ dev: 'mgyn0', proxy: false })).toEqual([
        { dst: '10.90.0.7', dev: 'mgyn0', lladdr: '02:00:00:00:00:08', state: ['PERMANENT'], proxy: false },
        { dst: 'fd90::7', dev: 'mgyn0', lladdr: '02:00:00:00:00:09', state: ['PERMANENT'], proxy: false },
      ]);
      expect(await n.list({ proxy: true })).toEqual([{ dst: '10.90.0.8', dev: 'mgyn0', state: [], proxy: true }]);
      await n.delete({ dst: '10.90.0.8', dev: 'mgyn0', proxy: true });
      await n.delete({ dst: '10.90.0.7', dev: 'mgyn0' });
      await n.delete({ dst: '10.90.0.7', dev: 'mgyn0' });
      expect((await n.list()).map((e) => e.dst)).toEqual(['fd90::7']);
    });
  });
});
