import { InvariantError } from '../errors.js';
import { isOwnedIpset, OWNERSHIP } from './ownership.js';

/**
 * ipset save parsing and restore rendering (pure). Margay's sets start with `mgy`; names starting
 * with `mgyt-` are reserved for the temporaries of an atomic replace (fill a temporary, `swap`,
 * destroy the temporary), so a set is never seen half-filled by iptables.
 */
export const IPSET_TYPES = ['hash:net', 'hash:ip', 'hash:ip,port', 'list:set'] as const;
export type IpsetType = (typeof IPSET_TYPES)[number];
export type IpsetFamily = 'inet' | 'inet6';

export interface IpsetSpec {
  readonly name: string;
  readonly type: IpsetType;
  /** Required for hash:* sets; list:set sets have none. */
  readonly family?: IpsetFamily;
  readonly maxelem?: number;
}

export interface KernelIpset extends IpsetSpec {
  readonly members: readonly string[];
}

export const TEMP_PREFIX = `${OWNERSHIP.ipsetPrefix}t-`;
const NAME = /^[A-Za-z0-9_.:-]{1,31}$/;
const MEMBER = /^[0-9A-Za-z.:/,_-]{1,80}$/;

export function validateIpsetName(name: string): string {
  if (!NAME.test(name))
    throw new InvariantError(`ipset name ${JSON.stringify(name)} is not valid (1-31 chars of [A-Za-z0-9_.:-])`);
  return name;
}

function validateMember(set: string, m: string): string {
  if (!MEMBER.test(m)) throw new InvariantError(`ipset ${set}: member ${JSON.stringify(m)} is not valid`);
  return m;
}

/** The temporary used to replace `name` atomically. */
export function tempIpsetName(name: string): string {
  if (!isOwnedIpset(name) || name.startsWith(TEMP_PREFIX)) {
    throw new InvariantError(
      `ipset ${JSON.stringify(name)}: not a Margay set name (or a reserved ${TEMP_PREFIX} temporary)`,
    );
  }
  return validateIpsetName(`${TEMP_PREFIX}${name.slice(OWNERSHIP.ipsetPrefix.length)}`.slice(0, 31));
}

/** Parses `ipset save` / `ipset list -o save` into sets with their members. */
export function parseIpsetSave(text: string): KernelIpset[] {
  const sets = new Map<string, { spec: IpsetSpec; members: string[] }>();
  text.split('\n').forEach((raw, i) => {
    const t = raw.trim().split(/\s+/);
    if (t[0] === 'create' && t[1] !== undefined && t[2] !== undefined) {
      const opt = (k: string): string | undefined => {
        const j = t.indexOf(k, 3);
        return j >= 0 ? t[j + 1] : undefined;
      };
      const family = opt('family');
      const maxelem = opt('maxelem');
      const spec: IpsetSpec = {
        name: t[1],
        type: t[2] as IpsetType,
        ...(family === 'inet' || family === 'inet6' ? { family } : {}),
        ...(maxelem === undefined ? {} : { maxelem: Number(maxelem) }),
      };
      sets.set(t[1], { spec, members: [] });
    } else if (t[0] === 'add' && t[1] !== undefined && t[2] !== undefined) {
      const s = sets.get(t[1]);
      if (s === undefined) throw new InvariantError(`ipset save line ${i + 1}: add to undeclared set ${t[1]}`);
      s.members.push(t[2]);
    }
  });
  return [...sets.values()].map((s) => ({ ...s.spec, members: s.members }));
}

export function renderCreate(spec: IpsetSpec): string {
  const parts = ['create', validateIpsetName(spec.name), spec.type];
  if (spec.type === 'list:set') {
    if (spec.family !== undefined) throw new InvariantError(`ipset ${spec.name}: list:set takes no family`);
  } else {
    if (spec.family === undefined) throw new InvariantError(`ipset ${spec.name}: ${spec.type} needs a family`);
    parts.push('family', spec.family);
  }
  if (spec.maxelem !== undefined)
    parts.push(spec.type === 'list:set' ? 'size' : 'maxelem', String(Math.trunc(spec.maxelem)));
  return parts.join(' ');
}

export function renderAdd(set: string, member: string): string {
  return `add ${validateIpsetName(set)} ${validateMember(set, member)}`;
}

export function renderDel(set: string, member: string): string {
  return `del ${validateIpsetName(set)} ${validateMember(set, member)}`;
}

export function renderFlush(set: string): string {
  return `flush ${validateIpsetName(set)}`;
}

export function renderSwap(a: string, b: string): string {
  return `swap ${validateIpsetName(a)} ${validateIpsetName(b)}`;
}

export function renderDestroy(set: string): string {
  return `destroy ${validateIpsetName(set)}`;
}

/** Restore lines that make `spec` hold exactly `members`, atomically (temporary + swap). */
export function renderReplaceSet(spec: IpsetSpec, members: readonly string[]): string[] {
  const tmp = tempIpsetName(spec.name);
  return [
    renderCreate({ ...spec, name: tmp }),
    renderFlush(tmp),
    ...members.map((m) => renderAdd(tmp, m)),
    renderCreate(spec),
    renderSwap(tmp, spec.name),
    renderDestroy(tmp),
  ];
}

/** Refuses restore input naming any set that is not ours, or commands that act on all sets. */
export function assertOwnedIpsetLines(lines: readonly string[]): void {
  lines.forEach((line, i) => {
    const t = line.trim().split(/\s+/);
    const where = `ipset restore line ${i + 1} ${JSON.stringify(line)}`;
    if (t[0] === '' || t[0]?.startsWith('#')) return;
    if (!['create', 'add', 'del', 'flush', 'swap', 'destroy', 'test'].includes(t[0] ?? '')) {
      throw new InvariantError(`${where}: command not allowed`);
    }
    const names = t[0] === 'swap' ? [t[1], t[2]] : [t[1]];
    for (const n of names) {
      if (n === undefined || !isOwnedIpset(n)) throw new InvariantError(`${where}: names a set Margay does not own`);
    }
  });
}
