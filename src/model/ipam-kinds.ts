import * as v from 'valibot';
import { lazy } from './lazy.js';
import { MARGAY_API_VERSION } from './kinds.js';
import { Cidr, CidrKeepingHostBits, DnsSubdomain, Net, SelectorString } from './fields.js';
import { ObjectMetaSchema } from './metadata.js';
import { ipVersionOf } from '../net/index.js';
import { BLOCK_SIZE_RANGE, DEFAULT_BLOCK_SIZE } from './ipam-names.js';
import { addressCount, cidrContains, parseCidr } from './net.js';
import { boundedArray, int, record, refined, strictObject } from './schema.js';

// Schema-free helpers live in ipam-names.ts (importing them must not load valibot: docs/startup.md).
export {
  BLOCK_SIZE_RANGE,
  DEFAULT_BLOCK_SIZE,
  blockAffinityName,
  ipamBlockName,
  ipamHandleName,
  poolOverlapProblem,
} from './ipam-names.js';

/**
 * margay.dev/v1 IPAM kinds with Calico v3 field names and defaults: IPPool, IPAMBlock,
 * BlockAffinity, IPAMConfiguration, IPAMHandle, IPReservation. Specs are strict: an unknown field is an error (a typo must
 * not silently change behaviour).
 */

const EncapMode = lazy(() => v.picklist(['Never', 'Always', 'CrossSubnet']));
/** The link-local range of a family, parsed on first use (an IPv4 manifest never parses the IPv6 one). */
const LINK_LOCAL = {
  ipv4: lazy(() => parseCidr('169.254.0.0/16')!),
  ipv6: lazy(() => parseCidr('fe80::/10')!),
};

const IPPoolSpec = lazy(() =>
  v.pipe(
    refined(
      strictObject({
        cidr: CidrKeepingHostBits(),
        blockSize: v.optional(int()),
        ipipMode: v.optional(EncapMode(), 'Never'),
        vxlanMode: v.optional(EncapMode(), 'Never'),
        natOutgoing: v.optional(v.boolean(), false),
        disabled: v.optional(v.boolean(), false),
        disableBGPExport: v.optional(v.boolean(), false),
        nodeSelector: v.optional(SelectorString(), 'all()'),
        allowedUses: v.optional(v.pipe(v.array(v.picklist(['Workload', 'Tunnel'])), v.minLength(1))),
      }),
      (s, add) => {
        const c = parseCidr(s.cidr)!;
        if (c.address !== c.network) {
          add(['cidr'], `${s.cidr} has host bits set; use ${c.cidr}`);
          return;
        }
        const linkLocal = LINK_LOCAL[c.family]();
        if (cidrContains(linkLocal, c) || cidrContains(c, linkLocal)) {
          add(['cidr'], `${s.cidr} overlaps the link-local range`);
        }
        const [min, max] = BLOCK_SIZE_RANGE[c.family];
        const bs = s.blockSize ?? DEFAULT_BLOCK_SIZE[c.family];
        if (bs < min || bs > max) {
          add(['blockSize'], `${bs} is out of range for an IPv${ipVersionOf(c.family)} pool (${min}..${max})`);
        } else if (c.prefix > bs && !s.disabled) {
          add(['cidr'], `${s.cidr} is smaller than one block (/${bs}); use a prefix of /${bs} or shorter`);
        }
        if (c.family === 'ipv6' && s.ipipMode !== 'Never') {
          add(['ipipMode'], 'IPIP is IPv4 only; must be Never for an IPv6 pool');
        }
        if (s.ipipMode !== 'Never' && s.vxlanMode !== 'Never') {
          add(['vxlanMode'], 'ipipMode and vxlanMode cannot both be enabled');
        }
      },
    ),
    v.transform((s) => ({
      ...s,
      blockSize: s.blockSize ?? DEFAULT_BLOCK_SIZE[parseCidr(s.cidr)!.family],
      allowedUses: s.allowedUses ?? (['Workload', 'Tunnel'] as ('Workload' | 'Tunnel')[]),
    })),
  ),
);

export const IPPoolSchema = lazy(() =>
  strictObject({
    apiVersion: v.literal(MARGAY_API_VERSION),
    kind: v.literal('IPPool'),
    metadata: ObjectMetaSchema(),
    spec: IPPoolSpec(),
  }),
);

const AllocationAttribute = lazy(() =>
  strictObject({
    handle_id: v.optional(v.string()),
    secondary: v.optional(record(v.string(), v.string())),
  }),
);

const Ordinal = lazy(() => int(0));

const IPAMBlockSpec = lazy(() =>
  v.pipe(
    refined(
      strictObject({
        cidr: CidrKeepingHostBits(),
        affinity: v.optional(v.pipe(v.string(), v.regex(/^(host|virtual):.+$/, 'must be "host:<node name>"'))),
        affinityClaimTime: v.optional(v.string()),
        strictAffinity: v.optional(v.boolean(), false),
        allocations: v.optional(v.array(v.nullable(Ordinal()))),
        unallocated: v.optional(v.array(Ordinal())),
        attributes: v.optional(v.array(AllocationAttribute()), () => []),
        deleted: v.optional(v.boolean(), false),
        sequenceNumber: v.optional(int(0), 0),
        sequenceNumberForAllocation: v.optional(record(v.string(), int(0))),
        // Margay: when each free ordinal was last released (unix ms), so it is not handed out again
        // before IPAMConfiguration.minReuseAgeSeconds has passed. Entries older than that are dropped.
        releaseTimes: v.optional(
          record(v.pipe(v.string(), v.regex(/^(0|[1-9][0-9]*)$/, 'must be an ordinal')), int(0)),
        ),
      }),
      (s, add) => {
        const c = parseCidr(s.cidr)!;
        if (c.address !== c.network) {
          add(['cidr'], `${s.cidr} has host bits set; use ${c.cidr}`);
          return;
        }
        const size = addressCount(c.family, c.prefix);
        if (size > 4096n) {
          add(['cidr'], `a block of ${size} addresses is too large (at most 4096: /20 for IPv4, /116 for IPv6)`);
          return;
        }
        const n = Number(size);
        if (s.allocations && s.allocations.length !== n) {
          add(['allocations'], `must have one entry per address in ${s.cidr} (${n}), has ${s.allocations.length}`);
          return;
        }
        s.allocations?.forEach((a, i) => {
          if (a !== null && a >= s.attributes.length) {
            add(['allocations', i], `attribute index ${a} is beyond attributes (${s.attributes.length})`);
          }
        });
        const seen = new Set<number>();
        s.unallocated?.forEach((u, i) => {
          if (u >= n) add(['unallocated', i], `ordinal ${u} is outside the block (0..${n - 1})`);
          else if (seen.has(u)) add(['unallocated', i], `ordinal ${u} is listed twice`);
          else if (s.allocations && s.allocations[u] !== null) add(['unallocated', i], `ordinal ${u} is allocated`);
          seen.add(u);
        });
      },
    ),
    v.transform((s) => {
      const c = parseCidr(s.cidr)!;
      const n = Number(addressCount(c.family, c.prefix));
      // A new block: everything free. Omitted unallocated: every free ordinal, in order.
      const allocations = s.allocations ?? new Array<number | null>(n).fill(null);
      const unallocated = s.unallocated ?? [...allocations.keys()].filter((i) => allocations[i] === null);
      return { ...s, allocations, unallocated };
    }),
  ),
);

export const IPAMBlockSchema = lazy(() =>
  strictObject({
    apiVersion: v.literal(MARGAY_API_VERSION),
    kind: v.literal('IPAMBlock'),
    metadata: ObjectMetaSchema(),
    spec: IPAMBlockSpec(),
  }),
);

const BlockAffinitySpec = lazy(() =>
  strictObject({
    state: v.picklist(['pending', 'confirmed', 'pendingDeletion']),
    node: DnsSubdomain(),
    cidr: Cidr(),
    type: v.optional(v.picklist(['host', 'virtual'])),
    // Calico stores this as the string "true"/"false"; accept both spellings, keep a boolean.
    deleted: v.pipe(
      v.optional(v.union([v.boolean(), v.picklist(['true', 'false'])], 'must be true or false'), false),
      v.transform((d) => d === true || d === 'true'),
    ),
  }),
);

export const BlockAffinitySchema = lazy(() =>
  strictObject({
    apiVersion: v.literal(MARGAY_API_VERSION),
    kind: v.literal('BlockAffinity'),
    metadata: ObjectMetaSchema(),
    spec: BlockAffinitySpec(),
  }),
);

const IPAMConfigurationSpec = lazy(() =>
  strictObject({
    strictAffinity: v.optional(v.boolean(), false),
    maxBlocksPerHost: v.optional(int(0), 0),
    autoAllocateBlocks: v.optional(v.boolean(), true),
    // Margay: a released address is not handed out again for this long (late packets, stale conntrack).
    minReuseAgeSeconds: v.optional(int(0, 86_400), 10),
  }),
);

export const IPAMConfigurationSchema = lazy(() =>
  strictObject({
    apiVersion: v.literal(MARGAY_API_VERSION),
    kind: v.literal('IPAMConfiguration'),
    metadata: refined(ObjectMetaSchema(), (m, add) => {
      if (m.name !== 'default') add(['name'], 'an IPAMConfiguration must be named "default"');
    }),
    spec: v.optional(IPAMConfigurationSpec(), () => ({})),
  }),
);

const IPAMHandleSpec = lazy(() =>
  strictObject({
    handleID: v.pipe(v.string(), v.minLength(1), v.maxLength(1024)),
    /** Block CIDR → number of addresses this handle holds there. */
    block: v.optional(record(v.string(), int(0)), () => ({})),
    deleted: v.optional(v.boolean(), false),
    // Margay: the CNI network and container id the handle was made from (`<network>.<containerId>`
    // cannot be split back unambiguously: both may contain dots). CNI GC matches on these.
    network: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(256))),
    containerID: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(512))),
  }),
);

export const IPAMHandleSchema = lazy(() =>
  strictObject({
    apiVersion: v.literal(MARGAY_API_VERSION),
    kind: v.literal('IPAMHandle'),
    metadata: ObjectMetaSchema(),
    spec: IPAMHandleSpec(),
  }),
);

const IPReservationSpec = lazy(() =>
  strictObject({
    /** Addresses (bare IP or CIDR) IPAM never hands out. */
    reservedCIDRs: v.optional(boundedArray(Net(), 10_000), () => []),
  }),
);

export const IPReservationSchema = lazy(() =>
  strictObject({
    apiVersion: v.literal(MARGAY_API_VERSION),
    kind: v.literal('IPReservation'),
    metadata: ObjectMetaSchema(),
    spec: IPReservationSpec(),
  }),
);
