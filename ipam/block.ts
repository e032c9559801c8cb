import type { IPAMBlock } from '../src/model/index.js';
import { InvariantError } from '../src/errors.js';
import { bitsOf, formatAddr, formatCidr, toRange, type Range } from './addr.js';

/**
 * Pure block maths over an IPAMBlock spec (Calico's layout): `allocations[ordinal]` is an index
 * into `attributes` or null, `unallocated` lists free ordinals in the order they are handed out
 * (released ones go to the back), `sequenceNumber` grows with every change and
 * `sequenceNumberForAllocation[ordinal]` remembers it at allocation time, so a release that names
 * an older sequence number (a stale report, a late retry) cannot free the address's next owner.
 * Margay adds `releaseTimes[ordinal]` (unix ms) for the minimum reuse age.
 *
 * Every function returns a new spec; inputs are never changed.
 */
export type BlockSpec = IPAMBlock['spec'];

export interface AllocationAttrs {
  readonly handleId: string;
  /** Calico's secondary attributes: namespace, pod, node, timestamp. */
  readonly secondary: Readonly<Record<string, string>>;
}

export interface FreeOptions {
  /** Ordinals never handed out (IPReservation). */
  readonly reserved: ReadonlySet<number>;
  readonly nowMs: number;
  readonly minReuseAgeMs: number;
}

const ranges = new Map<string, Range>();

/** The block's range (memoised: block CIDRs repeat on every call). */
export function blockRange(cidr: string): Range {
  let r = ranges.get(cidr);
  if (!r) {
    r = toRange(cidr);
    if (!r) throw new InvariantError(`IPAM block CIDR ${cidr} does not parse (the model validated it)`);
    if (ranges.size > 100_000) ranges.clear();
    ranges.set(cidr, r);
  }
  return r;
}

export function blockSize(cidr: string): number {
  const r = blockRange(cidr);
  return 2 ** (bitsOf(r.family) - r.prefix);
}

export function addressOf(cidr: string, ordinal: number): string {
  const r = blockRange(cidr);
  return formatAddr(r.family, r.first + BigInt(ordinal));
}

/** The ordinal of `value` in the block, or undefined when outside it. */
export function ordinalOf(cidr: string, value: bigint): number | undefined {
  const r = blockRange(cidr);
  return value >= r.first && value <= r.last ? Number(value - r.first) : undefined;
}

/** Ordinals of the block that fall in any of the reserved ranges. */
export function reservedOrdinals(cidr: string, reservations: readonly Range[]): Set<number> {
  const b = blockRange(cidr);
  const out = new Set<number>();
  for (const r of reservations) {
    if (r.family !== b.family || r.last < b.first || r.first > b.last) continue;
    const lo = Number((r.first > b.first ? r.first : b.first) - b.first);
    const hi = Number((r.last < b.last ? r.last : b.last) - b.first);
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return out;
}

function isCooling(spec: BlockSpec, ord: number, o: FreeOptions): boolean {
  const t = spec.releaseTimes?.[ord];
  return t !== undefined && o.nowMs - t < o.minReuseAgeMs;
}

/** Free ordinals that may be handed out now, in hand-out order (at most `limit`). */
export function usableOrdinals(spec: BlockSpec, o: FreeOptions, limit = Infinity): number[] {
  const out: number[] = [];
  for (const ord of spec.unallocated) {
    if (out.length >= limit) break;
    if (!o.reserved.has(ord) && !isCooling(spec, ord, o)) out.push(ord);
  }
  return out;
}

export interface BlockCounts {
  readonly size: number;
  readonly allocated: number;
  readonly reserved: number;
  readonly cooling: number;
  readonly usable: number;
}

export function countBlock(spec: BlockSpec, o: FreeOptions): BlockCounts {
  const size = spec.allocations.length;
  let cooling = 0,
    usable = 0;
  for (const ord of spec.unallocated) {
    if (o.reserved.has(ord)) continue;
    if (isCooling(spec, ord, o)) cooling++;
    else usable++;
  }
  const allocated = spec.allocations.reduce<number>((n, a) => (a === null ? n : n + 1), 0);
  let reserved = 0;
  for (const ord of o.reserved) if (spec.allocations[ord] === null) reserved++;
  return { size, allocated, reserved, cooling, usable };
}

function sameSecondary(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>>): boolean {
  const ak = Object.keys(a ?? {}),
    bk = Object.keys(b);
  return ak.length === bk.length && bk.every((k) => a?.[k] === b[k]);
}

/** Allocates `ordinals` (which must be free) to `attrs`. */
export function allocateOrdinals(spec: BlockSpec, ordinals: readonly number[], attrs: AllocationAttrs): BlockSpec {
  const allocations = spec.allocations.slice();
  const attributes = spec.attributes.slice();
  let idx = attributes.findIndex((a) => a.handle_id === attrs.handleId && sameSecondary(a.secondary, attrs.secondary));
  if (idx < 0) {
    idx = attributes.length;
    attributes.push({ handle_id: attrs.handleId, secondary: { ...attrs.secondary } });
  }
  let seq = spec.sequenceNumber;
  const seqFor = { ...spec.sequenceNumberForAllocation };
  const taken = new Set<number>();
  const releaseTimes = { ...spec.releaseTimes };
  for (const ord of ordinals) {
    if (allocations[ord] !== null || taken.has(ord))
      throw new InvariantError(`ordinal ${ord} of ${spec.cidr} is not free`);
    allocations[ord] = idx;
    taken.add(ord);
    seq += 1;
    seqFor[String(ord)] = seq;
    delete releaseTimes[String(ord)];
  }
  const out: BlockSpec = {
    ...spec,
    allocations,
    unallocated: spec.unallocated.filter((u) => !taken.has(u)),
    attributes,
    sequenceNumber: seq,
    sequenceNumberForAllocation: seqFor,
  };
  return withReleaseTimes(out, releaseTimes);
}

export interface ReleaseItem {
  readonly ordinal: number;
  /** Free only if the allocation still carries this sequence number. */
  readonly sequenceNumber?: number;
  /** Free only if the allocation belongs to this handle. */
  readonly handleId?: string;
}

export interface ReleaseOutcome {
  readonly spec: BlockSpec;
  readonly released: number[];
  readonly skipped: { readonly ordinal: number; readonly reason: string }[];
}

/** Frees the given ordinals where their checks pass; the others are listed in `skipped` with why. */
export function releaseOrdinals(
  spec: BlockSpec,
  items: readonly ReleaseItem[],
  nowMs: number,
  minReuseAgeMs: number,
): ReleaseOutcome {
  const allocations = spec.allocations.slice();
  const seqFor = { ...spec.sequenceNumberForAllocation };
  const releaseTimes = { ...spec.releaseTimes };
  const released: number[] = [];
  const skipped: { ordinal: number; reason: string }[] = [];
  for (const it of items) {
    const a = allocations[it.ordinal];
    if (a === undefined) skipped.push({ ordinal: it.ordinal, reason: 'outside the block' });
    else if (a === null) skipped.push({ ordinal: it.ordinal, reason: 'not allocated' });
    else if (it.sequenceNumber !== undefined && seqFor[String(it.ordinal)] !== it.sequenceNumber) {
      skipped.push({
        ordinal: it.ordinal,
        reason: `re-allocated since (sequence ${seqFor[String(it.ordinal)] ?? 'unknown'}, not ${it.sequenceNumber})`,
      });
    } else if (it.handleId !== undefined && spec.attributes[a]?.handle_id !== it.handleId) {
      skipped.push({ ordinal: it.ordinal, reason: `held by handle ${spec.attributes[a]?.handle_id ?? '(none)'}` });
    } else {
      allocations[it.ordinal] = null;
      delete seqFor[String(it.ordinal)];
      if (minReuseAgeMs > 0) releaseTimes[String(it.ordinal)] = nowMs;
      released.push(it.ordinal);
    }
  }
  if (released.length === 0) return { spec, released, skipped };
  const compacted = compactAttributes(allocations, spec.attributes);
  const out: BlockSpec = {
    ...spec,
    allocations: compacted.allocations,
    attributes: compacted.attributes,
    unallocated: [...spec.unallocated, ...released],
    sequenceNumber: spec.sequenceNumber + 1,
    sequenceNumberForAllocation: seqFor,
  };
  return { spec: pruneReleaseTimes(withReleaseTimes(out, releaseTimes), nowMs, minReuseAgeMs), released, skipped };
}

/** Drops release times old enough not to matter any more. */
export function pruneReleaseTimes(spec: BlockSpec, nowMs: number, minReuseAgeMs: number): BlockSpec {
  if (!spec.releaseTimes) return spec;
  const kept: Record<string, number> = {};
  for (const [k, t] of Object.entries(spec.releaseTimes)) if (nowMs - t < minReuseAgeMs) kept[k] = t;
  return withReleaseTimes(spec, kept);
}

function withReleaseTimes(spec: BlockSpec, times: Record<string, number>): BlockSpec {
  const { releaseTimes: _old, ...rest } = spec;
  return Object.keys(times).length > 0 ? { ...rest, releaseTimes: times } : rest;
}

function compactAttributes(allocations: (number | null)[], attributes: BlockSpec['attributes']) {
  const used = new Map<number, number>();
  const out: BlockSpec['attributes'] = [];
  const next = allocations.map((a) => {
    if (a === null) return null;
    let n = used.get(a);
    if (n === undefined) {
      n = out.length;
      used.set(a, n);
      out.push(attributes[a]!);
    }
    return n;
  });
  return { allocations: next, attributes: out };
}

/** Ordinals held by `handleId`. */
export function ordinalsOfHandle(spec: BlockSpec, handleId: string): number[] {
  const idx = new Set<number>();
  spec.attributes.forEach((a, i) => {
    if (a.handle_id === handleId) idx.add(i);
  });
  const out: number[] = [];
  spec.allocations.forEach((a, ord) => {
    if (a !== null && idx.has(a)) out.push(ord);
  });
  return out;
}

export function isEmptyBlock(spec: BlockSpec): boolean {
  return spec.allocations.every((a) => a === null);
}

/** A fresh, empty block spec for `cidr` (affine to `node` when given). */
export function newBlockSpec(
  cidr: string,
  node: string | undefined,
  strictAffinity: boolean,
  claimTime: string,
): BlockSpec {
  const n = blockSize(cidr);
  return {
    cidr,
    ...(node !== undefined ? { affinity: `host:${node}`, affinityClaimTime: claimTime } : {}),
    strictAffinity,
    allocations: new Array<number | null>(n).fill(null),
    unallocated: [...Array(n).keys()],
    attributes: [],
    deleted: false,
    sequenceNumber: 0,
  };
}

/** The CIDR text of block number `index` (0-based) of `prefix` bits inside `pool`. */
export function blockCidrAt(pool: Range, blockPrefix: number, index: bigint): string {
  const shift = BigInt(bitsOf(pool.family) - blockPrefix);
  return formatCidr(pool.family, pool.first + (index << shift), blockPrefix);
}

/** Number of blocks of `blockPrefix` bits in `pool`. */
export function blockCount(pool: Range, blockPrefix: number): bigint {
  return 1n << BigInt(blockPrefix - pool.prefix);
}
