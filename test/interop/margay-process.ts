/**
 * margay-bgpd as a real process inside a test namespace, for the interop suite. The daemon is bundled
 * once per test run from bgp/main.ts with esbuild (so the suite does not depend on a full `npm run
 * build`), started with `ip netns exec NS node BUNDLE --config FILE`, queried through its control
 * socket (the same client margayctl uses), and stopped by its pid: SIGTERM for a clean stop (Cease 2),
 * SIGKILL to simulate a crash (the TCP sessions just end: graceful-restart territory).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { execa, type ResultPromise } from 'execa';
import { ControlClient } from '../../bgp/control/client.js';
import type { PeerStatusView } from '../../bgp/speaker/types.js';
import { waitFor } from '../helpers/bgp-daemons.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
// Three levels below the repo root, like dist/bgp/native/: the socket-option addon loader looks for
// <here>/../../../bgp/native/build/Release, which then resolves to the repo's built addon.
const BUNDLE = join(REPO, '.interop-build', 'bgp', 'native', 'margay-bgpd.mjs');
let bundled: Promise<string> | undefined;

export function bundleMargayBgpd(): Promise<string> {
  bundled ??= (async () => {
    await mkdir(dirname(BUNDLE), { recursive: true });
    await build({
      entryPoints: [join(REPO, 'bgp/main.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: BUNDLE,
      packages: 'external',
      logLevel: 'error',
      // The bundle's isMain() compares argv[1] with its own URL: true when run directly.
    });
    return BUNDLE;
  })();
  return bundled;
}

export interface MargayProcess {
  readonly ns: string;
  readonly workdir: string;
  readonly configFile: string;
  readonly ctl: ControlClient;
  readonly pid: number;
  peer(address: string): Promise<PeerStatusView | undefined>;
  /** Rewrites the config file and sends SIGHUP. */
  reload(yaml: string): Promise<void>;
  /** SIGTERM and wait for exit: the clean stop. Returns the exit code. */
  stop(): Promise<number | undefined>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  log(): string;
}

export async function startMargay(ns: string, yaml: (socket: string) => string, opts: { workdir?: string } = {}): Promise<MargayProcess> {
  const bundle = await bundleMargayBgpd();
  const workdir = opts.workdir ?? (await mkdtemp(join(tmpdir(), 'mgy-bgpd-')));
  const socket = join(workdir, 'bgpd.sock');
  const configFile = join(workdir, 'bgpd.yaml');
  await writeFile(configFile, yaml(socket));
  const child: ResultPromise = execa('ip', ['netns', 'exec', ns, process.execPath, bundle, '--config', configFile, '--log-level', 'debug'], {
    reject: false,
    cwd: REPO,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const ctl = new ControlClient(socket);
  // `ip netns exec` execs node in place, so the pid is the daemon's.
  const pid = child.pid!;
  try {
    await waitFor(
      'margay-bgpd control socket',
      async () => {
        if (child.exitCode !== null && child.exitCode !== undefined) throw new Error(`margay-bgpd exited ${child.exitCode}: ${stderr.slice(-3000)}`);
        return ctl.peers().then(() => true);
      },
      20_000,
      50,
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`margay-bgpd did not start: ${(err as Error).message}\n${stderr.slice(-3000)}`, { cause: err });
  }
  let exited = false;
  void child.then(() => {
    exited = true;
  });
  return {
    ns,
    workdir,
    configFile,
    ctl,
    pid,
    async peer(address) {
      return (await ctl.peers()).find((p) => p.address === address);
    },
    async reload(next) {
      await writeFile(configFile, next);
      process.kill(pid, 'SIGHUP');
    },
    async stop() {
      if (!exited) process.kill(pid, 'SIGTERM');
      const r = await child;
      return r.exitCode;
    },
    async kill() {
      if (!exited) process.kill(pid, 'SIGKILL');
      await child;
    },
    log: () => stderr,
  };
}

export async function removeWorkdir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export async function readLog(file: string): Promise<string> {
  return readFile(file, 'utf8');
}
