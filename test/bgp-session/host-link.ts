/**
 * A veth pair between the test process's own network namespace (the private one scripts/in-sandbox.sh
 * made) and a test namespace, so sessions running in this process can peer with daemons in that
 * namespace. Built by the lab topology's link code (src/lab/topology.ts `addLink`, the same one
 * upTopology uses for HOST links). The pair disappears with the namespace (deleteNetns), and the
 * sandbox is private anyway.
 */
import { addLink } from '../../src/lab/topology.js';
import { HOST } from '../../src/lab/topology-spec.js';
import { labDeps, run, uniqueName } from '../helpers/netns.js';

export async function linkToHost(
  ns: string,
  hostCidr: string,
  nsCidr: string,
): Promise<{ hostIf: string; nsIf: string }> {
  const hostIf = uniqueName('vh');
  const nsIf = uniqueName('vn');
  await addLink(
    labDeps().runner,
    { a: { node: HOST, ifName: hostIf, addresses: [hostCidr] }, b: { node: ns, ifName: nsIf, addresses: [nsCidr] } },
    (n) => n,
  );
  await waitHostLinkUp(hostIf);
  return { hostIf, nsIf };
}

/** Waits (up to 1 s) until the host end of a link reports carrier. */
export async function waitHostLinkUp(hostIf: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const r = await run('ip', ['-j', 'link', 'show', hostIf]);
    if (r.includes('"operstate":"UP"') || r.includes('LOWER_UP')) break;
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** Deletes the pair now (a namespace's own deletion is asynchronous and may leave it for a while). */
export async function unlinkFromHost(hostIf: string): Promise<void> {
  await run('ip', ['link', 'del', hostIf]);
}
