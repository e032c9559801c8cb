import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';

// The built plugin (npm test builds first), run the way a container runtime runs it: env + stdin.
const PLUGIN = new URL('../../dist/cni/main.js', import.meta.url).pathname;
let dir: string | undefined;
let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

const conf = (extra: object = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'k8s-pod-network', type: 'margay', ipam: { type: 'margay-ipam' }, ...extra });
const ADD = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/var/run/netns/c1', CNI_IFNAME: 'eth0', CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0', CNI_PATH: '/opt/cni/bin' };

async function plugin(env: Record<string, string>, stdin: string) {
  const r = await execa('node', [PLUGIN], { env, extendEnv: false, input: stdin, reject: false });
  return { code: r.exitCode, out: r.stdout ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined, stderr: r.stderr };
}

describe('margay CNI plugin binary', () => {
  it('answers VERSION itself', async () => {
    const r = await plugin({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
    expect(r).toMatchObject({ code: 0, out: { cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] } });
  });

  it('prints spec errors as JSON with a non-zero exit', async () => {
    const r = await plugin({ ...ADD, CNI_IFNAME: '' }, conf());
    expect(r.code).toBe(1);
    expect(r.out).toEqual({ cniVersion: '1.0.0', code: 4, msg: 'invalid environment', details: 'CNI_IFNAME is required for ADD' });
  });

  it('without margay-node: ADD is "try again later" (11) and STATUS "plugin not available" (50), naming the socket', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mgy-cni-'));
    const sock = join(dir, 'cni.sock');
    const add = await plugin(ADD, conf({ agentSocket: sock }));
    expect(add.code).toBe(1);
    expect(add.out).toMatchObject({ code: 11, msg: 'margay-node is not answering' });
    expect(String(add.out?.details)).toContain(sock);
    const status = await plugin({ CNI_COMMAND: 'STATUS' }, JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 'margay', agentSocket: sock }));
    expect(status.out).toMatchObject({ cniVersion: '1.1.0', code: 50 });
  });

  it('forwards the validated request to the agent socket and prints its result or error', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mgy-cni-'));
    const sock = join(dir, 'cni.sock');
    const seen: { path: string; body: Record<string, unknown> }[] = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const parsed = JSON.parse(body) as Record<string, unknown>;
        seen.push({ path: req.url ?? '', body: parsed });
        res.setHeader('content-type', 'application/json');
        if (req.url === '/cni/v1/add') {
          res.end(JSON.stringify({ result: { cniVersion: '1.0.0', ips: [{ address: '10.244.1.5/32' }] } }));
        } else {
          res.end(JSON.stringify({ error: { code: 3, msg: 'container unknown', details: 'c1' } }));
        }
      });
    });
    await new Promise<void>((r) => server!.listen(sock, () => r()));
    const add = await plugin(ADD, conf({ agentSocket: sock }));
    expect(add).toMatchObject({ code: 0, out: { cniVersion: '1.0.0', ips: [{ address: '10.244.1.5/32' }] } });
    expect(seen[0]).toMatchObject({ path: '/cni/v1/add', body: { command: 'ADD', containerId: 'c1', ifName: 'eth0', args: { K8S_POD_NAME: 'web-0' } } });
    const check = await plugin({ ...ADD, CNI_COMMAND: 'CHECK' }, conf({ agentSocket: sock }));
    expect(check).toMatchObject({ code: 1, out: { cniVersion: '1.0.0', code: 3, msg: 'container unknown', details: 'c1' } });
  });
});
