import { createConnection } from 'node:net';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatastore, type Datastore } from '../../src/datastore/index.js';
import { silentLogger } from '../../src/log.js';
import { Cluster, MARGAYCTL, PLUGIN, sleep, waitFor, type AgentNode } from '../agent/cluster.js';
import { createNetns, deleteNetns } from '../helpers/netns.js';

/**
 * Three agents (margay-node processes, one per node namespace) on one embedded file datastore.
 * "Kubelets" run ADD/DEL cycles through the built plugin on all three nodes at once while the
 * test kills an agent with SIGKILL at random moments — always while that agent has ADDs in flight —
 * and restarts it. Each pod has a Pod object (created before its ADD, deleted after its DEL), so
 * the agents' IPAM GC can tell leaks.
 *
 * What a kubelet does after an ADD that failed (agent killed): it retries DEL until it succeeds.
 * Every third such pod is instead "lost" (no DEL: the runtime forgot it, its sandbox interface is
 * deleted and the Pod object removed): whatever the killed ADD allocated is a leak only GC can find.
 *
 * Checked: no address held by two live pods at any moment (the test's own ledger); afterwards
 * `margayctl ipam check` finds no duplicate; once the agents' GC has run (interval 1 s, grace 2 s
 * through MARGAY_IPAM_GC_*) it finds no problem at all and no allocation or handle is left.
 *
 * Size: MARGAY_CNI_CHURN_CYCLES (default 1000, the figure) ADD/DEL cycles in total, and
 * MARGAY_CNI_CHURN_DEADLINE_MS (default 180 s: a quiet machine runs all 1000 in 90–125 s; a loaded one
 * stops at the deadline and the report says how many ran) — whichever ends first; the test requires at least
 * MARGAY_CNI_CHURN_MIN_CYCLES (default 30) and prints how many it ran (a loaded machine runs
 * fewer in the time; the report says so).
 */
const CYCLES = Number(process.env.MARGAY_CNI_CHURN_CYCLES ?? 1000);
const DEADLINE_MS = Number(process.env.MARGAY_CNI_CHURN_DEADLINE_MS ?? 180_000);
const MIN_CYCLES = Number(process.env.MARGAY_CNI_CHURN_MIN_CYCLES ?? 30);
const KUBELETS_PER_NODE = 6;

let c: Cluster | undefined;
let store: Datastore | undefined;
const netnses: string[] = [];
afterAll(async () => {
  await store?.close();
  for (const n of netnses) await deleteNetns(n);
  await c?.stop();
});

interface Tally {
  cycles: number;
  addOk: number;
  addFailed: number;
  lost: number;
  kills: number;
  delRetries: number;
}

async function plugin(
  socket: string,
  cmd: 'ADD' | 'DEL',
  id: string,
  netns: string,
): Promise<{ code: number; ip?: string; out: string }> {
  const conf = {
    cniVersion: '1.0.0',
    name: 'k8s-pod-network',
    type: 'margay',
    ipam: { type: 'margay-ipam' },
    agentSocket: socket,
  };
  const r = await execa(PLUGIN, [], {
    env: {
      CNI_COMMAND: cmd,
      CNI_CONTAINERID: id,
      CNI_IFNAME: 'eth0',
      CNI_NETNS: `/run/netns/${netns}`,
      CNI_PATH: '/usr/lib/cni',
      CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${id}`,
      // A killed agent must turn into a quick error, not a long wait.
      MARGAY_CNI_TIMEOUT_MS: '20000',
    },
    extendEnv: false,
    input: JSON.stringify(conf),
    reject: false,
    timeout: 60_000,
  });
  let ip: string | undefined;
  if (r.exitCode === 0 && cmd === 'ADD')
    ip = (JSON.parse(r.stdout) as { ips: { address: string }[] }).ips[0]!.address.split('/')[0];
  return { code: r.exitCode ?? -1, ...(ip !== undefined && { ip }), out: `${r.stdout} ${r.stderr}`.trim() };
}

/** Whether an agent accepts connections on its CNI socket. */
async function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(socket);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function ipamCheck(spec: string): Promise<{
  summary: { allocations: number; handles: number; problems: Record<string, number> };
  problems: { kind: string; message: string }[];
}> {
  const r = await execa(process.execPath, [MARGAYCTL, 'ipam', 'check', '--json', '--datastore', spec], {
    reject: false,
  });
  if (!r.stdout.trimStart().startsWith('{'))
    throw new Error(`margayctl ipam check failed (${r.exitCode}): ${r.stderr}`);
  return JSON.parse(r.stdout) as never;
}

describe('three agents, ADD/DEL churn with kill -9 mid-ADD', () => {
  it('no address is ever held twice; after GC nothing leaks', async () => {
    c = await new Cluster(96, '10.196.0.0/20').setUp(3, {
      MARGAY_NETWORKING_BACKEND: 'none',
      MARGAY_LOG_LEVEL: process.env.MARGAY_CNI_CHURN_LOG_LEVEL ?? 'warn',
      MARGAY_IPAM_GC_INTERVAL_MS: '1000',
      MARGAY_IPAM_GC_GRACE_MS: '2000',
    });
    const spec = `file:${c.dir}/datastore`;
    await c.startAll();
    for (const n of c.nodes) await c.waitReady(n, 60_000);
    const sockets = new Map<AgentNode, string>();
    for (const n of c.nodes) sockets.set(n, await c.cniSocket(n));
    store = await openDatastore(spec, { log: silentLogger() });

    const tally: Tally = { cycles: 0, addOk: 0, addFailed: 0, lost: 0, kills: 0, delRetries: 0 };
    const live = new Map<string, string>(); // address → pod, while the pod holds it
    const duplicates: string[] = [];
    const inflight = new Map<AgentNode, number>(c.nodes.map((n) => [n, 0]));
    let started = Date.now();
    let next = 0;
    let done = false;
    const more = (): boolean => !done && next < CYCLES && Date.now() - started < DEADLINE_MS;

    // One sandbox netns per kubelet, made before the clock starts (`ip netns add` is slow on a busy
    // machine) and reused: a DEL that succeeded removed the pair; after a failed ADD a half-made
    // eth0 is deleted (which deletes its host end too), as the runtime tearing the sandbox down would.
    const slots = new Map<AgentNode, string[]>();
    for (const n of c.nodes) {
      const list: string[] = [];
      for (let i = 0; i < KUBELETS_PER_NODE; i++) list.push(await createNetns('ch'));
      netnses.push(...list);
      slots.set(n, list);
    }
    const sandboxGone = async (netns: string): Promise<void> => {
      await execa('ip', ['-n', netns, 'link', 'del', 'eth0'], { reject: false });
    };
    const kubelet = async (n: AgentNode, netns: string): Promise<void> => {
      while (more()) {
        const id = `churn${next++}`;
        const pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: id, namespace: 'default' },
          spec: { nodeName: n.name },
        };
        await store!.create(pod as never);
        inflight.set(n, inflight.get(n)! + 1);
        const add = await plugin(sockets.get(n)!, 'ADD', id, netns).finally(() =>
          inflight.set(n, inflight.get(n)! - 1),
        );
        if (add.code === 0) {
          tally.addOk++;
          const holder = live.get(add.ip!);
          if (holder !== undefined) duplicates.push(`${add.ip} given to ${id} while ${holder} holds it`);
          live.set(add.ip!, id);
        } else {
          tally.addFailed++;
          if (tally.addFailed % 3 === 0) {
            // The runtime lost this sandbox: no DEL; only GC can find what the ADD left.
            tally.lost++;
            await sandboxGone(netns);
            await store!.delete('Pod', id, 'default');
            tally.cycles++;
            continue;
          }
        }
        // DEL until it succeeds, as kubelet does (the agent may be down or restarting).
        for (let attempt = 0; ; attempt++) {
          const del = await plugin(sockets.get(n)!, 'DEL', id, netns);
          if (del.code === 0) break;
          tally.delRetries++;
          if (attempt > 200) throw new Error(`DEL of ${id} on ${n.name} never succeeded: ${del.out}`);
          await sleep(200);
        }
        if (add.ip !== undefined && live.get(add.ip) === id) live.delete(add.ip);
        if (add.code !== 0) await sandboxGone(netns);
        await store!.delete('Pod', id, 'default');
        tally.cycles++;
      }
    };

    const killer = async (): Promise<void> => {
      while (more()) {
        await sleep(700 + Math.random() * 1500);
        const busy = c!.nodes.filter((n) => inflight.get(n)! > 0 && n.proc !== undefined);
        if (busy.length === 0 || !more()) continue;
        const victim = busy[Math.floor(Math.random() * busy.length)]!;
        await c!.stopAgent(victim, 'SIGKILL');
        tally.kills++;
        await sleep(100 + Math.random() * 400);
        c!.start(victim);
        // Serving CNI again is what matters here (readiness also waits for the dataplane).
        await waitFor(`${victim.name} serving CNI`, () => answers(sockets.get(victim)!), 120_000, 100);
      }
    };

    started = Date.now();
    try {
      await Promise.all([killer(), ...c.nodes.flatMap((n) => slots.get(n)!.map((netns) => kubelet(n, netns)))]);
    } finally {
      done = true;
    }
    for (const n of c.nodes) if (n.proc === undefined) c.start(n);
    for (const n of c.nodes) await waitFor(`${n.name} serving CNI`, () => answers(sockets.get(n)!), 120_000, 100);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `churn: ${tally.cycles} ADD/DEL cycles in ${seconds} s on 3 agents (${tally.addOk} ADDs succeeded, ` +
        `${tally.addFailed} failed with the agent killed, ${tally.lost} of them lost by the runtime), ` +
        `${tally.kills} kill -9, ${tally.delRetries} DEL retries\n`,
    );

    expect(duplicates).toEqual([]);
    expect(tally.kills).toBeGreaterThan(0);
    expect(tally.cycles).toBeGreaterThanOrEqual(Math.min(MIN_CYCLES, CYCLES));
    const first = await ipamCheck(spec);
    expect(first.problems.filter((p) => p.kind === 'duplicate-address')).toEqual([]);

    // GC: every pod is gone, so once the agents' GC has run nothing is allocated at all.
    const final = await waitFor(
      'IPAM GC to release every leak',
      async () => {
        const r = await ipamCheck(spec);
        return r.problems.length === 0 && r.summary.allocations === 0 && r.summary.handles === 0 ? r : undefined;
      },
      30_000,
      500,
    ).catch(async (err: unknown) => {
      const r = await ipamCheck(spec);
      throw new Error(
        `${(err as Error).message}\nleft: ${JSON.stringify(r.summary)}\n${r.problems
          .slice(0, 10)
          .map((p) => p.message)
          .join('\n')}`,
      );
    });
    expect(final.problems).toEqual([]);
  }, 400_000);
});
