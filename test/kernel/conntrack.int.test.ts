import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { ExecaCommandRunner } from '../../src/kernel/command-runner.js';
import { ConntrackToolOps } from '../../src/kernel/conntrack-ops.js';
import { inNetns, withNetns } from '../helpers/netns.js';

const log = silentLogger();

describe('ConntrackOps against the kernel', () => {
  it('lists flows and deletes those naming an IP in either direction, IPv4 and IPv6', async () => {
    await withNetns(async (ns) => {
      const add = (...a: string[]) =>
        inNetns(ns, 'conntrack', ['-I', '-p', 'udp', '--sport', '1000', '--dport', '53', '-t', '100', ...a]);
      await add('-s', '10.64.0.1', '-d', '10.64.0.2');
      await add('-s', '10.64.0.3', '-d', '10.64.0.1');
      await add('-s', '10.64.0.3', '-d', '10.64.0.4');
      await add('-s', 'fd64::1', '-d', 'fd64::2');
      const ct = new ConntrackToolOps(new ExecaCommandRunner(log), log, ns);
      expect(await ct.count()).toBe(4);
      expect((await ct.list({ ip: '10.64.0.1' })).map((f) => f.src).sort()).toEqual(['10.64.0.1', '10.64.0.3']);
      expect((await ct.list({ family: 6 })).map((f) => f.dst)).toEqual(['fd64::2']);
      expect(await ct.deleteFlowsFor('10.64.0.1')).toBe(2);
      expect(await ct.deleteFlowsFor('10.64.0.1')).toBe(0);
      expect(await ct.deleteFlowsFor('fd64::2')).toBe(1);
      expect((await ct.list()).map((f) => f.dst)).toEqual(['10.64.0.4']);
    });
  });
});
