import { InvariantError, KernelOpError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CommandRunner } from './command-runner.js';

export interface ConntrackFlow {
  readonly proto: string;
  /** Original direction. */
  readonly src: string;
  readonly dst: string;
  readonly sport?: number;
  readonly dport?: number;
  /** Reply direction (differs from the original when NAT applied). */
  readonly replySrc: string;
  readonly replyDst: string;
}

/**
 * Connection-tracking entries (conntrack-tools). When a pod or service IP goes away, flows that name
 * it in either direction are deleted so stale NAT or policy verdicts do not outlive it (Calico does
 * the same on endpoint removal).
 */
export interface ConntrackOps {
  list(filter?: { readonly family?: 4 | 6; readonly ip?: string }): Promise<ConntrackFlow[]>;
  /** Deletes flows whose original or reply source or destination is `ip`; returns how many. */
  deleteFlowsFor(ip: string): Promise<number>;
  count(): Promise<number>;
}

const ADDR = /^[0-9a-fA-F.:]+$/;

/** Parses `conntrack -L` lines (the original tuple comes first, then the reply tuple). */
export function parseConntrack(text: string): ConntrackFlow[] {
  const flows: ConntrackFlow[] = [];
  for (const line of text.split('\n')) {
    const toks = line.trim().split(/\s+/);
    if (toks.length < 4 || toks[0] === 'conntrack') continue;
    const kv = toks.filter((t) => t.includes('=')).map((t) => t.split('=') as [string, string]);
    const all = (k: string): string[] => kv.filter(([key]) => key === k).map(([, v]) => v);
    const [src, replySrc] = all('src');
    const [dst, replyDst] = all('dst');
    const [sport] = all('sport');
    const [dport] = all('dport');
    if (src === undefined || dst === undefined) continue;
    flows.push({
      proto: toks[0]!,
      src,
      dst,
      ...(sport === undefined ? {} : { sport: Number(sport) }),
      ...(dport === undefined ? {} : { dport: Number(dport) }),
      replySrc: replySrc ?? dst,
      replyDst: replyDst ?? src,
    });
  }
  return flows;
}

/** `N flow entries have been deleted.` → N (conntrack exits 1 when N is 0). */
export function parseDeletedCount(stderr: string): number | undefined {
  const m = /(\d+) flow entries have been deleted/.exec(stderr);
  return m === null ? undefined : Number(m[1]);
}

export class ConntrackToolOps implements ConntrackOps {
  constructor(
    private readonly runner: CommandRunner,
    private readonly log: Logger,
    readonly netns?: string,
  ) {}

  async list(filter: { readonly family?: 4 | 6; readonly ip?: string } = {}): Promise<ConntrackFlow[]> {
    const families = filter.family === undefined ? [4, 6] : [filter.family];
    const out: ConntrackFlow[] = [];
    for (const f of families) {
      const r = await this.runner.run(['conntrack', '-L', '-f', f === 4 ? 'ipv4' : 'ipv6'], this.#opts());
      out.push(...parseConntrack(r.stdout));
    }
    const ip = filter.ip;
    return ip === undefined ? out : out.filter((x) => [x.src, x.dst, x.replySrc, x.replyDst].includes(ip));
  }

  async deleteFlowsFor(ip: string): Promise<number> {
    if (!ADDR.test(ip)) throw new InvariantError(`conntrack: ${JSON.stringify(ip)} is not an IP address`);
    let total = 0;
    for (const flag of ['--orig-src', '--orig-dst', '--reply-src', '--reply-dst']) {
      const r = await this.runner.run(['conntrack', '-D', flag, ip], { ...this.#opts(), allowFailure: true });
      const n = parseDeletedCount(r.stderr);
      if (n === undefined || (r.exitCode !== 0 && n !== 0)) throw new KernelOpError(r.argv, r.exitCode, r.stderr);
      total += n;
    }
    if (total > 0) this.log.info({ ip, flows: total }, 'conntrack flows deleted');
    return total;
  }

  async count(): Promise<number> {
    const r = await this.runner.run(['conntrack', '-C'], this.#opts());
    return Number(r.stdout.trim());
  }

  #opts(): { netns?: string } {
    return this.netns === undefined ? {} : { netns: this.netns };
  }
}
