/**
 * A veth pair between the test process's own network namespace (the private one scripts/in-sandbox.sh
 * made) and a test namespace, so sessions running in this process can peer with daemons in that
 * namespace. The pair disappears with the namespace (deleteNetns), and the sandbox is private anyway.
 */
import { run, uniqueName } from '../helpers/netns.js';

export async function linkToHost(ns: string, hostCidr: string, nsCidr: string): Promise<{ hostIf: string; nsIf: string }> {
  const hostIf = uniqueName('vh');
  const nsIf = uniqueName('vn');
  await run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf, 'netns', ns]);
  await run('ip', ['addr', 'add', hostCidr, 'dev', hostIf]);
  await run('ip', ['-n', ns, 'addr', 'add', nsCidr, 'dev', nsIf]);
  await run('ip', ['link', 'set', hostIf, 'up']);
  await run('ip', ['-n', ns, 'link', 'set', nsIf, 'up']);
  // The link needs a moment to come up.
  for (let i = 0; i < 50; i++) {
    const r = await run('ip', ['-j', 'link', 'show', hostIf]);
    if (r.includes('"operstate":"UP"') || r.includes('LOWER_UP')) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  return { hostIf, nsIf };
}

/** Deletes the pair now (a namespace's own deletion is asynchronous and may leave it for a while). */
export async function unlinkFromHost(hostIf: string): Promise<void> {
  await run('ip', ['link', 'del', hostIf]);
}
