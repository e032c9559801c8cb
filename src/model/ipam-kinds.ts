import { z } from 'zod';
import { lazy } from './lazy.js';
import { MARGAY_API_VERSION } from './kinds.js';
import { Cidr, CidrKeepingHostBits, DnsSubdomain, Net, SelectorString } from './fields.js';
import { ObjectMetaSchema } from './metadata.js';
import { ipVersionOf } from '../net/index.js';
import { BLOCK_SIZE_RANGE, DEFAULT_BLOCK_SIZE } from './ipam-names.js';
import { addressCount, cidrContains, parseCidr } from './net.js';

// Zod-free helpers live in ipam-names.ts (importing them must not load zod: docs/startup.md).
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

const EncapMode = lazy(() => z.enum(['Never', 'Always', 'CrossSubnet']));
const LINK_LOCAL_V4 = parseCidr('169.254.0.0/16')!;
const LINK_LOCAL_V6 = parseCidr('fe80::/10')!;

const IPPoolSpec = lazy(() =>
  z
    .strictObject({
      cidr: CidrKeepingHostBits(),
      blockSize: z.number().int().optional(),
      ipipMode: EncapMode().default('Never'),
      vxlanMode: EncapMode().default('Never'),
      natOutgoing: z.boolean().default(false),
      disabled: z.boolean().default(false),
      disableBGPExport: z.boolean().default(false),
      nodeSelector: SelectorString().default('all()'),
      allowedUses: z
        .array(z.enum(['Workload', 'Tunnel']))
        .min(1)
        .optional(),
    })
    .superRefine((s, ctx) => {
      const c = parseCidr(s.cidr)!;
      if (c.address !== c.network) {
        ctx.addIssue({ code: 'custom', path: ['cidr'], message: `${s.cidr} has host bits set; use ${c.cidr}` });
        return;
      }
      if (
        cidrContains(c.family === 'ipv4' ? LINK_LOCAL_V4 : LINK_LOCAL_V6, c) ||
        cidrContains(c, c.family === 'ipv4' ? LINK_LOCAL_V4 : LINK_LOCAL_V6)
      ) {
        ctx.addIssue({ code: 'custom', path: ['cidr'], message: `${s.cidr} overlaps the link-local range` });
      }
      const [min, max] = BLOCK_SIZE_RANGE[c.family];
      const bs = s.blockSize ?? DEFAULT_BLOCK_SIZE[c.family];
      if (bs < min || bs > max) {
        ctx.addIssue({
          code: 'custom',
          path: ['blockSize'],
          message: `${bs} is out of range for an IPv${ipVersionOf(c.family)} pool (${min}..${max})`,
        });
      } else if (c.prefix > bs && !s.disabled) {
        ctx.addIssue({
          code: 'custom',
          path: ['cidr'],
          message: `${s.cidr} is smaller than one block (/${bs}); use a prefix of /${bs} or shorter`,
        });
      }
      if (c.family === 'ipv6' && s.ipipMode !== 'Never') {
        ctx.addIssue({
          code: 'custom',
          path: ['ipipMode'],
          message: 'IPIP is IPv4 only; must be Never for an IPv6 pool',
        });
      }
      if (s.ipipMode !== 'Never' && s.vxlanMode !== 'Never') {
        ctx.addIssue({ code: 'custom', path: ['vxlanMode'], message: 'ipipMode and vxlanMode cannot both be enabled' });
      }
    })
    .transform((s) => ({
      ...s,
      blockSize: s.blockSize ?? DEFAULT_BLOCK_SIZE[parseCidr(s.cidr)!.family],
      allowedUses: s.allowedUses ?? (['Workload', 'Tunnel'] as ('Workload' | 'Tunnel')[]),
    })),
);

export const IPPoolSchema = lazy(() =>
  z.strictObject({
    apiVersion: z.literal(MARGAY_API_VERSION),
    kind: z.literal('IPPool'),
    metadata: ObjectMetaSchema(),
    spec: IPPoolSpec(),
  }),
);

const AllocationAttribute = lazy(() =>
  z.strictObject({
    handle_id: z.string().optional(),
    secondary: z.record(z.string(), z.string()).optional(),
  }),
);

const Ordinal = lazy(() => z.number().int().min(0));

const IPAMBlockSpec = lazy(() =>
  z
    .strictObject({
      cidr: CidrKeepingHostBits(),
      affinity: z
        .string()
        .regex(/^(host|virtual):.+$/, 'must be "host:<node name>"')
        .optional(),
      affinityClaimTime: z.string().optional(),
      strictAffinity: z.boolean().default(false),
      allocations: z.array(Ordinal().nullable()).optional(),
      unallocated: z.array(Ordinal()).optional(),
      attributes: z.array(AllocationAttribute()).default([]),
      deleted: z.boolean().default(false),
      sequenceNumber: z.number().int().min(0).default(0),
      sequenceNumberForAllocation: z.record(z.string(), z.number().int().min(0)).optional(),
      // Margay: when each free ordinal was last released (unix ms), so it is not handed out again
      // before IPAMConfiguration.minReuseAgeSeconds has passed. Entries older than that are dropped.
      releaseTimes: z
        .record(z.string().regex(/^(0|[1-9][0-9]*)$/, 'must be an ordinal'), z.number().int().min(0))
        .optional(),
    })
    .superRefine((s, ctx) => {
      const c = parseCidr(s.cidr)!;
      if (c.address !== c.network) {
        ctx.addIssue({ code: 'custom', path: ['cidr'], message: `${s.cidr} has host bits set; use ${c.cidr}` });
        return;
      }
      const size = addressCount(c.family, c.prefix);
      if (size > 4096n) {
        ctx.addIssue({
          code: 'custom',
          path: ['cidr'],
          message: `a block of ${size} addresses is too large (at most 4096: /20 for IPv4, /116 for IPv6)`,
        });
        return;
      }
      const n = Number(size);
      if (s.allocations && s.allocations.length !== n) {
        ctx.addIssue({
          code: 'custom',
          path: ['allocations'],
          message: `must have one entry per address in ${s.cidr} (${n}), has ${s.allocations.length}`,
        });
        return;
      }
      s.allocations?.forEach((a, i) => {
        if (a !== null && a >= s.attributes.length) {
          ctx.addIssue({
            code: 'custom',
            path: ['allocations', i],
            message: `attribute index ${a} is beyond attributes (${s.attributes.length})`,
          });
        }
      });
      const seen = new Set<number>();
      s.unallocated?.forEach((u, i) => {
        if (u >= n)
          ctx.addIssue({
            code: 'custom',
            path: ['unallocated', i],
            message: `ordinal ${u} is outside the block (0..${n - 1})`,
          });
        else if (seen.has(u))
          ctx.addIssue({ code: 'custom', path: ['unallocated', i], message: `ordinal ${u} is listed twice` });
        else if (s.allocations && s.allocations[u] !== null) {
          ctx.addIssue({ code: 'custom', path: ['unallocated', i], message: `ordinal ${u} is allocated` });
        }
        seen.add(u);
      });
    })
    .transform((s) => {
      const c = parseCidr(s.cidr)!;
      const n = Number(addressCount(c.family, c.prefix));
      // A new block: everything free. Omitted unallocated: every free ordinal, in order.
      const allocations = s.allocations ?? new Array<number | null>(n).fill(null);
      const unallocated = s.unallocated ?? [...allocations.keys()].filter((i) => allocations[i] === null);
      return { ...s, allocations, unallocated };
    }),
);

export const IPAMBlockSchema = lazy(() =>
  z.strictObject({
    apiVersion: z.literal(MARGAY_API_VERSION),
    kind: z.literal('IPAMBlock'),
    metadata: ObjectMetaSchema(),
    spec: IPAMBlockSpec(),
  }),
);

const BlockAffinitySpec = lazy(() =>
  z.strictObject({
    state: z.enum(['pending', 'confirmed', 'pendingDeletion']),
    node: DnsSubdomain(),
    cidr: Cidr(),
    type: z.enum(['host', 'virtual']).optional(),
    // Calico stores this as the string "true"/"false"; accept both spellings, keep a boolean.
    deleted: z
      .union([z.boolean(), z.enum(['true', 'false'])], { error: 'must be true or false' })
      .default(false)
      .transform((d) => d === true || d === 'true'),
  }),
);

export const BlockAffinitySchema = lazy(() =>
  z.strictObject({
    apiVersion: z.literal(MARGAY_API_VERSION),
    kind: z.literal('BlockAffinity'),
    metadata: ObjectMetaSchema(),
    spec: BlockAffinitySpec(),
  }),
);

const IPAMConfigurationSpec = lazy(() =>
  z.strictObject({
    strictAffinity: z.boolean().default(false),
    maxBlocksPerHost: z.number().int().min(0).default(0),
    autoAllocateBlocks: z.boolean().default(true),
    // Margay: a released address is not handed out again for this long (late packets, stale conntrack).
    minReuseAgeSeconds: z.number().int().min(0).max(86_400).default(10),
  }),
);

export const IPAMConfigurationSchema = lazy(() =>
  z.strictObject({
    apiVersion: z.literal(MARGAY_API_VERSION),
    kind: z.literal('IPAMConfiguration'),
    metadata: ObjectMetaSchema().refine((m) => m.name === 'default', {
      message: 'an IPAMConfiguration must be named "default"',
      path: ['name'],
    }),
    spec: IPAMConfigurationSpec().prefault({}),
  }),
);

const IPAMHandleSpec = lazy(() =>
  z.strictObject({
    handleID: z.string().min(1).max(1024),
    /** Block CIDR → number of addresses this handle holds there. */
    block: z.record(z.string(), z.number().int().min(0)).default({}),
    deleted: z.boolean().default(false),
    // Margay: the CNI network and container id the handle was made from (`<network>.<containerId>`
    // cannot be split back unambiguously: both may contain dots). CNI GC matches on these.
    network: z.string().min(1).max(256).optional(),
    containerID: z.string().min(1).max(512).optional(),
  }),
);

export const IPAMHandleSchema = lazy(() =>
  z.strictObject({
    apiVersion: z.literal(MARGAY_API_VERSION),
    kind: z.literal('IPAMHandle'),
    metadata: ObjectMetaSchema(),
    spec: IPAMHandleSpec(),
  }),
);

const IPReservationSpec = lazy(() =>
  z.strictObject({
    /** Addresses (bare IP or CIDR) IPAM never hands out. */
    reservedCIDRs: z.array(Net()).max(10_000).default([]),
  }),
);

export const IPReservationSchema = lazy(() =>
  z.strictObject({
    apiVersion: z.literal(MARGAY_API_VERSION),
    kind: z.literal('IPReservation'),
    metadata: ObjectMetaSchema(),
    spec: IPReservationSpec(),
  }),
);
