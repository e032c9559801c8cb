#!/usr/bin/env node
/**
 * `margay-install-cni`: puts the plugin where the container runtime looks for it and writes the
 * network configuration list, as Calico's install-cni does (run by the DaemonSet's init container,
 * deploy/cni-install.yaml, or by hand):
 *
 *   margay-install-cni [--bin-dir DIR] [--conf-dir DIR] [--conf-name NAME] [--source FILE]
 *                      [--mtu N] [--agent-socket PATH] [--no-chain] [--cni-version V]
 *
 * Environment equivalents: CNI_BIN_DIR (/opt/cni/bin), CNI_NET_DIR (/etc/cni/net.d),
 * CNI_CONF_NAME (10-margay.conflist). Both files are written atomically (a temp file in the target
 * directory, fsync, rename) and only when their content changes, so a re-run is a no-op and a
 * runtime never reads half a file.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../src/errors.js';

export interface InstallOptions {
  readonly binDir: string;
  readonly confDir: string;
  readonly confName: string;
  /** The plugin to install (the compiled forwarder beside this file by default). */
  readonly source: string;
  readonly cniVersion: string;
  readonly mtu?: number;
  readonly agentSocket?: string;
  /** Chain portmap and bandwidth after margay (Calico's default list). */
  readonly chain: boolean;
}

export function renderConflist(o: Pick<InstallOptions, 'cniVersion' | 'mtu' | 'agentSocket' | 'chain'>): string {
  const margay: Record<string, unknown> = { type: 'margay', ipam: { type: 'margay-ipam' } };
  if (o.mtu !== undefined) margay.mtu = o.mtu;
  if (o.agentSocket !== undefined) margay.agentSocket = o.agentSocket;
  const plugins: Record<string, unknown>[] = [margay];
  if (o.chain) {
    plugins.push({ type: 'portmap', snat: true, capabilities: { portMappings: true } });
    plugins.push({ type: 'bandwidth', capabilities: { bandwidth: true } });
  }
  return `${JSON.stringify({ name: 'k8s-pod-network', cniVersion: o.cniVersion, plugins }, null, 2)}\n`;
}

/** Writes `content` to `path` atomically unless it already holds exactly that. True when written. */
export async function writeAtomic(path: string, content: Buffer, mode: number): Promise<boolean> {
  const current = await readFile(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (current?.equals(content)) return false;
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'w', mode);
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return true;
}

export async function installCni(o: InstallOptions): Promise<{ plugin: boolean; conflist: boolean }> {
  const plugin = await writeAtomic(join(o.binDir, 'margay'), await readFile(o.source), 0o755);
  const conflist = await writeAtomic(join(o.confDir, o.confName), Buffer.from(renderConflist(o)), 0o644);
  return { plugin, conflist };
}

function optionsFrom(argv: readonly string[], env: NodeJS.ProcessEnv): InstallOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'bin-dir': { type: 'string' },
      'conf-dir': { type: 'string' },
      'conf-name': { type: 'string' },
      source: { type: 'string' },
      mtu: { type: 'string' },
      'agent-socket': { type: 'string' },
      'no-chain': { type: 'boolean' },
      'cni-version': { type: 'string' },
    },
    strict: true,
  });
  const mtu = values.mtu === undefined ? undefined : Number(values.mtu);
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 68 || mtu > 65_535))
    throw new ConfigError('margay-install-cni', `--mtu ${values.mtu}: must be an integer from 68 to 65535`);
  const cniVersion = values['cni-version'] ?? '1.0.0';
  if (!['0.3.1', '0.4.0', '1.0.0', '1.1.0'].includes(cniVersion))
    throw new ConfigError('margay-install-cni', `--cni-version ${cniVersion}: must be 0.3.1, 0.4.0, 1.0.0 or 1.1.0`);
  const confName = values['conf-name'] ?? env.CNI_CONF_NAME ?? '10-margay.conflist';
  if (!/^[A-Za-z0-9_.-]+\.conflist$/.test(confName))
    throw new ConfigError(
      'margay-install-cni',
      `conf name ${JSON.stringify(confName)} must be a file name ending in .conflist`,
    );
  return {
    binDir: values['bin-dir'] ?? env.CNI_BIN_DIR ?? '/opt/cni/bin',
    confDir: values['conf-dir'] ?? env.CNI_NET_DIR ?? '/etc/cni/net.d',
    confName,
    source: values.source ?? new URL('./margay', import.meta.url).pathname,
    cniVersion,
    chain: values['no-chain'] !== true,
    ...(mtu !== undefined ? { mtu } : {}),
    ...(values['agent-socket'] !== undefined ? { agentSocket: values['agent-socket'] } : {}),
  };
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  try {
    const o = optionsFrom(process.argv.slice(2), process.env);
    const r = await installCni(o);
    process.stdout.write(
      `margay-install-cni: ${join(o.binDir, 'margay')} ${r.plugin ? 'installed' : 'unchanged'}, ` +
        `${join(o.confDir, o.confName)} ${r.conflist ? 'written' : 'unchanged'}\n`,
    );
  } catch (err) {
    process.stderr.write(`margay-install-cni: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
