import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { CNI_ERROR, CniError } from '../../cni/index.js';

/**
 * Delegation to a standard IPAM plugin (`ipam.type: host-local`, `static`, ...), exactly as a CNI
 * main plugin does it (libcni invoke.DelegateAdd): the plugin is found by its type in CNI_PATH and
 * run with the same CNI_* environment and the same network configuration on stdin. Output is
 * bounded and the run has a deadline, so a broken delegate cannot hang the agent.
 */
const MAX_OUTPUT = 1 << 20;

export interface DelegateInvocation {
  readonly type: string;
  readonly command: 'ADD' | 'DEL' | 'CHECK';
  readonly path: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: string;
  readonly timeoutMs: number;
}

async function findPlugin(type: string, dirs: readonly string[]): Promise<string> {
  for (const d of dirs) {
    const p = join(d, type);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'EACCES')
        throw err;
    }
  }
  throw new CniError(
    CNI_ERROR.invalidNetworkConfig,
    `IPAM plugin "${type}" not found`,
    `looked in CNI_PATH: ${dirs.join(':') || '(empty)'}`,
  );
}

/** Runs the delegate; resolves to its parsed result (ADD) or null, rejects with its CniError. */
export async function invokeIpamPlugin(inv: DelegateInvocation): Promise<unknown> {
  const bin = await findPlugin(inv.type, inv.path);
  const env = { ...inv.env, CNI_COMMAND: inv.command, CNI_PATH: inv.path.join(':') };
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(bin, [], {
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: inv.timeoutMs,
        killSignal: 'SIGKILL',
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let size = 0;
      const take =
        (into: Buffer[]) =>
        (c: Buffer): void => {
          size += c.length;
          if (size > MAX_OUTPUT) child.kill('SIGKILL');
          else into.push(c);
        };
      child.stdout.on('data', take(out));
      child.stderr.on('data', take(err));
      child.on('error', reject);
      child.on('close', (c, sig) => {
        if (sig !== null)
          reject(
            new CniError(
              CNI_ERROR.ioFailure,
              `IPAM plugin "${inv.type}" was killed`,
              `${sig} (deadline ${inv.timeoutMs} ms or output over ${MAX_OUTPUT} bytes)`,
            ),
          );
        else
          resolve({
            code: c,
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(err).toString('utf8'),
          });
      });
      child.stdin.on('error', reject);
      child.stdin.end(inv.stdin);
    },
  );
  let parsed: unknown = null;
  if (stdout.trim() !== '') {
    try {
      parsed = JSON.parse(stdout);
    } catch (e) {
      throw new CniError(
        CNI_ERROR.decodeFailure,
        `IPAM plugin "${inv.type}" printed something that is not JSON`,
        `${(e as Error).message}; stderr: ${stderr.slice(0, 300)}`,
      );
    }
  }
  if (code !== 0) {
    const e = (parsed ?? {}) as { code?: unknown; msg?: unknown; details?: unknown };
    const c = typeof e.code === 'number' ? e.code : CNI_ERROR.ioFailure;
    throw new CniError(
      c,
      `IPAM plugin "${inv.type}" ${inv.command} failed: ${typeof e.msg === 'string' ? e.msg : `exit ${code}`}`,
      typeof e.details === 'string' ? e.details : stderr.slice(0, 500),
    );
  }
  return parsed;
}
