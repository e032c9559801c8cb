import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostIfName } from '../../agent/cni/index.js';
import { run } from '../helpers/netns.js';
import { CNI_BIN, exec, PLUGIN, Rig } from './harness.js';

// margay first in a conflist, Debian's tuning, bandwidth and portmap after it, run the way libcni
// runs a list: each plugin gets the list's name and cniVersion, the previous result as prevResult
// and its capabilities' runtimeConfig; DEL in reverse order with the final result; CHECK in order.
// Debian's plugins (1.1.x) speak CNI up to 1.0.0, so the list is 1.0.0.
let rig: Rig;
beforeEach(async () => {
  rig = await new Rig().start();
});
afterEach(async () => {
  await rig.stop();
});

type Conf = Record<string, unknown> & { type: string; capabilities?: Record<string, boolean> };

async function runList(
  cmd: 'ADD' | 'DEL' | 'CHECK',
  plugins: Conf[],
  env: Record<string, string>,
  runtimeConfig: Record<string, unknown>,
  prev?: unknown,
) {
  const order = cmd === 'DEL' ? [...plugins].reverse() : plugins;
  let result = prev;
  for (const p of order) {
    const caps = Object.keys(p.capabilities ?? {}).filter((c) => p.capabilities![c]);
    const rc = Object.fromEntries(caps.filter((c) => c in runtimeConfig).map((c) => [c, runtimeConfig[c]]));
    const conf = {
      ...p,
      name: 'k8s-pod-network',
      cniVersion: '1.0.0',
      ...(result !== undefined ? { prevResult: result } : {}),
      ...(Object.keys(rc).length ? { runtimeConfig: rc } : {}),
    };
    const bin = p.type === 'margay' ? PLUGIN : `${CNI_BIN}/${p.type}`;
    const r = await exec(bin, { ...env, CNI_COMMAND: cmd }, JSON.stringify(conf));
    if (r.code !== 0) throw new Error(`${p.type} ${cmd} failed: ${r.stdout} ${r.stderr}`);
    if (cmd === 'ADD') result = r.out;
  }
  return result as { interfaces: { name: string; sandbox?: string }[]; ips: { address: string; interface: number }[] };
}

describe("chaining with Debian's tuning, bandwidth and portmap", () => {
  it('ADD, CHECK and DEL through the whole list; each plugin finds the interfaces it needs', async () => {
    const pod = await rig.pod();
    const plugins: Conf[] = [
      { type: 'margay', ipam: { type: 'margay-ipam' }, agentSocket: rig.server.socketPath },
      { type: 'tuning', sysctl: { 'net.core.somaxconn': '512' } },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
      { type: 'portmap', snat: true, capabilities: { portMappings: true } },
    ];
    const runtimeConfig = {
      bandwidth: { ingressRate: 8_000_000, ingressBurst: 80_000 },
      portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }],
    };
    const env = rig.env('ADD', 'chain1', pod.path);
    const result = await runList('ADD', plugins, env, runtimeConfig);
    const hostIf = hostIfName(undefined, 'chain1', 'eth0');
    // The result the runtime keeps: host veth without sandbox, pod eth0 with it, the IP on eth0.
    expect(result.interfaces[0]).toMatchObject({ name: hostIf });
    expect(result.interfaces[0]!.sandbox).toBeUndefined();
    expect(result.interfaces[1]).toMatchObject({ name: 'eth0', sandbox: pod.path });
    expect(result.ips).toEqual([expect.objectContaining({ address: '10.244.0.1/32', interface: 1 })]);

    // tuning wrote the pod's sysctl, bandwidth shaped the host veth, portmap installed the DNAT.
    expect((await run('ip', ['netns', 'exec', pod.name, 'sysctl', '-n', 'net.core.somaxconn'])).trim()).toBe('512');
    expect(await run('tc', ['qdisc', 'show', 'dev', hostIf])).toMatch(/tbf/);
    const nat = await run('iptables', ['-t', 'nat', '-S']);
    expect(nat).toMatch(/--dport 18080 .*-j DNAT --to-destination 10\.244\.0\.1:80/);

    // CHECK through the list except portmap: Debian's portmap (plugins 1.1.1) fails CHECK on every
    // IPv4-only pod by looking for an ip6tables chain it never made (containernetworking/plugins#819).
    await runList(
      'CHECK',
      plugins.filter((p) => p.type !== 'portmap'),
      env,
      runtimeConfig,
      result,
    );

    await runList('DEL', plugins, env, runtimeConfig, result);
    expect(await run('iptables', ['-t', 'nat', '-S'])).not.toMatch(/--dport 18080/);
    expect((await execa('ip', ['link', 'show', hostIf], { reject: false })).exitCode).not.toBe(0);
    expect(rig.ipam.handles.size).toBe(0);
  });
});
