import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TopologyError } from '../../src/lab/errors.js';
import { isRunning, spawnDaemon, stopProcess } from '../../src/lab/processes.js';
import { waitFor } from '../../src/lab/wait.js';
import { upTopology } from '../../src/lab/topology.js';
import type { TopologySpec } from '../../src/lab/topology-spec.js';
import { labDeps, run, uniquePrefix } from '../helpers/netns.js';

const netnsList = async (): Promise<string> => (await execa('ip', ['netns', 'list'])).stdout;

function twoNodes(prefix: string): TopologySpec {
  return {
    prefix,
    nodes: [
      { name: 'tor', forwarding: true },
      { name: 'a', loopback: ['10.244.1.10/32'] },
      { name: 'b', loopback: ['10.244.2.10/32'] },
    ],
    links: [
      {
        a: { node: 'a', ifName: 'eth0', addresses: ['10.10.1.2/24', 'fd00:10:1::2/64'] },
        b: { node: 'tor', ifName: 'a', addresses: ['10.10.1.1/24', 'fd00:10:1::1/64'] },
      },
      {
        a: { node: 'b', ifName: 'eth0', addresses: ['10.10.2.2/24', 'fd00:10:2::2/64'] },
        b: { node: 'tor', ifName: 'b', addresses: ['10.10.2.1/24', 'fd00:10:2::1/64'] },
      },
    ],
  };
}

describe('lab topology on the real kernel', () => {
  let workdir: string;
  beforeAll(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'mgy-topo-'));
  });
  afterAll(async () => {
    await rm(workdir, { recursive: true, force: true });
  });

  it('builds namespaces joined by veths that forward v4 and v6 through the router, and down() removes exactly them', async () => {
    const prefix = uniquePrefix('tp');
    // The sandbox's own namespace starts with forwarding off here, whatever earlier tests in this
    // sandbox (agents run in it) left, so the check below can see a leak from the router's sysctl.
    await run('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=0']);
    const topo = await upTopology(twoNodes(prefix), labDeps());
    try {
      await topo.exec('a', ['ip', 'route', 'add', 'default', 'via', '10.10.1.1']);
      await topo.exec('b', ['ip', 'route', 'add', 'default', 'via', '10.10.2.1']);
      await topo.exec('a', ['ip', '-6', 'route', 'add', 'default', 'via', 'fd00:10:1::1']);
      await topo.exec('b', ['ip', '-6', 'route', 'add', 'default', 'via', 'fd00:10:2::1']);
      expect((await topo.exec('tor', ['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim()).toBe('1');
      expect((await topo.exec('a', ['ping', '-c', '1', '-W', '2', '10.10.2.2'], { allowFailure: true })).exitCode).toBe(
        0,
      );
      // IPv6: the routers' link-local addresses finish DAD about a second after the links come up
      // (nodad covers only the configured addresses), so the first echo may find no neighbour yet.
      let v6 = 1;
      for (let i = 0; i < 5 && v6 !== 0; i++)
        v6 = (await topo.exec('a', ['ping', '-6', '-c', '1', '-W', '1', 'fd00:10:2::2'], { allowFailure: true }))
          .exitCode;
      expect(v6).toBe(0);
      // The forwarding sysctl is the namespace's own, not the sandbox's.
      expect((await run('sysctl', ['-n', 'net.ipv4.ip_forward'])).trim()).toBe('0');
      expect(await netnsList()).toContain(`${prefix}-tor`);
    } finally {
      await topo.down();
    }
    expect(await netnsList()).not.toContain(prefix);
  });

  it('a build that fails part-way leaves nothing behind and never touches a namespace it did not make', async () => {
    const prefix = uniquePrefix('tp');
    // Someone else's namespace with the name the topology wants for node b.
    await run('ip', ['netns', 'add', `${prefix}-b`]);
    try {
      const err = await upTopology(twoNodes(prefix), labDeps()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TopologyError);
      const left = (await netnsList()).split('\n').filter((l) => l.startsWith(prefix));
      expect(left.map((l) => l.split(' ')[0])).toEqual([`${prefix}-b`]);
    } finally {
      await run('ip', ['netns', 'del', `${prefix}-b`]);
    }
  });

  it('processes start with a pid file in their work dir and stop by that pid, never a recycled one', async () => {
    const prefix = uniquePrefix('tp');
    const topo = await upTopology({ prefix, nodes: [{ name: 'n' }] }, labDeps());
    try {
      const p = await spawnDaemon({ name: 'sleeper one', ns: topo.ns('n'), argv: ['sleep', '600'], workdir });
      expect(Number((await readFile(join(workdir, 'sleeper-one.pid'), 'utf8')).trim())).toBe(p.pid);
      expect((await execa('ip', ['netns', 'pids', topo.ns('n')])).stdout.trim()).toBe(String(p.pid));
      // A record whose start time does not match is someone else's process: left alone.
      expect(await stopProcess({ ...p, startTime: '1' })).toBe('gone');
      expect(await isRunning(p)).toBe(true);
      expect(await stopProcess(p)).toBe('stopped');
      expect(await p.exited).toBe(null); // ended by SIGTERM
      expect(await stopProcess(p)).toBe('gone');
      const stubborn = await spawnDaemon({
        name: 'stubborn',
        ns: topo.ns('n'),
        argv: ['sh', '-c', 'trap "" TERM; echo ready; sleep 600 & wait'],
        workdir,
      });
      await waitFor(
        'the trap to be set',
        async () => (await readFile(stubborn.logFile!, 'utf8')).includes('ready'),
        5000,
        20,
      );
      expect(await stopProcess(stubborn, { timeoutMs: 300 })).toBe('killed');
      expect((await execa('ip', ['netns', 'pids', topo.ns('n')])).stdout.trim()).toBe(''); // its sleep went too
      // A daemon's helpers (its process group) go with it, so its namespace is empty for teardown.
      const parent = await spawnDaemon({
        name: 'parent',
        ns: topo.ns('n'),
        argv: ['sh', '-c', 'sleep 600 & echo started; wait'],
        workdir,
      });
      await waitFor('the helper', async () => (await readFile(parent.logFile!, 'utf8')).includes('started'), 5000, 20);
      expect((await execa('ip', ['netns', 'pids', topo.ns('n')])).stdout.trim().split('\n')).toHaveLength(2);
      expect(await stopProcess(parent)).toBe('stopped');
      await waitFor(
        'the helper to be gone',
        async () => (await execa('ip', ['netns', 'pids', topo.ns('n')])).stdout.trim() === '',
        2000,
        20,
      );
    } finally {
      await topo.down();
    }
  });
});
