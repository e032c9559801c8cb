#!/usr/bin/env node
/**
 * The Node fallback of the `margay` CNI plugin (the installed binary is the compiled forwarder,
 * cni/forwarder/margay.c; this entry does the same in Node for machines without a C compiler and
 * for debugging): it answers VERSION, finds the agent's socket (netconf `agentSocket`, else the
 * agent serving this network namespace, cni/wire.ts) and forwards the invocation unchanged. The
 * agent validates it (cni/protocol.ts) and its answer is printed as is. An agent that cannot be
 * reached gives CNI error 11 "try again later" (STATUS: 50 "plugin not available").
 */
import { statSync } from 'node:fs';
import { request } from 'node:http';
import {
  CNI_ERROR,
  CniError,
  EXEC_PATH,
  EXIT_HEADER,
  MAX_STDIN_BYTES,
  answerVersion,
  defaultSocketPath,
  encodeExecRequest,
  versionResult,
} from './index.js';

const configured = Number(process.env.MARGAY_CNI_TIMEOUT_MS);
const TIMEOUT_MS = Number.isInteger(configured) && configured > 0 && configured < 3_600_000 ? configured : 120_000;

async function readStdin(): Promise<Buffer> {
  if (process.stdin.isTTY) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin) {
    size += (c as Buffer).length;
    if (size > MAX_STDIN_BYTES)
      throw new CniError(
        CNI_ERROR.decodeFailure,
        'failed to decode network configuration',
        `stdin is larger than ${MAX_STDIN_BYTES} bytes`,
      );
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function socketPath(stdin: string): string {
  try {
    const s = (JSON.parse(stdin) as { agentSocket?: unknown }).agentSocket;
    if (typeof s === 'string' && s.startsWith('/')) return s;
  } catch {
    // not JSON: the agent reports the decode error; discovery falls back to the default
    return defaultSocketPath(statSync('/proc/self/ns/net', { bigint: true }).ino);
  }
  return defaultSocketPath(statSync('/proc/self/ns/net', { bigint: true }).ino);
}

function forward(path: string, body: Buffer): Promise<{ exit: number; out: Buffer }> {
  return new Promise((resolve, reject) => {
    const r = request(
      {
        socketPath: path,
        path: EXEC_PATH,
        method: 'POST',
        timeout: TIMEOUT_MS,
        headers: { 'content-type': 'application/x-margay-cni', 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const exit = Number(res.headers[EXIT_HEADER]);
          if (res.statusCode !== 200 || !Number.isInteger(exit))
            reject(new Error(`unexpected answer: HTTP ${res.statusCode}`));
          else resolve({ exit, out: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    r.on('error', reject);
    r.end(body);
  });
}

let stdin = '';
try {
  const raw = await readStdin();
  stdin = raw.toString('utf8');
  if (process.env.CNI_COMMAND === 'VERSION') {
    process.stdout.write(`${JSON.stringify(versionResult(stdin))}\n`);
    process.exit(0);
  }
  const path = socketPath(stdin);
  let res: { exit: number; out: Buffer };
  try {
    res = await forward(path, encodeExecRequest(process.env, raw));
  } catch (err) {
    const code = process.env.CNI_COMMAND === 'STATUS' ? CNI_ERROR.pluginNotAvailable : CNI_ERROR.tryAgainLater;
    throw new CniError(
      code,
      'margay-node is not answering',
      `${path}: ${(err as Error).message} (is margay-node running on this node?)`,
    );
  }
  process.stdout.write(res.out);
  process.exit(res.exit);
} catch (err) {
  const e =
    err instanceof CniError
      ? err
      : new CniError(CNI_ERROR.ioFailure, 'internal error', (err as Error).stack ?? String(err));
  process.stdout.write(`${JSON.stringify(e.toResult(answerVersion(stdin)))}\n`);
  process.stderr.write(`margay: ${e.message}\n`);
  process.exit(1);
}
