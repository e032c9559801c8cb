import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { FibSync } from '../../bgp/fib/fib-sync.js';
import { silentLogger } from '../../src/log.js';
import { ExecaCommandRunner } from '../../src/kernel/command-runner.js';
import { IpRouteTable } from '../../src/kernel/route-table.js';
import { inNetns, linkNetns, run, withNetnses } from '../helpers/netns.js';

// FIB sync against the real kernel in a namespace: routes appear with proto 110, ECMP becomes a
// multipath route, withdrawn routes go, and a restarted FibSync leaves unchanged routes untouched
// (watched with `ip monitor route`: no event for them) while removing stale ones only after in-sync.

async function routes(ns: string): Promise<string[]> {
  const out = await inNetns(ns, 'ip', ['-4', 'route', 'show', 'proto', '110']);
  // ECMP routes print their next hops on continuation lines.
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('nexthop'));
}

/** ns gets 10.50.0.1/24 on a veth to `other`, so next hops 10.50.0.x are on-link. */
async function prepare(ns: string, other: string): Promise<void> {
  await linkNetns(ns, other, '10.50.0.1/24', '10.50.0.200/24');
  // A foreign route (BIRD's proto) that must never be touched.
  await run('ip', ['-n', ns, 'route', 'add', '10.70.0.0/24', 'via', '10.50.0.9', 'proto', '12']);
}

function fibFor(ns: string): FibSync {
  const log = silentLogger();
  return new FibSync(new IpRouteTable(new ExecaCommandRunner(log), log, ns), { table: 254, batchSize: 2 });
}

describe('FIB sync (real kernel)', () => {
  it('installs, replaces with ECMP, and removes routes with proto 110', async () => {
    await withNetnses(2, async ([nsA, other]) => {
      const ns = nsA!;
      await prepare(ns, other!);
      const fib = fibFor(ns);
      fib.setBestPaths([
        { prefix: '10.60.1.0/24', nextHops: ['10.50.0.2'] },
        { prefix: '10.60.2.0/24', nextHops: ['10.50.0.2'] },
        { prefix: '10.60.3.0/24', nextHops: ['10.50.0.3', '10.50.0.2'] },
      ]);
      expect(await fib.apply()).toEqual({ replaced: 3, removed: 0, unchanged: 0 });
      const r = await routes(ns);
      expect(r.some((l) => l.startsWith('10.60.1.0/24 via 10.50.0.2 dev'))).toBe(true);
      expect(r.some((l) => l.startsWith('10.60.3.0/24'))).toBe(true);
      const ecmp = await inNetns(ns, 'ip', ['-4', 'route', 'show', '10.60.3.0/24']);
      expect(ecmp).toMatch(/nexthop via 10\.50\.0\.2 dev \S+ weight 1\s+nexthop via 10\.50\.0\.3 dev \S+ weight 1/);

      fib.setBestPaths([
        { prefix: '10.60.1.0/24', nextHops: null },
        { prefix: '10.60.2.0/24', nextHops: ['10.50.0.2', '10.50.0.4'] },
      ]);
      expect(await fib.apply()).toEqual({ replaced: 1, removed: 1, unchanged: 0 });
      const after = await routes(ns);
      expect(after.some((l) => l.startsWith('10.60.1.0/24'))).toBe(false);
      expect(await inNetns(ns, 'ip', ['-4', 'route', 'show', '10.60.2.0/24'])).toContain('nexthop via 10.50.0.4');
      expect(await inNetns(ns, 'ip', ['-4', 'route', 'show', '10.70.0.0/24'])).toContain('proto bird');
    });
  });

  it('writes IPv4 routes with IPv6 next hops (RFC 8950), link-local ones with their device, and reads them back unchanged', async () => {
    await withNetnses(2, async ([nsA, other]) => {
      const ns = nsA!;
      const { ifA } = await linkNetns(ns, other!, '10.50.0.1/24', '10.50.0.200/24');
      await run('ip', ['-n', ns, '-6', 'addr', 'add', 'fd50::1/64', 'dev', ifA, 'nodad']);
      const fib = fibFor(ns);
      fib.setBestPaths([
        { prefix: '10.61.1.0/24', nextHops: ['fd50::2'] },
        { prefix: '10.61.2.0/24', nextHops: [`fe80::2%${ifA}`] },
        { prefix: '10.61.3.0/24', nextHops: [`fe80::2%${ifA}`, `fe80::3%${ifA}`] },
        { prefix: 'fd61::/64', nextHops: [`fe80::2%${ifA}`] },
      ]);
      expect(await fib.apply()).toEqual({ replaced: 4, removed: 0, unchanged: 0 });
      expect(await inNetns(ns, 'ip', ['-4', 'route', 'show', '10.61.1.0/24'])).toContain(
        `via inet6 fd50::2 dev ${ifA} proto 110`,
      );
      expect(await inNetns(ns, 'ip', ['-4', 'route', 'show', '10.61.2.0/24'])).toContain(
        `via inet6 fe80::2 dev ${ifA} proto 110`,
      );
      expect(await inNetns(ns, 'ip', ['-4', 'route', 'show', '10.61.3.0/24'])).toMatch(
        new RegExp(`nexthop via inet6 fe80::2 dev ${ifA} weight 1\\s+nexthop via inet6 fe80::3 dev ${ifA}`),
      );
      expect(await inNetns(ns, 'ip', ['-6', 'route', 'show', 'fd61::/64'])).toContain(
        `via fe80::2 dev ${ifA} proto 110`,
      );
      // A restarted FibSync reads them back as the same routes: nothing rewritten.
      const again = fibFor(ns);
      again.setBestPaths([
        { prefix: '10.61.1.0/24', nextHops: ['fd50::2'] },
        { prefix: '10.61.2.0/24', nextHops: [`fe80::2%${ifA}`] },
        { prefix: '10.61.3.0/24', nextHops: [`fe80::3%${ifA}`, `fe80::2%${ifA}`] },
        { prefix: 'fd61::/64', nextHops: [`fe80::2%${ifA}`] },
      ]);
      expect(await again.apply()).toEqual({ replaced: 0, removed: 0, unchanged: 4 });
    });
  });

  it('after a restart touches only what changed, and removes stale routes only once in sync', async () => {
    await withNetnses(2, async ([nsA, other]) => {
      const ns = nsA!;
      await prepare(ns, other!);
      const first = fibFor(ns);
      first.setBestPaths([
        { prefix: '10.60.1.0/24', nextHops: ['10.50.0.2'] },
        { prefix: '10.60.2.0/24', nextHops: ['10.50.0.2', '10.50.0.3'] },
        { prefix: '10.60.3.0/24', nextHops: ['10.50.0.2'] },
      ]);
      await first.apply();

      // "Restart": a fresh FibSync that learns the same routes except 10.60.3.0/24 (gone) and a new next hop
      // for 10.60.1.0/24. Watch the kernel for route events while it applies.
      const monitor = execa('ip', ['-n', ns, 'monitor', 'route'], { reject: false, buffer: true });
      await new Promise((r) => setTimeout(r, 200));
      const second = fibFor(ns);
      second.setBestPaths([
        { prefix: '10.60.1.0/24', nextHops: ['10.50.0.5'] },
        { prefix: '10.60.2.0/24', nextHops: ['10.50.0.3', '10.50.0.2'] },
      ]);
      expect(await second.apply()).toEqual({ replaced: 1, removed: 0, unchanged: 1 });
      expect((await routes(ns)).some((l) => l.startsWith('10.60.3.0/24'))).toBe(true); // kept until in-sync
      second.markInSync();
      expect(await second.apply()).toEqual({ replaced: 0, removed: 1, unchanged: 0 });
      await new Promise((r) => setTimeout(r, 200));
      monitor.kill('SIGTERM');
      const events = String((await monitor).stdout);
      expect(events).toContain('10.60.1.0/24');
      expect(events).toContain('10.60.3.0/24');
      expect(events).not.toContain('10.60.2.0/24');
      expect(events).not.toContain('10.70.0.0/24');
      const final = await routes(ns);
      expect(final.map((l) => l.split(' ')[0])).toEqual(['10.60.1.0/24', '10.60.2.0/24']);
    });
  });
});
