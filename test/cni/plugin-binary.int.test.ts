import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CniError, parseRequest } from '../../cni/index.js';
import { exec, PLUGIN } from './harness.js';

// The plugin binaries as a runtime runs them (environment + stdin), against no agent, a raw socket
// that misbehaves, and the checks they make before any agent is involved. Both binaries: the
// compiled forwarder (installed) and the Node fallback.
const NODE_PLUGIN = new URL('../../dist/cni/main.js', import.meta.url).pathname;
let dir: string | undefined;
let server: Server | undefined;
const sockets = new Set<import('node:net').Socket>();
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

const conf = (extra: object = {}) =>
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'k8s-pod-network',
    type: 'margay',
    ipam: { type: 'margay-ipam' },
    ...extra,
  });
const ADD = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/var/run/netns/c1',
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0',
  CNI_PATH: '/opt/cni/bin',
};

/** A socket that does whatever `onConn` says with each connection. */
async function rawAgent(onConn: (s: import('node:net').Socket) => void): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'mgy-cni-'));
  const sock = join(dir, 'cni.sock');
  server = createServer((s) => {
    sockets.add(s);
    onConn(s);
  });
  await new Promise<void>((r) => server!.listen(sock, () => r()));
  return sock;
}

describe.each([
  ['compiled forwarder', PLUGIN, [] as string[]],
  ['node fallback', process.execPath, [NODE_PLUGIN]],
])('margay plugin binary: %s', (_name, bin, pre) => {
  const plugin = (env: Record<string, string>, stdin: string) =>
    pre.length ? exec2(bin, pre, env, stdin) : exec(bin, env, stdin);

  it('answers VERSION itself, in the config version when supported', async () => {
    expect(await plugin({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}')).toMatchObject({
      code: 0,
      out: { cniVersion: '0.4.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] },
    });
    expect((await plugin({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"7.0.0"}')).out).toMatchObject({
      cniVersion: '1.1.0',
    });
  });

  it('without margay-node: 11 "try again later" (STATUS: 50), naming the socket; logs only on stderr', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mgy-cni-'));
    const sock = join(dir, 'cni.sock');
    const add = await plugin(ADD, conf({ agentSocket: sock }));
    expect(add.code).toBe(1);
    expect(add.out).toMatchObject({ cniVersion: '1.0.0', code: 11, msg: 'margay-node is not answering' });
    expect(String(add.out?.details)).toContain(sock);
    expect(add.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    const status = await plugin(
      { CNI_COMMAND: 'STATUS' },
      JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 'margay', agentSocket: sock }),
    );
    expect(status.out).toMatchObject({ cniVersion: '1.1.0', code: 50 });
  });

  it('an agent that never answers: error 11 after MARGAY_CNI_TIMEOUT_MS, no hang', async () => {
    const sock = await rawAgent(() => undefined);
    const r = await plugin({ ...ADD, MARGAY_CNI_TIMEOUT_MS: '300' }, conf({ agentSocket: sock }));
    expect(r.code).toBe(1);
    expect(r.out).toMatchObject({ code: 11 });
    expect(r.ms).toBeLessThan(3000);
  });

  it('an agent that answers garbage or closes early: a CNI error, never a crash', async () => {
    const sock = await rawAgent((s) => s.end('HTTP/1.1 500 Oops\r\n\r\nnope'));
    const r = await plugin(ADD, conf({ agentSocket: sock }));
    expect(r.code).toBe(1);
    expect([5, 11]).toContain(r.out?.code);
  });
});

async function exec2(bin: string, pre: string[], env: Record<string, string>, stdin: string) {
  const { execa } = await import('execa');
  const t = performance.now();
  const r = await execa(bin, pre, { env, extendEnv: false, input: stdin, reject: false, timeout: 130_000 });
  return {
    code: r.exitCode ?? -1,
    out: r.stdout ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined,
    stdout: r.stdout,
    stderr: r.stderr,
    ms: performance.now() - t,
  };
}

describe("the forwarder's own checks agree with cni/protocol.ts", () => {
  // Every case the forwarder refuses before reaching an agent, with the code protocol.ts gives.
  const CASES: [string, Record<string, string>][] = [
    ['no command', { ...ADD, CNI_COMMAND: '' }],
    ['unknown command', { ...ADD, CNI_COMMAND: 'UP' }],
    ['ADD without netns', { ...ADD, CNI_NETNS: '' }],
    ['ADD without ifname', { ...ADD, CNI_IFNAME: '' }],
    ['DEL without container id', { ...ADD, CNI_COMMAND: 'DEL', CNI_CONTAINERID: '' }],
    ['container id with /', { ...ADD, CNI_CONTAINERID: 'a/b' }],
    ['container id starting with -', { ...ADD, CNI_CONTAINERID: '-ab' }],
    ['ifname too long', { ...ADD, CNI_IFNAME: 'abcdefghijklmnop' }],
    ['ifname with :', { ...ADD, CNI_IFNAME: 'eth:0' }],
    ['ifname ..', { ...ADD, CNI_IFNAME: '..' }],
    ['ifname with space', { ...ADD, CNI_IFNAME: 'eth 0' }],
  ];
  it.each(CASES)('%s', async (_n, env) => {
    const r = await exec(PLUGIN, env, conf({ agentSocket: '/nonexistent/cni.sock' }));
    let expected: CniError | undefined;
    try {
      parseRequest(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')), conf());
    } catch (err) {
      expected = err as CniError;
    }
    expect(expected).toBeInstanceOf(CniError);
    expect(r.code).toBe(1);
    expect(r.out).toMatchObject({ cniVersion: '1.0.0', code: expected!.cniCode, msg: expected!.msg });
  });

  it('refuses stdin over 1 MiB with 6 and a variable over 64 KiB with 4', async () => {
    const big = await exec(PLUGIN, ADD, `{"cniVersion":"1.0.0","x":"${'a'.repeat(1 << 20)}"}`);
    expect(big.out).toMatchObject({ code: 6 });
    const longArgs = await exec(PLUGIN, { ...ADD, CNI_ARGS: 'A='.padEnd(70_000, 'x') }, conf());
    expect(longArgs.out).toMatchObject({ code: 4 });
  });

  it('never reads the netconf beyond its top level: nested or escaped agentSocket is not used', async () => {
    const r = await exec(
      PLUGIN,
      ADD,
      JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'margay', args: { agentSocket: '/evil.sock' } }),
    );
    expect(String(r.out?.details)).toMatch(/\/run\/margay\/cni-\d+\.sock/);
  });
});
