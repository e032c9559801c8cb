/**
 * How the CNI benches start plugin processes, as a container runtime does: a small process that
 * vfork()s and execs (containerd and CRI-O are Go programs, whose os/exec uses clone(CLONE_VFORK)).
 *
 * - `spawn` (default): through margay-spawn (src/kernel/spawn-runner.ts), `env -i VAR=… plugin`,
 *   so each call costs one small exec on top of the plugin's own start — for margay and for ptp alike;
 * - `node`: execa from the bench's own Node process — each call a fork of a ~100 MB process on the
 *   bench's main thread, one after another: in a burst of 100 that serial fork cost is most of
 *   what was measured before (and it was the same for both plugins).
 */
import { execa } from 'execa';
import { SpawnHelperRunner, spawnHelperPath } from '../../src/kernel/spawn-runner.js';
import { silentLogger } from '../../src/log.js';

export type LaunchMode = 'spawn' | 'node';

export interface PluginCall {
  readonly ms: number;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class PluginLauncher {
  readonly #runner: SpawnHelperRunner | undefined;

  constructor(
    readonly mode: LaunchMode,
    private readonly path: string,
  ) {
    if (mode === 'spawn') {
      const helper = spawnHelperPath();
      if (helper === undefined) throw new Error('dist/kernel/margay-spawn is not built: npm run build');
      this.#runner = new SpawnHelperRunner(helper, silentLogger(), { timeoutMs: 120_000, maxInFlight: 256 });
    }
  }

  /** Runs `bin` with exactly `env` (plus PATH) and `stdin`; never throws for a non-zero exit. */
  async call(bin: string, env: Record<string, string>, stdin: string): Promise<PluginCall> {
    const t = performance.now();
    if (this.#runner !== undefined) {
      const vars = Object.entries({ PATH: this.path, ...env }).map(([k, v]) => `${k}=${v}`);
      const r = await this.#runner.run(['env', '-i', ...vars, bin], { stdin, allowFailure: true });
      return { ms: performance.now() - t, code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
    }
    const r = await execa(bin, [], {
      env: { PATH: this.path, ...env },
      extendEnv: false,
      input: stdin,
      reject: false,
      timeout: 120_000,
    });
    return { ms: performance.now() - t, code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  close(): void {
    this.#runner?.close();
  }
}

export function launchMode(v: string | undefined): LaunchMode {
  if (v === undefined || v === 'spawn') return 'spawn';
  if (v === 'node') return 'node';
  throw new Error(`--launcher must be spawn or node, not ${JSON.stringify(v)}`);
}
