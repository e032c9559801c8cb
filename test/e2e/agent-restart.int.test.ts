/**
 * An agent restart is invisible to traffic: with a ping every 10 ms running from a pod on node-1 to
 * a pod on node-2, node-2's margay-node is stopped — once with SIGTERM, once with kill -9 (a crash)
 * — and started again. No ping is lost (every sequence number up to the last answered one comes
 * back, and the ping spans the whole restart); node-2's routes, veths, iptables rules and ipsets, and
 * node-1's (whose route to node-2's block node-2 gave it over BGP), sampled every ~50 ms while the
 * agent is down, starting and just ready, never differ from what they were; the new agent becomes ready
 * (datastore in sync, dataplane programmed, every BGP session established).
 */
import { describe, expect, it } from 'vitest';
import { sleep } from '../../src/lab/wait.js';
import { kernelState, readiness, startAgent, startPing, stopAgent, watchKernel, withLab } from './lab-harness.js';

describe('e2e: agent restart', () => {
  it('SIGTERM and kill -9 during a continuous cross-node ping: no packet lost, kernel state kept', async () => {
    await withLab({ nodes: 2, podsPerNode: 1, tor: 'bird', mode: 'mesh', dualStack: false }, async (lab) => {
      const s = await lab.state();
      const src = s.pods.find((p) => p.node === 'node-1')!;
      const dst = s.pods.find((p) => p.node === 'node-2')!;
      const [ns1, ns2] = [lab.ns('node-1'), lab.ns('node-2')];
      for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
        const before = await kernelState(ns2);
        const before1 = await kernelState(ns1);
        expect(before.routes.some((r) => r.startsWith(`${dst.ips[0]} dev `))).toBe(true);
        expect(before.iptables.some((l) => l.startsWith(':mgy-FORWARD'))).toBe(true);
        const ping = startPing(src.netns, dst.ips[0]!);
        await sleep(1000);
        const stoppedAt = Date.now();
        expect(await stopAgent(lab, 'node-2', signal), signal).toBe(signal === 'SIGTERM' ? 'stopped' : 'killed');
        expect(await kernelState(ns2), `${signal}: kernel state while the agent is down`).toEqual(before);
        // Sampled from here until 2 s after ready: node-2's state, and node-1's (its
        // routes to node-2's block come from node-2 over BGP and must outlive the session's restart).
        const watch2 = watchKernel(ns2, before);
        const watch1 = watchKernel(ns1, before1);
        await startAgent(lab, 'node-2');
        const readyAt = Date.now();
        expect(await readiness(lab, 'node-2')).toEqual({ status: 200, body: 'ready' });
        await sleep(2000);
        for (const [node, w] of [
          ['node-2', await watch2.stop()],
          ['node-1', await watch1.stop()],
        ] as const) {
          expect(w.differing, `${signal}: ${node}'s kernel state changed during the restart`).toEqual([]);
          expect(w.samples, `${signal}: ${node} samples`).toBeGreaterThan(3);
        }
        expect(await kernelState(ns2), `${signal}: kernel state after the restart`).toEqual(before);
        const r = await ping.stop();
        expect(r.missing, `${signal}: pings lost`).toEqual([]);
        expect(r.firstAt, signal).toBeLessThan(stoppedAt);
        expect(r.lastAt, signal).toBeGreaterThan(readyAt + 1000);
        expect(r.maxSeq, signal).toBeGreaterThan(200);
      }
    });
  }, 200_000);
});
