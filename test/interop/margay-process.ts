/**
 * margay-bgpd as a real process inside a test namespace, for the interop suite. The daemon is bundled
 * once per test run from bgp/main.ts with esbuild (so the suite does not depend on a full `npm run
 * build`), started by src/lab's startMargayBgpd (`ip netns exec NS node BUNDLE --config FILE`, pid
 * file and log in its work dir), queried through its control socket (the same client margayctl uses),
 * and stopped by its recorded pid: SIGTERM for a clean stop (Cease 2), SIGKILL to simulate a crash
 * (the TCP sessions just end: graceful-restart territory).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ControlClient } from '../../bgp/control/client.js';
import type { PeerStatusView } from '../../bgp/speaker/types.js';
import { startMargayBgpd } from '../../src/lab/margay-processes.js';
import { waitFor } from '../helpers/bgp-daemons.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
// Three levels below the repo root, like dist/bgp/native/: the socket-option addon loader looks for
// <here>/../../../bgp/native/build/Release, which then resolves to the repo's built addon.
const BUNDLE = join(REPO, '.interop-build', 'bgp', 'native', 'margay-bgpd.mjs');
let bundled: Promise<string> | undefined;

export function bundleMargayBgpd(): Promise<string> {
  bundled ??= (async () => {
    await mkdir(dirname(BUNDLE), { recursive: true });
    // Every test process bundles (both integration lanes run at once): write aside and rename over,
    // so a daemon starting in another process never reads a file esbuild is half-way through writing.
    const out = await build({
      entryPoints: [join(REPO, 'bgp/main.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: BUNDLE,
      packages: 'external',
      logLevel: 'error',
      write: false,
      // The bundle's isMain() compares argv[1] with its own URL: true when run directly.
    });
    const code = out.outputFiles.find((f) => f.path === BUNDLE);
    if (!code) throw new Error(`esbuild produced no ${BUNDLE}`);
    const tmp = `${BUNDLE}.${process.pid}.tmp`;
    await writeFile(tmp, code.contents);
    await rename(tmp, BUNDLE);
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
  /** This run's log (a restart in the same work dir starts a fresh view). */
  log(): string;
}

/**
 * Starts the bundle with src/lab's process helper (detached, pid file and log in the work dir,
 * stopped by its recorded pid) and waits until the control API answers.
 */
export async function startMargay(
  ns: string,
  yaml: (socket: string) => string,
  opts: { workdir?: string } = {},
): Promise<MargayProcess> {
  const bundle = await bundleMargayBgpd();
  const workdir = opts.workdir ?? (await mkdtemp(join(tmpdir(), 'mgy-bgpd-')));
  const logFile = join(workdir, 'margay-bgpd.log');
  const logStart = existsSync(logFile) ? statSync(logFile).size : 0;
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile).subarray(logStart).toString('utf8') : '');
  const d = await startMargayBgpd({ ns, workdir, config: yaml, entry: bundle, logLevel: 'debug', cwd: REPO });
  const ctl = new ControlClient(d.socket);
  try {
    await waitFor('margay-bgpd control API', () => ctl.peers().then(() => true), 20_000, 50);
  } catch (err) {
    await d.kill();
    throw new Error(`margay-bgpd did not start: ${(err as Error).message}\n${log().slice(-3000)}`, { cause: err });
  }
  return {
    ns,
    workdir,
    configFile: d.configFile,
    ctl,
    pid: d.proc.pid,
    async peer(address) {
      return (await ctl.peers()).find((p) => p.address === address);
    },
    reload: (next) => d.reload(next),
    async stop() {
      return (await d.stop()) ?? undefined;
    },
    kill: () => d.kill(),
    log,
  };
}

export async function removeWorkdir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export async function readLog(file: string): Promise<string> {
  return readFile(file, 'utf8');
}
