import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { LabProcessError } from '../errors.js';
import { launchForking, logTail } from '../processes.js';
import type { ProcessRecord } from '../processes.js';
import { makeWorkdir, stopRecords, type DaemonHandle, type DaemonOptions } from './common.js';

/** BIRD 2, started with its config, control socket, pid file and log in a private work dir. */
export interface BirdHandle extends DaemonHandle {
  readonly kind: 'bird';
  readonly records: readonly ProcessRecord[];
  /** Runs a birdc command and returns its output (without the "BIRD x.y ready." banner). */
  birdc(...args: string[]): Promise<string>;
  /** Parsed `show protocols`: name → { proto, state, info }. */
  protocols(): Promise<Map<string, { proto: string; state: string; info: string }>>;
  /** Number of routes in the table (`show route count`: walks the table, slow on big tables). */
  routeCount(protocol?: string): Promise<number>;
  /** Routes a BGP protocol has imported (`show protocols all NAME`: O(1), fine to poll). */
  importedCount(protocol: string): Promise<number>;
  /** Rewrites the config file and re-reads it. */
  reconfigure(config: string): Promise<void>;
}

export async function startBird(ns: string, config: string, opts: DaemonOptions = {}): Promise<BirdHandle> {
  const { dir: workdir, owned } = await makeWorkdir('bird', opts);
  const conf = join(workdir, 'bird.conf');
  const ctl = join(workdir, 'bird.ctl');
  const pidFile = join(workdir, 'bird.pid');
  const logFile = join(workdir, 'bird.log');
  await writeFile(conf, `log "${logFile}" all;\n${config}\n`);
  const rec = await launchForking('bird', pidFile, ns, logFile, async () => {
    const r = await execa('ip', ['netns', 'exec', ns, 'bird', '-c', conf, '-s', ctl, '-P', pidFile], { reject: false });
    if (r.exitCode !== 0)
      throw new LabProcessError('bird', `failed to start (exit ${r.exitCode}): ${r.stderr}`, await logTail(logFile));
  });
  const birdc = async (...args: string[]): Promise<string> => {
    const out = await execa('birdc', ['-s', ctl, ...args], { reject: false });
    if (out.exitCode !== 0) throw new LabProcessError('birdc', `${args.join(' ')} failed: ${out.stderr || out.stdout}`);
    return out.stdout.replace(/^BIRD [\d.]+ ready\.\n?/, '');
  };
  return {
    kind: 'bird',
    ns,
    workdir,
    records: [rec],
    birdc,
    async pids() {
      return [rec.pid];
    },
    async protocols() {
      const out = await birdc('show', 'protocols');
      const m = new Map<string, { proto: string; state: string; info: string }>();
      for (const line of out.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length < 4) continue;
        m.set(f[0]!, { proto: f[1]!, state: f[3]!, info: f.slice(5).join(' ') });
      }
      return m;
    },
    async routeCount(protocol?: string) {
      const out = await birdc('show', 'route', ...(protocol ? ['protocol', protocol] : []), 'count');
      const m = /(\d+) of (\d+) routes/.exec(out);
      if (!m) throw new LabProcessError('birdc', `unexpected route count output: ${out}`);
      return Number(m[1]);
    },
    async importedCount(protocol: string) {
      const out = await birdc('show', 'protocols', 'all', protocol);
      const m = /Routes:\s+(\d+) imported/.exec(out);
      return m ? Number(m[1]) : 0;
    },
    async reconfigure(newConfig: string) {
      await writeFile(conf, `log "${logFile}" all;\n${newConfig}\n`);
      await birdc('configure');
    },
    async log() {
      return readFile(logFile, 'utf8').catch(() => '');
    },
    stop(o = {}) {
      return stopRecords([rec], o.signal ?? 'SIGKILL', workdir, owned);
    },
  };
}
