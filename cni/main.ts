#!/usr/bin/env node
/**
 * `margay`, the CNI plugin binary (installed as /opt/cni/bin/margay). It validates the invocation
 * (cni/protocol.ts), answers VERSION itself, and hands every other command to the local margay-node
 * over its unix socket (HTTP/JSON, POST /cni/v1/<command>), like Calico's plugin talks to its node:
 * the agent owns IPAM, the pod's veth and routes. A plugin that cannot reach the agent fails with
 * CNI error 11 ("try again later"; STATUS: 50 "plugin not available") naming the socket, so the
 * runtime retries instead of leaving a half-made pod.
 */
import { request } from 'node:http';
import { CNI_ERROR, CniError, answerVersion, parseRequest, versionResult, type CniRequest } from './protocol.js';

const AGENT_TIMEOUT_MS = 55_000;

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function callAgent(req: CniRequest): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(req);
    const r = request(
      {
        socketPath: req.config.agentSocket,
        path: `/cni/v1/${req.command.toLowerCase()}`,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: AGENT_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`no answer within ${AGENT_TIMEOUT_MS} ms`)));
    r.on('error', reject);
    r.end(payload);
  });
}

async function run(stdin: string): Promise<{ out: unknown; code: number }> {
  // VERSION's stdin is only {"cniVersion": ...}: answered before any network-config validation.
  if (process.env.CNI_COMMAND === 'VERSION') return { out: versionResult(stdin), code: 0 };
  const req = parseRequest(process.env, stdin);
  let res: { status: number; body: string };
  try {
    res = await callAgent(req);
  } catch (err) {
    const code = req.command === 'STATUS' ? CNI_ERROR.pluginNotAvailable : CNI_ERROR.tryAgainLater;
    throw new CniError(code, 'margay-node is not answering', `${req.config.agentSocket}: ${(err as Error).message} (is margay-node running on this node?)`);
  }
  let body: { result?: unknown; error?: { code: number; msg: string; details?: string } };
  try {
    body = JSON.parse(res.body) as typeof body;
  } catch (err) {
    throw new CniError(CNI_ERROR.ioFailure, 'margay-node answered with something that is not JSON', `HTTP ${res.status}: ${(err as Error).message}: ${res.body.slice(0, 200)}`);
  }
  if (body.error) throw new CniError(body.error.code, body.error.msg, body.error.details);
  return { out: body.result ?? null, code: 0 };
}

const stdin = await readStdin();
try {
  const { out } = await run(stdin);
  if (out !== null && out !== undefined) process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
} catch (err) {
  const e = err instanceof CniError ? err : new CniError(CNI_ERROR.ioFailure, 'internal error', (err as Error).stack ?? String(err));
  process.stdout.write(`${JSON.stringify(e.toResult(answerVersion(stdin)))}\n`);
  process.exit(1);
}
