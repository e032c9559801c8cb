/**
 * Route writes: the `ip -force -batch -` co-process against rtnetlink from the process itself
 * (src/kernel/netlink.ts), alternated in one run on the same machine (prints figures; not a timed
 * test). Run it in the sandbox, which gives it a network namespace of its own to write routes in:
 *
 *   npm run build && scripts/in-sandbox.sh node dist/test/bench/route-writer.js [--singles 300] [--bulk 5000] [--rounds 2]
 *
 * - single: one route replaced (then removed) `--singles` times, the replace timed; median, p10, p90.
 * - bulk: `--bulk` routes in one apply, then removed in one apply; wall time, this process's CPU, and
 *   the longest event-loop stall seen by a 1 ms interval meanwhile.
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createKernelAdapters, ExecaCommandRunner, type KernelRoute } from '../../src/kernel/index.js';
import { silentLogger } from '../../src/log.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const SINGLES = arg('singles', 300);
const BULK = arg('bulk', 5000);
const ROUNDS = arg('rounds', 2);
const DEV = 'mgybench0';
const PROTO = 110;

if (process.env['MARGAY_IN_SANDBOX'] !== '1') {
  // It adds a link and routes to the namespace it runs in: never the machine's own.
  console.error('route-writer: run it through scripts/in-sandbox.sh (it writes routes into its own namespace)');
  process.exit(2);
}

const q = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const ms = (v: number): string => v.toFixed(3);
const dst = (i: number): string => `10.${200 + (i >> 14)}.${(i >> 6) & 255}.${(i & 63) * 4}/30`;

async function main(): Promise<void> {
  execFileSync('ip', ['link', 'add', DEV, 'type', 'veth', 'peer', 'name', `${DEV}p`]);
  try {
    execFileSync('ip', ['link', 'set', DEV, 'up']);
    execFileSync('ip', ['link', 'set', `${DEV}p`, 'up']);
    const log = silentLogger();
    console.log(
      `| round | writer | single replace: median (p10–p90) | ${BULK} routes: add / remove | CPU (add) | longest loop stall |`,
    );
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (let round = 1; round <= ROUNDS; round++) {
      for (const writer of ['ip', 'netlink'] as const) {
        const k = await createKernelAdapters(new ExecaCommandRunner(log), log, {
          routeWriter: writer,
          coprocess: true,
        });
        try {
          const single: number[] = [];
          for (let i = 0; i < SINGLES; i++) {
            const t0 = performance.now();
            await k.routes.apply({ replace: [{ dst: dst(i), dev: DEV, table: 254, proto: PROTO }] });
            single.push(performance.now() - t0);
            await k.routes.apply({ remove: [{ dst: dst(i), table: 254, proto: PROTO }] });
          }
          const warm = single.slice(Math.min(20, single.length - 1));
          const routes: KernelRoute[] = Array.from({ length: BULK }, (_, i) => ({
            dst: dst(i),
            dev: DEV,
            table: 254,
            proto: PROTO,
          }));
          let stall = 0;
          let last = performance.now();
          const iv = setInterval(() => {
            const n = performance.now();
            stall = Math.max(stall, n - last);
            last = n;
          }, 1);
          await new Promise((r) => setTimeout(r, 5));
          last = performance.now();
          const cpu0 = process.cpuUsage();
          let t0 = performance.now();
          await k.routes.apply({ replace: routes });
          const add = performance.now() - t0;
          stall = Math.max(stall, performance.now() - last);
          const cpu = process.cpuUsage(cpu0);
          t0 = performance.now();
          await k.routes.apply({ remove: routes.map(({ dst: d, table, proto }) => ({ dst: d, table, proto })) });
          const del = performance.now() - t0;
          clearInterval(iv);
          console.log(
            `| ${round} | ${writer} | ${ms(q(warm, 0.5))} ms (${ms(q(warm, 0.1))}–${ms(q(warm, 0.9))}) | ${add.toFixed(0)} / ${del.toFixed(0)} ms | ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms | ${stall.toFixed(1)} ms |`,
          );
        } finally {
          k.close?.();
        }
      }
    }
  } finally {
    execFileSync('ip', ['link', 'del', DEV]);
  }
}

await main();
