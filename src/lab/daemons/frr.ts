import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { LabProcessError } from '../errors.js';
import { launchForking, logTail, type ProcessRecord } from '../processes.js';
import { makeWorkdir, stopRecords, type DaemonHandle, type DaemonOptions } from './common.js';

/** FRR bgpd (optionally with zebra), everything in a private work dir (vty sockets included). */
export interface FrrHandle extends DaemonHandle {
  readonly kind: 'frr';
  readonly records: readonly ProcessRecord[];
  /** Runs one vtysh command against bgpd (about 50 ms per call). */
  vtysh(command: string, daemon?: 'bgpd' | 'zebra'): Promise<string>;
  vtyshJson<T = unknown>(command: string): Promise<T>;
  /** `show bgp <afi> unicast summary json` peers map. */
  peers(
    afi?: 'ipv4' | 'ipv6',
  ): Promise<Record<string, { state: string; pfxRcd?: number; pfxSnt?: number; remoteAs: number }>>;
}

export interface FrrOptions extends DaemonOptions {
  /** Run zebra too (needed to install routes into the namespace's kernel, and for benchmarks). */
  readonly zebra?: boolean;
  /** Start bgpd with -n: never install into the kernel (benchmarks). */
  readonly noKernel?: boolean;
}

export async function startFrr(ns: string, bgpdConfig: string, opts: FrrOptions = {}): Promise<FrrHandle> {
  const { dir: workdir, owned } = await makeWorkdir('frr', opts);
  const conf = join(workdir, 'bgpd.conf');
  const logFile = join(workdir, 'bgpd.log');
  const zserv = join(workdir, 'zserv.api');
  await writeFile(conf, `log file ${logFile}\n${bgpdConfig}\n`);
  const records: ProcessRecord[] = [];
  try {
    if (opts.zebra) {
      const zconf = join(workdir, 'zebra.conf');
      const zlog = join(workdir, 'zebra.log');
      await writeFile(zconf, `log file ${zlog}\n`);
      const zpid = join(workdir, 'zebra.pid');
      const zebra = await launchForking('zebra', zpid, ns, zlog, async () => {
        const z = await execa(
          'ip',
          [
            'netns',
            'exec',
            ns,
            '/usr/lib/frr/zebra',
            '-d',
            '-P',
            '0',
            '-f',
            zconf,
            '-i',
            zpid,
            '--vty_socket',
            workdir,
            '-z',
            zserv,
          ],
          { reject: false },
        );
        if (z.exitCode !== 0)
          throw new LabProcessError('zebra', `failed to start (exit ${z.exitCode}): ${z.stderr}`, await logTail(zlog));
      });
      records.push(zebra);
    }
    const pidFile = join(workdir, 'bgpd.pid');
    const args = ['-d', '-S', '-P', '0', '-f', conf, '-i', pidFile, '--vty_socket', workdir, '-z', zserv];
    if (!opts.zebra) args.unshift('-Z');
    if (opts.noKernel) args.unshift('-n');
    const bgpd = await launchForking('bgpd', pidFile, ns, logFile, async () => {
      const r = await execa('ip', ['netns', 'exec', ns, '/usr/lib/frr/bgpd', ...args], { reject: false });
      if (r.exitCode !== 0)
        throw new LabProcessError('bgpd', `failed to start (exit ${r.exitCode}): ${r.stderr}`, await logTail(logFile));
    });
    records.push(bgpd);
  } catch (err) {
    await stopRecords(records, 'SIGKILL', workdir, owned);
    throw err;
  }
  const vtysh = async (command: string, daemon: 'bgpd' | 'zebra' = 'bgpd'): Promise<string> => {
    const out = await execa('vtysh', ['--vty_socket', workdir, '-d', daemon, '-c', command], { reject: false });
    if (out.exitCode !== 0) throw new LabProcessError('vtysh', `-c '${command}' failed: ${out.stderr || out.stdout}`);
    return out.stdout;
  };
  const vtyshJson = async <T>(command: string): Promise<T> => JSON.parse(await vtysh(command)) as T;
  return {
    kind: 'frr',
    ns,
    workdir,
    records,
    vtysh,
    vtyshJson,
    async peers(afi = 'ipv4') {
      const j = await vtyshJson<{
        peers?: Record<string, { state: string; pfxRcd?: number; pfxSnt?: number; remoteAs: number }>;
      }>(`show bgp ${afi} unicast summary json`);
      return j.peers ?? {};
    },
    async pids() {
      return records.map((r) => r.pid);
    },
    async log() {
      return readFile(logFile, 'utf8').catch(() => '');
    },
    stop(o = {}) {
      return stopRecords([...records].reverse(), o.signal ?? 'SIGKILL', workdir, owned);
    },
  };
}
