import { PrerequisiteError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CommandRunner } from './command-runner.js';

export const IPTABLES_MODES = ['nft', 'legacy'] as const;
export type IptablesMode = (typeof IPTABLES_MODES)[number];

export interface ModeEvidence {
  /** Rules (`-A` lines) the legacy and nft save tools report, v4 + v6; undefined when not installed. */
  readonly legacyRules: number | undefined;
  readonly nftRules: number | undefined;
  /** `iptables -V` output, e.g. `iptables v1.8.9 (nf_tables)`. */
  readonly versionText: string | undefined;
}

/**
 * Calico's rule: use the backend that already holds rules (kube-proxy, Docker and friends wrote them
 * with the host's iptables; mixing backends splits the ruleset in two). With rules in neither, or
 * equally many, follow what `iptables -V` says is the host's default; failing that, nft.
 */
export function chooseIptablesMode(e: ModeEvidence): { mode: IptablesMode; reason: string } {
  const legacy = e.legacyRules ?? -1;
  const nft = e.nftRules ?? -1;
  if (e.legacyRules === undefined && e.nftRules !== undefined)
    return { mode: 'nft', reason: 'only nft tools installed' };
  if (e.nftRules === undefined && e.legacyRules !== undefined)
    return { mode: 'legacy', reason: 'only legacy tools installed' };
  if (legacy > nft) return { mode: 'legacy', reason: `legacy holds more rules (${legacy} vs ${nft})` };
  if (nft > legacy) return { mode: 'nft', reason: `nft holds more rules (${nft} vs ${legacy})` };
  if (e.versionText?.includes('(legacy)')) return { mode: 'legacy', reason: 'no rules yet; iptables -V says legacy' };
  if (e.versionText?.includes('(nf_tables)'))
    return { mode: 'nft', reason: 'no rules yet; iptables -V says nf_tables' };
  return { mode: 'nft', reason: 'no rules and no default known; nft' };
}

function countRules(text: string): number {
  return text.split('\n').filter((l) => l.startsWith('-A ')).length;
}

/** The `-save` output of one mode per family (exit 0 only): what the detection read. */
export interface IptablesDumps {
  readonly 4?: string;
  readonly 6?: string;
}

/** Rules in both families for one mode (undefined when its tools are not installed), and the dumps read. */
async function rulesFor(
  runner: CommandRunner,
  mode: IptablesMode,
  netns: string | undefined,
): Promise<{ rules: number | undefined; dumps: IptablesDumps }> {
  const dumps: { 4?: string; 6?: string } = {};
  const counts = await Promise.all(
    ([4, 6] as const).map(async (family) => {
      const bin = `${family === 4 ? 'iptables' : 'ip6tables'}-${mode}-save`;
      try {
        const r = await runner.run([bin], { allowFailure: true, ...(netns === undefined ? {} : { netns }) });
        if (r.exitCode !== 0) return 0;
        dumps[family] = r.stdout;
        return countRules(r.stdout);
      } catch (err) {
        if (err instanceof PrerequisiteError) return undefined; // typed result: this backend is not installed
        throw err;
      }
    }),
  );
  return {
    rules: counts.includes(undefined) ? undefined : counts.reduce<number>((a, b) => a + b!, 0),
    dumps,
  };
}

/**
 * Which iptables backend the host (or a namespace) uses. `override` (from config) wins; otherwise
 * the evidence above decides. Logs the decision and its reason once.
 */
export async function detectIptablesMode(
  runner: CommandRunner,
  log: Logger,
  opts: { readonly netns?: string; readonly override?: IptablesMode | 'auto' } = {},
): Promise<IptablesMode> {
  return (await detectIptables(runner, log, opts)).mode;
}

/**
 * detectIptablesMode, plus the chosen backend's whole-ruleset dumps it read on the way (none with an
 * override): the agent's dataplane reads its tables once right after (kernel adapters, before it
 * writes anything), and those reads can come from here instead of two to four more process starts.
 */
export async function detectIptables(
  runner: CommandRunner,
  log: Logger,
  opts: { readonly netns?: string; readonly override?: IptablesMode | 'auto' } = {},
): Promise<{ mode: IptablesMode; dumps: IptablesDumps }> {
  if (opts.override !== undefined && opts.override !== 'auto') {
    log.info({ mode: opts.override }, 'iptables backend set by configuration');
    return { mode: opts.override, dumps: {} };
  }
  // The four dumps are independent: run concurrently (each is a process start). `iptables -V` only
  // decides a tie (a host without rules in either), so it runs only then: one process less on a
  // restart, when our own rules are in the backend chosen before.
  const [legacy, nft] = await Promise.all([
    rulesFor(runner, 'legacy', opts.netns),
    rulesFor(runner, 'nft', opts.netns),
  ]);
  const legacyRules = legacy.rules;
  const nftRules = nft.rules;
  const tie = legacyRules !== undefined && legacyRules === nftRules;
  const versionText = tie ? await iptablesVersion(runner) : undefined;
  if (legacyRules === undefined && nftRules === undefined) {
    throw new PrerequisiteError(
      'neither iptables-nft-save nor iptables-legacy-save is installed; run scripts/install-system-deps.sh',
    );
  }
  const { mode, reason } = chooseIptablesMode({ legacyRules, nftRules, versionText });
  log.info({ mode, reason, legacyRules, nftRules }, 'iptables backend detected');
  return { mode, dumps: mode === 'legacy' ? legacy.dumps : nft.dumps };
}

async function iptablesVersion(runner: CommandRunner): Promise<string | undefined> {
  try {
    const v = await runner.run(['iptables', '-V'], { allowFailure: true });
    return v.exitCode === 0 ? v.stdout : undefined;
  } catch (err) {
    if (err instanceof PrerequisiteError) return undefined; // no `iptables` wrapper: decide on rule counts
    throw err;
  }
}
