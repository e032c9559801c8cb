import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { ExecaCommandRunner, type CommandResult, type RunOptions } from '../../src/kernel/command-runner.js';
import { KernelBatchError } from '../../src/kernel/errors.js';
import { OWNERSHIP } from '../../src/kernel/ownership.js';
import { IpRouteTable } from '../../src/kernel/route-table.js';
import { NetlinkRouteWriter } from '../../src/kernel/netlink.js';
import type { KernelRoute } from '../../src/kernel/route-format.js';
import { inNetns, linkNetns, run, withNetnses } from '../helpers/netns.js';

const { workload: W, bgp: B, blackhole: H } = OWNERSHIP.routeProtocol;

async function setUp(a: string, b: string, c: string): Promise<{ ifB: string; ifC: string }> {
  const ab = await linkNetns(a, b, '10.60.1.1/24', '10.60.1.2/24');
  const ac = await linkNetns(a, c, '10.60.2.1/24', '10.60.2.2/24');
  await run('ip', ['-n', a, 'addr', 'add', 'fd60:1::1/64', 'dev', ab.ifA, 'nodad']);
  await run('ip', ['-n', a, 'addr', 'add', 'fd60:2::1/64', 'dev', ac.ifA, 'nodad']);
  return { ifB: ab.ifA, ifC: ac.ifA };
}

/**
 * Every test runs twice: route writes through `ip -n NS -force -batch -`, and over rtnetlink from this
 * process (NetlinkRouteWriter, a socket made in NS). Reads are `ip -j` either way, so the same
 * expectations prove the netlink messages make exactly the routes `ip` makes.
 */
const MODES = ['ip', 'netlink'] as const;
/** Every command the route tables ran (netlink mode must write without `ip -force -batch`). */
const commands: string[] = [];
class Recording extends ExecaCommandRunner {
  override run(argv: readonly string[], opts?: RunOptions): Promise<CommandResult> {
    commands.push(argv.join(' '));
    return super.run(argv, opts);
  }
}
function table(mode: (typeof MODES)[number], ns: string): IpRouteTable {
  const writer = mode === 'netlink' ? NetlinkRouteWriter.create(silentLogger(), `/run/netns/${ns}`) : undefined;
  if (mode === 'netlink' && writer === undefined)
    throw new Error('the netlink addon is not built (npm run build:native)');
  return new IpRouteTable(new Recording(silentLogger()), silentLogger(), ns, writer);
}
const writes = (): string[] => commands.filter((c) => c.includes('-force'));

describe.each(MODES)('IpRouteTable against the kernel, writes through %s', (mode) => {
  it('writes every route shape in one batch, reads back exactly those, and leaves foreign routes alone', async () => {
    await withNetnses(3, async ([a, b, c]) => {
      const { ifB, ifC } = await setUp(a!, b!, c!);
      // A foreign route (proto static) that Margay must never list, overwrite or delete.
      await run('ip', ['-n', a!, 'route', 'add', '10.70.9.0/24', 'via', '10.60.1.2', 'proto', 'static']);
      const rt = table(mode, a!);
      const routes: KernelRoute[] = [
        { dst: '10.70.0.0/24', via: '10.60.1.2', dev: ifB, table: 254, proto: B, metric: 20 },
        {
          dst: '10.70.1.0/24',
          table: 254,
          proto: B,
          nexthops: [
            { via: '10.60.1.2', dev: ifB },
            { via: '10.60.2.2', dev: ifC, weight: 3 },
          ],
        },
        { dst: '10.70.2.5/32', dev: ifC, scope: 'link', src: '10.60.2.1', table: 254, proto: W },
        { dst: '10.70.3.0/26', type: 'blackhole', table: 254, proto: H },
        { dst: '10.70.4.0/26', type: 'unreachable', table: 254, proto: H },
        { dst: '10.70.5.0/24', via: '10.60.1.2', dev: ifB, table: 100, proto: B },
        { dst: 'fd70:1::/64', via: 'fd60:1::2', dev: ifB, table: 254, proto: B },
        {
          dst: 'fd70:2::/64',
          table: 254,
          proto: B,
          nexthops: [
            { via: 'fd60:1::2', dev: ifB },
            { via: 'fd60:2::2', dev: ifC },
          ],
        },
        { dst: 'fd70:3::/122', type: 'blackhole', table: 254, proto: H },
      ];
      await rt.apply({ replace: routes });
      const key = (r: KernelRoute): string => `${r.table} ${r.dst}`;
      const got = await rt.list();
      expect([...got].sort((x, y) => key(x).localeCompare(key(y)))).toEqual(
        [...routes].sort((x, y) => key(x).localeCompare(key(y))),
      );
      expect((await rt.list({ family: 6, protos: [H] })).map((r) => r.dst)).toEqual(['fd70:3::/122']);
      expect((await rt.list({ table: 100 })).map((r) => r.dst)).toEqual(['10.70.5.0/24']);

      // Replace is idempotent and updates in place.
      await rt.replace({ dst: '10.70.0.0/24', via: '10.60.2.2', dev: ifC, table: 254, proto: B, metric: 20 });
      expect((await rt.list()).filter((r) => r.dst === '10.70.0.0/24')).toEqual([
        { dst: '10.70.0.0/24', via: '10.60.2.2', dev: ifC, table: 254, proto: B, metric: 20 },
      ]);

      // IPv6 too (where `route add` could append a nexthop): the update replaces, in place.
      await rt.apply({
        replace: [
          { dst: 'fd70:1::/64', via: 'fd60:2::2', dev: ifC, table: 254, proto: B },
          { dst: 'fd70:2::/64', via: 'fd60:1::2', dev: ifB, table: 254, proto: B },
          { dst: '10.70.1.0/24', via: '10.60.2.2', dev: ifC, table: 254, proto: B },
        ],
      });
      const now = (await rt.list()).filter((r) => ['fd70:1::/64', 'fd70:2::/64', '10.70.1.0/24'].includes(r.dst));
      expect(now.sort((x, y) => x.dst.localeCompare(y.dst))).toEqual([
        { dst: '10.70.1.0/24', via: '10.60.2.2', dev: ifC, table: 254, proto: B },
        { dst: 'fd70:1::/64', via: 'fd60:2::2', dev: ifC, table: 254, proto: B },
        { dst: 'fd70:2::/64', via: 'fd60:1::2', dev: ifB, table: 254, proto: B },
      ]);

      // Deleting with our proto never deletes the foreign route with the same destination.
      await rt.remove({ dst: '10.70.9.0/24', table: 254, proto: B });
      // Overwriting the foreign route is refused; the rest of the batch is applied.
      const err = await rt
        .apply({
          replace: [
            { dst: '10.70.9.0/24', dev: ifB, table: 254, proto: B },
            { dst: '10.70.8.0/24', dev: ifB, table: 254, proto: B },
          ],
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KernelBatchError);
      expect((err as KernelBatchError).failures.map((f) => f.reason)).toEqual([expect.stringMatching(/proto 4/)]);
      expect(await inNetns(a!, 'ip', ['route', 'show', '10.70.9.0/24'])).toContain('proto static');
      expect((await rt.list()).map((r) => r.dst)).toContain('10.70.8.0/24');

      // Removing everything we own leaves only the kernel's and the foreign routes.
      await rt.apply({
        remove: (await rt.list()).map((r) => ({
          dst: r.dst,
          table: r.table,
          proto: r.proto,
          ...(r.metric === undefined ? {} : { metric: r.metric }),
        })),
      });
      expect(await rt.list()).toEqual([]);
      expect(await inNetns(a!, 'ip', ['route', 'show', '10.70.9.0/24'])).toContain('proto static');
      // Removing again is a no-op, not an error.
      await rt.remove({ dst: '10.70.3.0/26', table: 254, proto: H });
    });
  });

  it('names the failing line of a batch and applies the others', async () => {
    await withNetnses(3, async ([a, b, c]) => {
      const { ifB } = await setUp(a!, b!, c!);
      const rt = table(mode, a!);
      const err = await rt
        .apply({
          replace: [
            { dst: '10.71.0.0/24', via: '10.60.1.2', table: 254, proto: B },
            { dst: '10.71.1.0/24', via: '10.99.99.2', table: 254, proto: B },
            { dst: '10.71.2.0/24', via: '10.60.1.2', dev: ifB, table: 254, proto: B },
          ],
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KernelBatchError);
      const f = (err as KernelBatchError).failures;
      expect(f).toHaveLength(1);
      expect(f[0]).toMatchObject({ line: 2, text: 'route replace 10.71.1.0/24 via 10.99.99.2 table 254 proto 110' });
      expect(f[0]!.reason).toMatch(/gateway|unreachable/i);
      expect((await rt.list()).map((r) => r.dst).sort()).toEqual(['10.71.0.0/24', '10.71.2.0/24']);
    });
  });

  it('a table above 255, prohibit, an IPv4 route via an IPv6 next hop, metrics; a missing device names the line', async () => {
    await withNetnses(3, async ([a, b, c]) => {
      const { ifB, ifC } = await setUp(a!, b!, c!);
      commands.length = 0;
      const rt = table(mode, a!);
      const routes: KernelRoute[] = [
        { dst: '10.72.0.0/24', via: '10.60.1.2', dev: ifB, table: 1000, proto: B },
        { dst: '10.72.1.0/24', type: 'prohibit', table: 254, proto: H },
        { dst: '10.72.2.0/24', via: 'fd60:1::2', dev: ifB, table: 254, proto: B },
        { dst: 'fd72:1::/64', via: 'fd60:2::2', dev: ifC, table: 254, proto: B, metric: 7 },
        { dst: 'fd72:2::5/128', dev: ifC, table: 254, proto: W },
        {
          dst: '10.72.3.0/24',
          table: 254,
          proto: B,
          nexthops: [
            { via: '10.60.1.2', dev: ifB, weight: 256 },
            { via: '10.60.2.2', dev: ifC, weight: 2 },
          ],
        },
      ];
      await rt.apply({ replace: routes });
      const key = (r: KernelRoute): string => `${r.table} ${r.dst}`;
      expect((await rt.list()).sort((x, y) => key(x).localeCompare(key(y)))).toEqual(
        [...routes].sort((x, y) => key(x).localeCompare(key(y))),
      );
      const err = await rt
        .apply({
          replace: [
            { dst: '10.72.4.0/24', dev: 'mgy-nosuchdev', table: 254, proto: W },
            { dst: '10.72.5.0/24', dev: ifB, table: 254, proto: W },
          ],
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KernelBatchError);
      expect((err as KernelBatchError).failures).toEqual([
        {
          line: 1,
          text: `route replace 10.72.4.0/24 dev mgy-nosuchdev table 254 proto ${W}`,
          reason: expect.stringMatching(/Cannot find device "mgy-nosuchdev"/),
        },
      ]);
      expect((await rt.list()).map((r) => r.dst)).toContain('10.72.5.0/24');
      // Removing with a metric matches only that metric; the table above 255 is found too.
      await rt.remove({ dst: 'fd72:1::/64', table: 254, proto: B, metric: 8 });
      expect((await rt.list()).map((r) => r.dst)).toContain('fd72:1::/64');
      await rt.apply({
        remove: [
          { dst: 'fd72:1::/64', table: 254, proto: B, metric: 7 },
          { dst: '10.72.0.0/24', table: 1000, proto: B },
        ],
      });
      expect((await rt.list()).map((r) => r.dst)).not.toContain('fd72:1::/64');
      expect((await rt.list()).map((r) => r.dst)).not.toContain('10.72.0.0/24');
      expect(writes().length > 0).toBe(mode === 'ip');
    });
  });

  it('3,000 routes in one apply (many exchanges), all read back, all removed', async () => {
    await withNetnses(3, async ([a, b, c]) => {
      const { ifB } = await setUp(a!, b!, c!);
      const rt = table(mode, a!);
      const routes: KernelRoute[] = Array.from({ length: 3000 }, (_, i) => ({
        dst: `10.73.${i >> 6}.${(i & 63) * 4}/30`,
        dev: ifB,
        scope: 'link',
        table: 254,
        proto: W,
      }));
      await rt.apply({ replace: routes });
      expect((await rt.list({ protos: [W] })).length).toBe(3000);
      await rt.apply({ remove: routes.map(({ dst, table: t, proto }) => ({ dst, table: t, proto })) });
      expect(await rt.list({ protos: [W] })).toEqual([]);
    });
  });
});
