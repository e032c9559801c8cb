/**
 * The default IP pools margay-node creates when the datastore has none, from settings named like
 * calico-node's CALICO_IPV4POOL_* (MARGAY_IPV4POOL_CIDR, _BLOCK_SIZE, _NAT_OUTGOING and the IPv6
 * equivalents, MARGAY_NO_DEFAULT_POOLS). Defaults as Calico's: 192.168.0.0/16, /26 blocks, NAT
 * outgoing on; IPv6 only when a CIDR is given (/122 blocks, NAT outgoing off).
 */
import { BLOCK_SIZE_RANGE, DEFAULT_BLOCK_SIZE } from '../model/index.js';
import { parseCidr } from '../model/index.js';
import { familyIs } from './ip-autodetection.js';

/** A per-family table keyed 4/6 or ipv4/ipv6 (src/model spells it either way across versions). */
function rangeOf<T>(table: object, family: 4 | 6): T {
  const t = table as Record<string, T>;
  return (t[String(family)] ?? t[`ipv${family}`])!;
}

export interface DefaultPool {
  readonly name: string;
  readonly cidr: string;
  readonly blockSize: number;
  readonly natOutgoing: boolean;
}

export interface DefaultPools {
  readonly v4: DefaultPool | undefined;
  readonly v6: DefaultPool | undefined;
}

export const POOL_SETTINGS = {
  'ipv4pool-cidr': {
    env: 'MARGAY_IPV4POOL_CIDR',
    def: '192.168.0.0/16',
    help: 'default IPv4 pool, created when no IPPool exists',
  },
  'ipv4pool-block-size': {
    env: 'MARGAY_IPV4POOL_BLOCK_SIZE',
    def: '26',
    help: `its block prefix length ${rangeOf<readonly number[]>(BLOCK_SIZE_RANGE, 4).join('..')}`,
  },
  'ipv4pool-nat-outgoing': {
    env: 'MARGAY_IPV4POOL_NAT_OUTGOING',
    def: 'true',
    help: 'masquerade traffic leaving the pool (true|false)',
  },
  'ipv6pool-cidr': { env: 'MARGAY_IPV6POOL_CIDR', def: undefined, help: 'default IPv6 pool (none unless set)' },
  'ipv6pool-block-size': {
    env: 'MARGAY_IPV6POOL_BLOCK_SIZE',
    def: '122',
    help: `its block prefix length ${rangeOf<readonly number[]>(BLOCK_SIZE_RANGE, 6).join('..')}`,
  },
  'ipv6pool-nat-outgoing': {
    env: 'MARGAY_IPV6POOL_NAT_OUTGOING',
    def: 'false',
    help: 'masquerade IPv6 traffic leaving the pool (true|false)',
  },
  'no-default-pools': { env: 'MARGAY_NO_DEFAULT_POOLS', def: 'false', help: 'true: never create default pools' },
} as const;

type PoolSettingName = keyof typeof POOL_SETTINGS;
type Fail = (name: PoolSettingName, message: string) => never;

function bool(raw: Readonly<Record<string, string>>, name: PoolSettingName, fail: Fail): boolean {
  const v = raw[name]!.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  return fail(name, `must be true or false, got ${JSON.stringify(raw[name])}`);
}

function pool(raw: Readonly<Record<string, string>>, family: 4 | 6, fail: Fail): DefaultPool | undefined {
  const p = family === 4 ? 'ipv4pool' : 'ipv6pool';
  const cidrName = `${p}-cidr` as PoolSettingName;
  const sizeName = `${p}-block-size` as PoolSettingName;
  const text = raw[cidrName];
  if (text === undefined) return undefined;
  const c = parseCidr(text);
  if (!c || !familyIs(c.family, family)) fail(cidrName, `must be an IPv${family} CIDR, got ${JSON.stringify(text)}`);
  if (c.address !== c.network) fail(cidrName, `${text} has host bits set; use ${c.cidr}`);
  const [min, max] = rangeOf(BLOCK_SIZE_RANGE, family) as readonly [number, number];
  const sizeText = raw[sizeName] ?? String(rangeOf(DEFAULT_BLOCK_SIZE, family));
  const blockSize = /^\d+$/.test(sizeText) ? Number(sizeText) : Number.NaN;
  if (!(blockSize >= min && blockSize <= max))
    fail(sizeName, `must be a whole number in ${min}..${max}, got ${JSON.stringify(sizeText)}`);
  if (c.prefix > blockSize)
    fail(cidrName, `${c.cidr} is smaller than one /${blockSize} block; use a prefix of /${blockSize} or shorter`);
  return Object.freeze({
    name: `default-ipv${family}-ippool`,
    cidr: c.cidr,
    blockSize,
    natOutgoing: bool(raw, `${p}-nat-outgoing` as PoolSettingName, fail),
  });
}

export function loadDefaultPools(raw: Readonly<Record<string, string>>, fail: Fail): DefaultPools {
  if (bool(raw, 'no-default-pools', fail)) return Object.freeze({ v4: undefined, v6: undefined });
  return Object.freeze({ v4: pool(raw, 4, fail), v6: pool(raw, 6, fail) });
}
