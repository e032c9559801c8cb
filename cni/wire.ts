/**
 * The plugin ⇄ agent wire format, pure. The compiled forwarder (cni/forwarder/margay.c) and the
 * Node fallback (cni/main.ts) send the invocation as it came from the runtime; margay-node
 * (agent/cni/) validates and answers with the plugin's stdout and exit code:
 *
 *   POST /cni/v1/exec   content-type: application/x-margay-cni
 *   body: "KEY=VALUE\0" for each CNI_* variable set, then "\0", then stdin unchanged
 *   200   x-cni-exit: <0-255>   body: exactly what the plugin prints on stdout
 *
 * NUL separators need no escaping (an environment value cannot hold a NUL), so the forwarder
 * stays a few lines of C. Socket discovery: see `defaultSocketPath`.
 */
export const EXEC_PATH = '/cni/v1/exec';
export const EXIT_HEADER = 'x-cni-exit';
export const FORWARDED_VARS = [
  'CNI_COMMAND',
  'CNI_CONTAINERID',
  'CNI_NETNS',
  'CNI_IFNAME',
  'CNI_ARGS',
  'CNI_PATH',
] as const;
/** stdin (1 MiB) plus the variables (64 KiB each): the agent refuses larger requests. */
export const MAX_STDIN_BYTES = 1 << 20;
export const MAX_REQUEST_BYTES = MAX_STDIN_BYTES + FORWARDED_VARS.length * 65_600 + 16;
export const DEFAULT_RUN_DIR = '/run/margay';

/**
 * Without `agentSocket` in the netconf the plugin talks to the agent serving the network namespace
 * it runs in: each agent listens on `<runDir>/cni-<inode of its /proc/self/ns/net>.sock`, and the
 * plugin computes the same name from its own namespace. Several agents on one machine (the lab:
 * one per node namespace) never collide, and the socket keeps file permissions (an abstract
 * socket would be per-netns too, but any process in the namespace could call it).
 */
export function defaultSocketPath(netnsInode: number | bigint, runDir = DEFAULT_RUN_DIR): string {
  return `${runDir}/cni-${netnsInode}.sock`;
}

export interface ExecRequest {
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: string;
}

export class WireError extends Error {
  override readonly name = 'WireError';
}

export function encodeExecRequest(env: Readonly<Record<string, string | undefined>>, stdin: Buffer | string): Buffer {
  const parts: Buffer[] = [];
  for (const k of FORWARDED_VARS) {
    const v = env[k];
    if (v !== undefined) parts.push(Buffer.from(`${k}=${v}\0`, 'utf8'));
  }
  parts.push(Buffer.from([0]), typeof stdin === 'string' ? Buffer.from(stdin, 'utf8') : stdin);
  return Buffer.concat(parts);
}

/** Throws WireError naming what is wrong; only CNI_* variables are accepted, each once. */
export function decodeExecRequest(body: Buffer): ExecRequest {
  if (body.length > MAX_REQUEST_BYTES) throw new WireError(`request is larger than ${MAX_REQUEST_BYTES} bytes`);
  const env: Record<string, string> = {};
  let off = 0;
  for (;;) {
    const nul = body.indexOf(0, off);
    if (nul < 0) throw new WireError('environment block is not terminated');
    if (nul === off) {
      off += 1;
      break;
    }
    const entry = body.subarray(off, nul).toString('utf8');
    const eq = entry.indexOf('=');
    const key = eq > 0 ? entry.slice(0, eq) : '';
    if (!(FORWARDED_VARS as readonly string[]).includes(key))
      throw new WireError(`unexpected environment entry ${JSON.stringify(entry.slice(0, 40))}`);
    if (key in env) throw new WireError(`${key} is given twice`);
    env[key] = entry.slice(eq + 1);
    off = nul + 1;
  }
  const stdin = body.subarray(off);
  if (stdin.length > MAX_STDIN_BYTES) throw new WireError(`stdin is larger than ${MAX_STDIN_BYTES} bytes`);
  return { env, stdin: stdin.toString('utf8') };
}
