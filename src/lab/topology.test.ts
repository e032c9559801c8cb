import { describe, expect, it } from 'vitest';
import { FakeCommandRunner } from '../kernel/testing/index.js';
import { silentLogger } from '../log.js';
import { TopologyError, TopologySpecError } from './errors.js';
import { blackboxSpec, interopSpec } from './presets.js';
import { teardown, upTopology, type TopologyEntry } from './topology.js';
import { HOST, validateSpec, type TopologySpec } from './topology-spec.js';

const deps = (runner: FakeCommandRunner, journal: TopologyEntry[] = []) => ({
  runner,
  log: silentLogger(),
  journal: async (entries: readonly TopologyEntry[]) => {
    journal.splice(0, journal.length, ...entries);
  },
});

const TWO: TopologySpec = {
  prefix: 'mgyt1',
  nodes: [
    { name: 'tor', forwarding: true },
    { name: 'node-1', loopback: ['10.244.1.10/32'] },
  ],
  links: [
    {
      a: { node: 'node-1', ifName: 'eth0', addresses: ['10.10.1.2/24', 'fd00:10:1::2/64'] },
      b: { node: 'tor', ifName: 'node-1', addresses: ['10.10.1.1/24'] },
    },
  ],
};

describe('validateSpec', () => {
  it.each([
    [{ ...TWO, prefix: 'Bad-Prefix' }, 'prefix'],
    [{ ...TWO, nodes: [...TWO.nodes, { name: 'tor' }] }, 'nodes[2].name'],
    [{ ...TWO, nodes: [{ name: 'a', loopback: ['10.0.0.1'] }] }, 'nodes[0].loopback[0]'],
    [{ ...TWO, nodes: [{ name: 'a', sysctls: { 'kernel.panic': '1' } }] }, 'nodes[0].sysctls'],
    [{ ...TWO, links: [{ a: { node: 'nope', ifName: 'x' }, b: { node: 'tor', ifName: 'y' } }] }, 'links[0].a.node'],
    [
      { ...TWO, links: [{ a: { node: 'tor', ifName: 'much-too-long-name' }, b: { node: 'node-1', ifName: 'y' } }] },
      'links[0].a.ifName',
    ],
    [{ ...TWO, links: [{ a: { node: HOST, ifName: 'h' }, b: { node: 'tor', ifName: 'y' } }] }, 'links[0].a'],
    [
      { ...TWO, links: [...TWO.links!, { a: { node: 'node-1', ifName: 'eth0' }, b: { node: 'tor', ifName: 'z' } }] },
      'links[1].a.ifName',
    ],
    [
      {
        ...TWO,
        links: [{ a: { node: 'tor', ifName: 'a', addresses: ['10.0.0.1/33'] }, b: { node: 'node-1', ifName: 'b' } }],
      },
      'links[0].a.addresses[0]',
    ],
  ] as [TopologySpec, string][])('rejects a bad spec, naming %#: %s', (spec, field) => {
    expect(() => validateSpec(spec)).toThrow(TopologySpecError);
    try {
      validateSpec(spec);
    } catch (err) {
      expect((err as TopologySpecError).field).toBe(field);
    }
  });
  it('accepts the presets', () => {
    expect(() => validateSpec(interopSpec('mtio1', 3))).not.toThrow();
    expect(() => validateSpec(blackboxSpec('mtbb1', 'vh1'))).not.toThrow();
  });
});

describe('upTopology', () => {
  it('builds namespaces, sysctls, loopback addresses and veths from inside the namespaces, journaling first', async () => {
    const r = new FakeCommandRunner();
    const journal: TopologyEntry[] = [];
    const t = await upTopology(TWO, deps(r, journal));
    expect(t.namespaces).toEqual(['mgyt1-tor', 'mgyt1-node-1']);
    expect(journal).toEqual([
      { kind: 'netns', name: 'mgyt1-tor' },
      { kind: 'netns', name: 'mgyt1-node-1' },
    ]);
    // Namespaces first (in parallel), then each node's own setup, then the links: the order between
    // independent nodes is free.
    expect(r.lines.slice(0, 2)).toEqual(['ip netns add mgyt1-tor', 'ip netns add mgyt1-node-1']);
    expect(r.lines.indexOf('ip -n mgyt1-node-1 link add name eth0 type veth peer name node-1 netns mgyt1-tor')).toBe(6);
    expect([...r.lines].sort()).toEqual(
      [
        'ip netns add mgyt1-tor',
        'ip -n mgyt1-tor link set lo up',
        'ip netns exec mgyt1-tor sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1',
        'ip netns add mgyt1-node-1',
        'ip -n mgyt1-node-1 link set lo up',
        'ip -n mgyt1-node-1 addr add 10.244.1.10/32 dev lo',
        'ip -n mgyt1-node-1 link add name eth0 type veth peer name node-1 netns mgyt1-tor',
        'ip -n mgyt1-node-1 addr add 10.10.1.2/24 dev eth0',
        'ip -n mgyt1-node-1 addr add fd00:10:1::2/64 dev eth0 nodad',
        'ip -n mgyt1-node-1 link set dev eth0 up',
        'ip -n mgyt1-tor addr add 10.10.1.1/24 dev node-1',
        'ip -n mgyt1-tor link set dev node-1 up',
      ].sort(),
    );
    expect(() => t.ns('nope')).toThrow(TopologyError);
    r.commands.length = 0;
    await t.down();
    await t.down(); // idempotent: the second call does nothing new
    expect(r.lines).toEqual([
      'ip netns pids mgyt1-node-1',
      'ip netns del mgyt1-node-1',
      'ip netns pids mgyt1-tor',
      'ip netns del mgyt1-tor',
    ]);
  });

  it('after a failure part-way removes exactly what it made, then throws TopologyError with the cause', async () => {
    const r = new FakeCommandRunner().on('link add name eth0', {
      exitCode: 2,
      stderr: 'RTNETLINK answers: File exists',
    });
    const journal: TopologyEntry[] = [];
    const err = await upTopology(TWO, deps(r, journal)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TopologyError);
    expect((err as Error).message).toContain('File exists');
    const after = r.lines.slice(r.lines.findIndex((l) => l.includes('link add name eth0')) + 1);
    expect(after).toEqual([
      'ip netns pids mgyt1-node-1',
      'ip netns del mgyt1-node-1',
      'ip netns pids mgyt1-tor',
      'ip netns del mgyt1-tor',
    ]);
  });

  it('journals a host link before making it and deletes it at teardown', async () => {
    const r = new FakeCommandRunner();
    const journal: TopologyEntry[] = [];
    const t = await upTopology(blackboxSpec('mtbb1', 'vhx'), deps(r, journal));
    expect(journal.map((e) => `${e.kind} ${e.name}`)).toEqual(['netns mtbb1-bm', 'netns mtbb1-bb', 'host-link vhx']);
    expect(r.lines).toContain('ip link add name vhx type veth peer name raw netns mtbb1-bm');
    r.commands.length = 0;
    await t.down();
    expect(r.lines[0]).toBe('ip link del dev vhx');
  });

  it("never removes a namespace it failed to make (it may be someone else's)", async () => {
    const r = new FakeCommandRunner().on('netns add mgyt1-node-1', {
      exitCode: 1,
      stderr: 'Cannot create namespace file "/run/netns/mgyt1-node-1": File exists',
    });
    const journal: TopologyEntry[] = [];
    await expect(upTopology(TWO, deps(r, journal))).rejects.toThrow(TopologyError);
    expect(r.lines.filter((l) => l.includes('del'))).toEqual(['ip netns del mgyt1-tor']);
    expect(journal).toEqual([]);
  });

  it('teardown gives a process leaving a namespace a moment before it removes the namespace', async () => {
    // A daemon's helper exits on EOF just after the daemon: listed twice, then gone — never killed.
    const r = new FakeCommandRunner()
      .on('netns pids mgyt1-x', { exitCode: 0, stdout: '999999\n' }, { once: true })
      .on('netns pids mgyt1-x', { exitCode: 0, stdout: '999999\n' }, { once: true });
    await teardown([{ kind: 'netns', name: 'mgyt1-x' }], { runner: r, log: silentLogger() });
    expect(r.lines).toEqual([
      'ip netns pids mgyt1-x',
      'ip netns pids mgyt1-x',
      'ip netns pids mgyt1-x',
      'ip netns del mgyt1-x',
    ]);
  });

  it('teardown tolerates objects that are already gone but reports ones it could not remove', async () => {
    const gone = new FakeCommandRunner().on('netns del', {
      exitCode: 1,
      stderr: 'Cannot remove namespace file "/run/netns/x": No such file or directory',
    });
    await expect((await upTopology(TWO, deps(gone))).down()).resolves.toBeUndefined();
    const busy = new FakeCommandRunner().on('netns del mgyt1-tor', { exitCode: 1, stderr: 'Device or resource busy' });
    await expect((await upTopology(TWO, deps(busy))).down()).rejects.toThrow(
      /netns mgyt1-tor: Device or resource busy/,
    );
  });
});
