import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster, MARGAYCTL, PLUGIN } from '../agent/cluster.js';
import { createNetns, deleteNetns, run } from '../helpers/netns.js';

/**
 * Pool exhausted through a real margay-node and the real IPAM on the file datastore (spec.int.test
 * covers the same with the test IPAM): a 4-address pool, 4 pods get an address each, the 5th ADD
 * fails with code 101 and a message that says what to do, and it leaves no veth, route,
 * allocation or handle behind (`margayctl ipam check`: the 4 pods' allocations only, no problem).
 * After one DEL, room is back.
 */
let c: Cluster | undefined;
const nses: string[] = [];
afterAll(async () => {
  for (const n of nses) await deleteNetns(n);
  await c?.stop();
});

describe('pool exhausted through margay-node', () => {
  it('ADD fails with 101 saying what to do, and leaves nothing behind', async () => {
    c = await new Cluster(95, '10.195.0.0/30').setUp(1, {
      MARGAY_NETWORKING_BACKEND: 'none',
      MARGAY_IPV4POOL_BLOCK_SIZE: '30',
    });
    const node = c.nodes[0]!;
    c.start(node);
    await c.waitReady(node, 60_000);
    const conf = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'k8s-pod-network',
      type: 'margay',
      ipam: { type: 'margay-ipam' },
      agentSocket: await c.cniSocket(node),
    });
    const cni = async (cmd: string, id: string, ns: string) =>
      execa(PLUGIN, [], {
        env: {
          CNI_COMMAND: cmd,
          CNI_CONTAINERID: id,
          CNI_IFNAME: 'eth0',
          CNI_NETNS: `/run/netns/${ns}`,
          CNI_PATH: '/usr/lib/cni',
        },
        extendEnv: false,
        input: conf,
        reject: false,
        timeout: 60_000,
      });
    const hostLinks = async () =>
      (JSON.parse(await run('ip', ['-n', node.ns, '-j', 'link', 'show'])) as { ifname: string }[]).filter((l) =>
        l.ifname.startsWith('mgy'),
      ).length;
    const check = async () =>
      JSON.parse(
        (
          await execa(
            process.execPath,
            [MARGAYCTL, 'ipam', 'check', '--json', '--datastore', `file:${c!.dir}/datastore`],
            {
              reject: false,
            },
          )
        ).stdout,
      ) as { summary: { allocations: number; handles: number }; problems: unknown[] };

    for (let i = 0; i < 5; i++) nses.push(await createNetns('ex'));
    const ips: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await cni('ADD', `full${i}`, nses[i]!);
      expect(r.exitCode, r.stdout).toBe(0);
      ips.push((JSON.parse(r.stdout) as { ips: { address: string }[] }).ips[0]!.address);
    }
    expect(new Set(ips).size).toBe(4);

    const r = await cni('ADD', 'one-too-many', nses[4]!);
    expect(r.exitCode).toBe(1);
    const err = JSON.parse(r.stdout) as { code: number; msg: string; details: string };
    expect(err.code).toBe(101);
    expect(err.details).toContain('no free IPv4 address for node node-1');
    expect(err.details).toContain('Add an IPPool (or widen one)');
    expect(err.details).toContain('margayctl ipam check');
    // Nothing left: 4 veths on the node, no eth0 in the 5th pod, IPAM holds the 4 pods' addresses only.
    expect(await hostLinks()).toBe(4);
    expect((await execa('ip', ['-n', nses[4]!, 'link', 'show', 'eth0'], { reject: false })).exitCode).not.toBe(0);
    const report = await check();
    expect(report.problems).toEqual([]);
    expect(report.summary.allocations).toBe(4);
    expect(report.summary.handles).toBe(4);

    // One pod goes: the address cools down (minReuseAgeSeconds) or is free again, never an error 101.
    expect((await cni('DEL', 'full0', nses[0]!)).exitCode).toBe(0);
    const again = await cni('ADD', 'one-too-many', nses[4]!);
    if (again.exitCode !== 0) expect((JSON.parse(again.stdout) as { code: number }).code).toBe(11);
  }, 180_000);
});
