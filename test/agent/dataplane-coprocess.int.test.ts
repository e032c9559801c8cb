/**
 * The persistent `ip -force -batch -` co-process (src/kernel/ip-batch-session.ts) under the route
 * table, against the real kernel in a namespace made by the test: batches go through one process,
 * a failed line is named and the rest applied, and a co-process killed while idle or in the middle
 * of a large batch is replaced and the batch retried, so every route ends up in the kernel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecaCommandRunner } from '../../src/kernel/command-runner.js';
import { KernelBatchError } from '../../src/kernel/errors.js';
import { CoprocessCommandRunner } from '../../src/kernel/ip-batch-session.js';
import { IpRouteTable } from '../../src/kernel/route-table.js';
import type { KernelRoute } from '../../src/kernel/route-format.js';
import { silentLogger } from '../../src/log.js';
import { createNetns, deleteNetns, run } from '../helpers/netns.js';

const log = silentLogger();
let ns = '';

function remote(i: number): KernelRoute {
  return { dst: `10.${100 + (i >> 8)}.${i & 255}.0/24`, via: '10.250.0.254', table: 254, proto: 110 };
}

async function count(): Promise<number> {
  const out = await run('ip', ['-n', ns, 'route', 'show', 'proto', '110']);
  return out === '' ? 0 : out.split('\n').length;
}

beforeAll(async () => {
  ns = await createNetns('cp');
  await run('ip', ['-n', ns, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up1']);
  await run('ip', ['-n', ns, 'addr', 'add', '10.250.0.1/24', 'dev', 'up0']);
  await run('ip', ['-n', ns, 'link', 'set', 'up0', 'up']);
  await run('ip', ['-n', ns, 'link', 'set', 'up1', 'up']);
});
afterAll(async () => {
  if (ns !== '') await deleteNetns(ns);
});

describe('ip -batch co-process (real kernel)', () => {
  it('writes batch after batch through one process and names a refused line', { timeout: 60_000 }, async () => {
    const runner = new CoprocessCommandRunner(new ExecaCommandRunner(log), log);
    try {
      const table = new IpRouteTable(runner, log, ns);
      await table.apply({ replace: [remote(0), remote(1)] });
      await table.apply({ replace: [remote(2)] });
      expect(await count()).toBe(3);
      expect(runner.sessions.map((s) => s.spawns)).toEqual([1]);
      // A next hop that is not on any link: that line is refused and named; the others are applied.
      const bad: KernelRoute = { dst: '10.99.0.0/24', via: '10.251.0.1', table: 254, proto: 110 };
      const err = await table.apply({ replace: [remote(3), bad, remote(4)] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KernelBatchError);
      expect((err as KernelBatchError).failures).toMatchObject([
        { line: 2, text: 'route replace 10.99.0.0/24 via 10.251.0.1 table 254 proto 110' },
      ]);
      expect(await count()).toBe(5);
      expect(runner.sessions.map((s) => s.spawns)).toEqual([1]);
      await table.apply({ remove: [0, 1, 2, 3, 4].map((i) => remote(i)) });
      expect(await count()).toBe(0);
    } finally {
      runner.close();
    }
  });

  it('replaces a co-process killed while idle or in the middle of a batch, and retries the batch', {
    timeout: 90_000,
  }, async () => {
    const runner = new CoprocessCommandRunner(new ExecaCommandRunner(log), log);
    try {
      const table = new IpRouteTable(runner, log, ns);
      await table.apply({ replace: [remote(0)] });
      const session = runner.sessions[0]!;
      process.kill(session.pid!, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
      await table.apply({ replace: [remote(1)] });
      expect(session.spawns).toBe(2);
      expect(await count()).toBe(2);

      // Killed while it works through 3000 routes: part of them are in, the rest not. The batch is
      // sent again to a new process; the routes already there ("File exists") are ours and replaced.
      const many = Array.from({ length: 3000 }, (_, i) => remote(i + 2));
      const applying = table.apply({ replace: many });
      const pid = session.pid!;
      await new Promise((r) => setTimeout(r, 5));
      process.kill(pid, 'SIGKILL');
      await applying;
      expect(session.spawns).toBe(3);
      expect(await count()).toBe(3002);
    } finally {
      runner.close();
    }
  });
});
