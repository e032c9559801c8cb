import { mkdir, rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { KernelOpError } from '../../src/errors.js';
import {
  ExecaCommandRunner,
  IpWorkloadVethOps,
  ProcSysctlOps,
  type WorkloadVethOps,
  type WorkloadVethSpec,
} from '../../src/kernel/index.js';
import { silentLogger } from '../../src/log.js';
import { run } from '../helpers/netns.js';
import { mgyLinks, Rig } from './harness.js';

// A failed ADD leaves no veth, route, neighbour, endpoint or allocation behind, whichever step
// fails: real kernel adapters with one failure injected at each point in turn.
const log = silentLogger();
const runner = new ExecaCommandRunner(log);
type Point = 'ipam' | 'create-late' | 'sysctl' | 'pod-side' | 'register' | 'record';

/** The real sysctl adapter with an injectable failure (a subclass keeps every other method real). */
class InjectedSysctl extends ProcSysctlOps {
  constructor(private readonly point: Point) {
    super(runner, log, undefined, { direct: true });
  }
  override async setMany(e: Readonly<Record<string, string | number>>): Promise<void> {
    if (this.point === 'sysctl')
      throw new KernelOpError(['write', '/proc/sys/net/ipv4/conf/x/proxy_arp'], null, 'EACCES');
    await super.setMany(e);
  }
}

class Injected implements WorkloadVethOps {
  readonly real = new IpWorkloadVethOps(runner, log);
  constructor(private readonly point: Point) {}
  async createHostSide(spec: WorkloadVethSpec): Promise<void> {
    await this.real.createHostSide(spec);
    // As if a later line of the batch (the route, say) had been refused after the pair was made.
    if (this.point === 'create-late')
      throw new KernelOpError(['ip', '-batch', '-'], 2, 'RTNETLINK answers: Invalid argument\nCommand failed -:5');
  }
  async configurePodSide(spec: WorkloadVethSpec): Promise<void> {
    if (this.point === 'pod-side') {
      await this.real.configurePodSide({ ...spec, addresses: spec.addresses.slice(0, 1) }); // half done, then refused
      throw new KernelOpError(['nsenter'], 2, 'RTNETLINK answers: Network is unreachable');
    }
    await this.real.configurePodSide(spec);
  }
  ownerOf(h: string) {
    return this.real.ownerOf(h);
  }
  remove(h: string) {
    return this.real.remove(h);
  }
  inspectPod(n: string, i: string) {
    return this.real.inspectPod(n, i);
  }
}

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

describe('a failed ADD leaves nothing behind', () => {
  it.each<Point>(['ipam', 'create-late', 'sysctl', 'pod-side', 'register', 'record'])(
    'failure at %s',
    async (point) => {
      rig = await new Rig().start({ veths: new Injected(point), sysctl: new InjectedSysctl(point) });
      rig.pods.add('default', 'web-1');
      if (point === 'ipam') rig.ipam.failNext = new Error('datastore says no');
      if (point === 'register') rig.endpoints.failNext = new Error('calc graph refused');
      if (point === 'record') {
        await rm(`${rig.dir}/state`, { recursive: true, force: true });
        await writeFile(`${rig.dir}/state`, 'not a directory');
      }
      const pod = await rig.pod();
      const r = await rig.plugin(
        rig.env('ADD', `fail-${point}`, pod.path, 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1'),
        rig.conf(),
      );
      expect(r.code).toBe(1);
      expect(r.out?.code).not.toBe(3);
      expect(typeof r.out?.msg).toBe('string');
      expect(await mgyLinks()).toEqual([]);
      expect(await run('ip', ['route', 'show', 'proto', '109'])).toBe('');
      expect((await execa('ip', ['-n', pod.name, 'link', 'show', 'eth0'], { reject: false })).exitCode).not.toBe(0);
      expect(rig.ipam.handles.size).toBe(0);
      expect(rig.endpoints.endpoints.size).toBe(0);
      expect(rig.server.attachments()).toEqual([]);
      if (point === 'ipam' || point === 'register' || point === 'record') {
        // One-shot causes: once gone, the same container is added normally.
        if (point === 'record') await rm(`${rig.dir}/state`, { force: true }).then(() => mkdir(`${rig!.dir}/state`));
        const again = await rig.plugin(
          rig.env('ADD', `fail-${point}`, pod.path, 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1'),
          rig.conf(),
        );
        expect(again.code).toBe(0);
      }
    },
  );
});
