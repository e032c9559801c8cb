/**
 * A child process of test/ipam/concurrency.int.test.ts: one "agent" allocating on a shared datastore.
 * argv: <datastore spec> <node> <worker id> <cycles>. Each cycle, as kubelet + CNI would: create the
 * Pod, ADD (assign), record the pod's IPs in its status, then DEL (release) and delete the Pod.
 * Prints one line per event with a shared clock, so the parent can replay every worker's events in
 * real-time order: `A <t> <handle> <addr>...` after an assign returned, `R <t> <handle>` before the
 * Pod is deleted and the release starts, `E <t> <code>` for an expected refusal (pool exhausted). The parent kills it with
 * SIGKILL at random moments.
 */
import { performance } from 'node:perf_hooks';
import { openDatastore } from '../../src/datastore/index.js';
import { createRootLogger } from '../../src/log.js';
import { Ipam, IpamExhaustedError } from '../../ipam/index.js';

const [spec, node, id, cycles] = process.argv.slice(2);
const log = createRootLogger({ level: 'warn', name: `alloc-worker-${id}` });
const store = await openDatastore(spec!, { log });
const ipam = new Ipam({ store, log, clusterCacheMs: 500 });
const now = () => (performance.timeOrigin + performance.now()).toFixed(3);
const emit = (line: string) => process.stdout.write(`${line}\n`);

for (let i = 0; i < Number(cycles); i++) {
  const name = `p-${id}-${i}`,
    containerId = `c${id}x${i}`,
    handle = `k8s-pod-network.${containerId}`;
  const pod = await store.create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'load' },
    spec: { nodeName: node },
  });
  let r;
  try {
    r = await ipam.assign({
      network: 'k8s-pod-network',
      containerId,
      node: node!,
      pod: { namespace: 'load', name },
      ipv6: i % 3 === 0,
    });
  } catch (err) {
    if (!(err instanceof IpamExhaustedError)) throw err;
    emit(`E ${now()} ${err.code}`);
    await store.delete('Pod', name, 'load');
    await new Promise((res) => setTimeout(res, 20));
    continue;
  }
  const ips = r.addresses.map((a) => a.address);
  emit(`A ${now()} ${handle} ${ips.join(' ')}`);
  await store.update({ ...pod, status: { podIPs: ips.map((ip) => ({ ip })) } });
  if (i % 4 === 3) continue; // some pods stay
  // As kubelet: the Pod goes from the API first, then the sandbox is torn down (CNI DEL).
  emit(`R ${now()} ${handle}`);
  await store.delete('Pod', name, 'load');
  await ipam.releaseByHandle(handle);
}
await store.close();
emit('DONE');
