import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { ExecaCommandRunner } from '../../src/kernel/command-runner.js';
import { OWNERSHIP } from '../../src/kernel/ownership.js';
import { IpRouteTable } from '../../src/kernel/route-table.js';
import type { KernelRoute } from '../../src/kernel/route-format.js';
import { IptablesRestoreBackend } from '../../src/kernel/iptables-backend.js';
import { detectIptablesMode } from '../../src/kernel/iptables-detect.js';
import { renderChainDecl, renderRule } from '../../src/kernel/iptables-format.js';
import { IpsetRestoreBackend } from '../../src/kernel/ipset-backend.js';
import { linkNetns, withNetns, withNetnses } from '../helpers/netns.js';

const N = 10_000;

const bench = (line: string): void => {
  if (process.env.MARGAY_BENCH === '1') console.log(line);
};

describe('kernel adapters at scale', () => {
  it(`writes ${N} routes in one batch, lists exactly them, and removes them in one batch`, async () => {
    await withNetnses(2, async ([a, b]) => {
      const { ifA } = await linkNetns(a!, b!, '10.61.0.1/24', '10.61.0.2/24');
      const rt = new IpRouteTable(new ExecaCommandRunner(silentLogger()), silentLogger(), a!);
      const routes: KernelRoute[] = Array.from({ length: N }, (_, i) => ({
        dst: `10.${100 + (i >> 8)}.${i & 255}.0/24`,
        via: '10.61.0.2',
        dev: ifA,
        table: 254,
        proto: OWNERSHIP.routeProtocol.bgp,
      }));
      const t0 = performance.now();
      await rt.apply({ replace: routes });
      const t1 = performance.now();
      const listed = await rt.list({ family: 4 });
      const t2 = performance.now();
      expect(listed).toHaveLength(N);
      expect(new Set(listed.map((r) => r.dst))).toEqual(new Set(routes.map((r) => r.dst)));
      await rt.apply({ remove: routes.map((r) => ({ dst: r.dst, table: r.table, proto: r.proto })) });
      const t3 = performance.now();
      expect(await rt.list()).toEqual([]);
      bench(
        `routes=${N} replace=${(t1 - t0).toFixed(0)}ms list=${(t2 - t1).toFixed(0)}ms remove=${(t3 - t2).toFixed(0)}ms`,
      );
    });
  });

  it('restores 500 chains with 10000 rules in one iptables-restore, saves, and removes them', async () => {
    await withNetns(async (ns) => {
      const runner = new ExecaCommandRunner(silentLogger());
      const fw = new IptablesRestoreBackend(
        runner,
        silentLogger(),
        4,
        await detectIptablesMode(runner, silentLogger(), { netns: ns }),
        ns,
      );
      const lines: string[] = [];
      for (let c = 0; c < 500; c++) {
        lines.push(renderChainDecl(`mgy-pol-${c}`));
        for (let r = 0; r < 20; r++) {
          lines.push(
            renderRule(
              '-A',
              `mgy-pol-${c}`,
              ['-s', `10.${c >> 8}.${c & 255}.${r}/32`, '-p', 'tcp', '--dport', String(1000 + r), '-j', 'ACCEPT'],
              `mgy:${c}-${r}`,
            ),
          );
        }
      }
      const t0 = performance.now();
      await fw.restore('filter', lines);
      const t1 = performance.now();
      const saved = await fw.save('filter');
      const t2 = performance.now();
      expect(saved.chains.filter((c) => c.owned)).toHaveLength(500);
      expect(saved.chains.reduce((n, c) => n + c.rules.length, 0)).toBe(10_000);
      await fw.removeOwned('filter');
      const t3 = performance.now();
      expect((await fw.save('filter')).chains.filter((c) => c.owned)).toEqual([]);
      bench(
        `iptables(${fw.mode}) rules=10000 restore=${(t1 - t0).toFixed(0)}ms save+parse=${(t2 - t1).toFixed(0)}ms removeOwned=${(t3 - t2).toFixed(0)}ms`,
      );
    });
  });

  it('replaces an ipset of 20000 members atomically and lists it back', async () => {
    await withNetns(async (ns) => {
      const sets = new IpsetRestoreBackend(new ExecaCommandRunner(silentLogger()), silentLogger(), ns);
      const members = Array.from({ length: 20_000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
      const t0 = performance.now();
      await sets.replaceSet({ name: 'mgyscale', type: 'hash:ip', family: 'inet' }, members);
      const t1 = performance.now();
      const [listed] = await sets.list();
      const t2 = performance.now();
      expect(new Set(listed!.members)).toEqual(new Set(members));
      await sets.destroy('mgyscale');
      bench(`ipset members=20000 replace=${(t1 - t0).toFixed(0)}ms list=${(t2 - t1).toFixed(0)}ms`);
    });
  });
});
