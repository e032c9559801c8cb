import { describe, expect, it } from 'vitest';
import {
  blockAffinityName,
  ipamBlockName,
  ipamHandleName,
  poolOverlapProblem,
  validateResource,
  validateResourceOf,
} from './index.js';
import { catchValidationError as validationError } from './testing/catch-validation-error.js';

const M = 'margay.dev/v1';

const pool = (spec: Record<string, unknown>) => ({ apiVersion: M, kind: 'IPPool', metadata: { name: 'pool-a' }, spec });

describe('IPPool', () => {
  it('accepts a Calico manifest and applies Calico defaults (v4)', () => {
    const p = validateResourceOf('IPPool', pool({ cidr: '192.168.0.0/16' }));
    expect(p.spec).toEqual({
      cidr: '192.168.0.0/16',
      blockSize: 26,
      ipipMode: 'Never',
      vxlanMode: 'Never',
      natOutgoing: false,
      disabled: false,
      disableBGPExport: false,
      nodeSelector: 'all()',
      allowedUses: ['Workload', 'Tunnel'],
    });
  });

  it('defaults blockSize 122 for IPv6 and canonicalises the CIDR text', () => {
    const p = validateResourceOf(
      'IPPool',
      pool({ cidr: 'FD00:0::/64', vxlanMode: 'CrossSubnet', natOutgoing: true, nodeSelector: 'zone == "a"' }),
    );
    expect(p.spec).toMatchObject({
      cidr: 'fd00::/64',
      blockSize: 122,
      vxlanMode: 'CrossSubnet',
      natOutgoing: true,
      nodeSelector: 'zone == "a"',
    });
  });

  it('is idempotent: validating the output again gives the same object', () => {
    const once = validateResource(pool({ cidr: '10.0.0.0/16', blockSize: 24 }));
    expect(validateResource(JSON.parse(JSON.stringify(once)))).toEqual(once);
  });

  it.each<[Record<string, unknown>, string]>([
    [{ cidr: '10.0.0.0/16', blockSize: 19 }, 'spec.blockSize: 19 is out of range for an IPv4 pool (20..32)'],
    [{ cidr: 'fd00::/64', blockSize: 26 }, 'spec.blockSize: 26 is out of range for an IPv6 pool (116..128)'],
    [{ cidr: '10.0.0.0/28' }, 'spec.cidr: 10.0.0.0/28 is smaller than one block (/26)'],
    [{ cidr: '10.0.0.0/33' }, 'spec.cidr: "10.0.0.0/33" is not a valid CIDR'],
    [{ cidr: '10.0.0.5/16' }, 'spec.cidr: 10.0.0.5/16 has host bits set; use 10.0.0.0/16'],
    [{ cidr: '169.254.0.0/20' }, 'spec.cidr: 169.254.0.0/20 overlaps the link-local range'],
    [{ cidr: 'fe80::/64' }, 'spec.cidr: fe80::/64 overlaps the link-local range'],
    [{ cidr: '10.0.0.0/16', ipipMode: 'Sometimes' }, 'spec.ipipMode: must be one of'],
    [
      { cidr: '10.0.0.0/16', ipipMode: 'Always', vxlanMode: 'Always' },
      'spec.vxlanMode: ipipMode and vxlanMode cannot both be enabled',
    ],
    [{ cidr: 'fd00::/64', ipipMode: 'Always' }, 'spec.ipipMode: IPIP is IPv4 only'],
    [
      { cidr: '10.0.0.0/16', nodeSelector: 'zone = "a"' },
      'spec.nodeSelector: invalid selector: expected "==" at position 6',
    ],
    [{ cidr: '10.0.0.0/16', natOutgoing: 'yes' }, 'spec.natOutgoing: expected boolean, got string "yes"'],
    [{ cidr: '10.0.0.0/16', allowedUses: ['LoadBalancer'] }, 'spec.allowedUses[0]: must be one of'],
    [{}, 'spec.cidr: required (string)'],
    [{ cidr: '10.0.0.0/16', blocksize: 26 }, 'spec.blocksize: unknown field'],
  ])('rejects %j', (spec, msg) => {
    const e = validationError(() => validateResource(pool(spec)));
    expect(e.message).toContain('invalid IPPool "pool-a": ');
    expect(e.message).toContain(msg);
  });

  it('accepts a disabled pool smaller than a block (Calico checks size only for enabled pools)', () => {
    expect(validateResourceOf('IPPool', pool({ cidr: '10.0.0.0/28', disabled: true })).spec.blockSize).toBe(26);
  });
});

describe('IPAMBlock', () => {
  const block = (spec: Record<string, unknown>) => ({
    apiVersion: M,
    kind: 'IPAMBlock',
    metadata: { name: '10-0-0-0-30' },
    spec,
  });

  it('defaults a new block to all-free', () => {
    const b = validateResourceOf('IPAMBlock', block({ cidr: '10.0.0.0/30', affinity: 'host:node-1' }));
    expect(b.spec).toEqual({
      cidr: '10.0.0.0/30',
      affinity: 'host:node-1',
      strictAffinity: false,
      allocations: [null, null, null, null],
      unallocated: [0, 1, 2, 3],
      attributes: [],
      deleted: false,
      sequenceNumber: 0,
    });
  });

  it('accepts a Calico block with allocations and attributes', () => {
    const spec = {
      cidr: '10.0.0.0/30',
      affinity: 'host:node-1',
      strictAffinity: false,
      allocations: [0, null, 1, null],
      unallocated: [3, 1],
      attributes: [
        { handle_id: 'k8s-pod-network.abc', secondary: { namespace: 'default', pod: 'p' } },
        { handle_id: 'ipip-tunnel-addr-node-1' },
      ],
      deleted: false,
      sequenceNumber: 7,
      sequenceNumberForAllocation: { '0': 3, '2': 7 },
    };
    expect(validateResourceOf('IPAMBlock', block(spec)).spec).toEqual(spec);
  });

  it.each<[Record<string, unknown>, string]>([
    [{ cidr: '10.0.0.1/30' }, 'spec.cidr: 10.0.0.1/30 has host bits set; use 10.0.0.0/30'],
    [
      { cidr: '10.0.0.0/30', allocations: [null] },
      'spec.allocations: must have one entry per address in 10.0.0.0/30 (4), has 1',
    ],
    [
      { cidr: '10.0.0.0/30', allocations: [0, null, null, null] },
      'spec.allocations[0]: attribute index 0 is beyond attributes (0)',
    ],
    [{ cidr: '10.0.0.0/30', unallocated: [4] }, 'spec.unallocated[0]: ordinal 4 is outside the block (0..3)'],
    [{ cidr: '10.0.0.0/30', unallocated: [1, 1] }, 'spec.unallocated[1]: ordinal 1 is listed twice'],
    [
      { cidr: '10.0.0.0/30', allocations: [0, null, null, null], attributes: [{}], unallocated: [0] },
      'spec.unallocated[0]: ordinal 0 is allocated',
    ],
    [{ cidr: '10.0.0.0/16' }, 'spec.cidr: a block of 65536 addresses is too large'],
    [{ cidr: '10.0.0.0/30', affinity: 'node-1' }, 'spec.affinity: must be "host:<node name>"'],
    [{ cidr: '10.0.0.0/30', attributes: [{ handle: 'x' }] }, 'spec.attributes[0].handle: unknown field'],
  ])('rejects %j', (spec, msg) => {
    expect(validationError(() => validateResource(block(spec))).message).toContain(msg);
  });

  it('names blocks and affinities as Calico does', () => {
    expect(ipamBlockName('10.0.0.0/26')).toBe('10-0-0-0-26');
    expect(ipamBlockName('fd00::/122')).toBe('fd00---122');
    expect(blockAffinityName('node-1', '10.0.0.64/26')).toBe('node-1-10-0-0-64-26');
  });
});

describe('BlockAffinity', () => {
  const aff = (spec: Record<string, unknown>) => ({
    apiVersion: M,
    kind: 'BlockAffinity',
    metadata: { name: 'node-1-10-0-0-0-26' },
    spec,
  });

  it('accepts Calico\'s string "deleted" and keeps a boolean', () => {
    expect(
      validateResourceOf(
        'BlockAffinity',
        aff({ state: 'confirmed', node: 'node-1', cidr: '10.0.0.0/26', deleted: 'false' }),
      ).spec,
    ).toEqual({ state: 'confirmed', node: 'node-1', cidr: '10.0.0.0/26', deleted: false });
    expect(
      validateResourceOf(
        'BlockAffinity',
        aff({ state: 'pendingDeletion', node: 'n', cidr: '10.0.0.0/26', deleted: true }),
      ).spec.deleted,
    ).toBe(true);
    expect(
      validateResourceOf('BlockAffinity', aff({ state: 'pending', node: 'n', cidr: '10.0.0.0/26' })).spec.deleted,
    ).toBe(false);
  });

  it.each<[Record<string, unknown>, string]>([
    [{ state: 'claimed', node: 'n', cidr: '10.0.0.0/26' }, 'spec.state: must be one of'],
    [{ state: 'pending', node: 'Node_1', cidr: '10.0.0.0/26' }, 'spec.node: "Node_1" must be a DNS-1123 subdomain'],
    [{ state: 'pending', node: 'n', cidr: '10.0.0.0/26', deleted: 'maybe' }, 'spec.deleted: must be true or false'],
    [{ state: 'pending', node: 'n' }, 'spec.cidr: required'],
    [{ state: 'pending', node: 'n', cidr: '10.0.0.0/26', host: 'x' }, 'spec.host: unknown field'],
  ])('rejects %j', (spec, msg) => {
    expect(validationError(() => validateResource(aff(spec))).message).toContain(msg);
  });
});

describe('IPAMConfiguration', () => {
  const cfg = (name: string, spec?: Record<string, unknown>) => ({
    apiVersion: M,
    kind: 'IPAMConfiguration',
    metadata: { name },
    ...(spec ? { spec } : {}),
  });

  it('applies defaults, with or without a spec', () => {
    const want = { strictAffinity: false, maxBlocksPerHost: 0, autoAllocateBlocks: true, minReuseAgeSeconds: 10 };
    expect(validateResourceOf('IPAMConfiguration', cfg('default')).spec).toEqual(want);
    expect(
      validateResourceOf('IPAMConfiguration', cfg('default', { strictAffinity: true, maxBlocksPerHost: 4 })).spec,
    ).toEqual({ ...want, strictAffinity: true, maxBlocksPerHost: 4 });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['other', {}, 'metadata.name: an IPAMConfiguration must be named "default"'],
    ['default', { maxBlocksPerHost: -1 }, 'spec.maxBlocksPerHost: must be at least 0, got -1'],
    ['default', { autoAllocate: true }, 'spec.autoAllocate: unknown field'],
  ])('rejects %s %j', (name, spec, msg) => {
    expect(validationError(() => validateResource(cfg(name, spec))).message).toContain(msg);
  });
});

describe('IPAMHandle and IPReservation', () => {
  it('validates a Calico handle and keeps Margay network/containerID', () => {
    const h = validateResourceOf('IPAMHandle', {
      apiVersion: M,
      kind: 'IPAMHandle',
      metadata: { name: 'k8s-pod-network.abc' },
      spec: {
        handleID: 'k8s-pod-network.abc',
        block: { '10.0.0.0/26': 1 },
        network: 'k8s-pod-network',
        containerID: 'abc',
      },
    });
    expect(h.spec).toEqual({
      handleID: 'k8s-pod-network.abc',
      block: { '10.0.0.0/26': 1 },
      deleted: false,
      network: 'k8s-pod-network',
      containerID: 'abc',
    });
    expect(
      validationError(() =>
        validateResource({
          apiVersion: M,
          kind: 'IPAMHandle',
          metadata: { name: 'h' },
          spec: { handleID: '', block: { x: -1 } },
        }),
      ).message,
    ).toMatch(/spec.handleID: must not be empty; spec.block.x: must be at least 0, got -1/);
  });

  it('names handles by their id when it is a DNS subdomain, else a safe form plus a hash', () => {
    expect(ipamHandleName('k8s-pod-network.0123abc')).toBe('k8s-pod-network.0123abc');
    const a = ipamHandleName('Net_1.ABC'),
      b = ipamHandleName('net_1.abc');
    expect(a).toMatch(/^net-1\.abc-[0-9a-f]{16}$/);
    expect(a).not.toBe(b);
  });

  it('normalises reserved CIDRs and bare addresses', () => {
    const r = validateResourceOf('IPReservation', {
      apiVersion: M,
      kind: 'IPReservation',
      metadata: { name: 'r' },
      spec: { reservedCIDRs: ['10.0.0.7', '10.0.1.5/24', 'FD00::1'] },
    });
    expect(r.spec.reservedCIDRs).toEqual(['10.0.0.7/32', '10.0.1.0/24', 'fd00::1/128']);
    expect(
      validationError(() =>
        validateResource({
          apiVersion: M,
          kind: 'IPReservation',
          metadata: { name: 'r' },
          spec: { reservedCIDRs: ['x'] },
        }),
      ).message,
    ).toContain('spec.reservedCIDRs[0]: "x" is not a valid CIDR or IP address');
  });
});

describe('poolOverlapProblem', () => {
  const p = (name: string, cidr: string) => ({ metadata: { name }, spec: { cidr } });
  it('names both pools when CIDRs overlap, ignores the same pool and other families', () => {
    expect(poolOverlapProblem(p('b', '10.0.1.0/24'), [p('a', '10.0.0.0/16')])).toBe(
      'IPPool "b" (10.0.1.0/24) overlaps IPPool "a" (10.0.0.0/16); pools must not overlap',
    );
    expect(
      poolOverlapProblem(p('a', '10.0.0.0/24'), [p('a', '10.0.0.0/16'), p('c', 'fd00::/64'), p('d', '10.1.0.0/16')]),
    ).toBeUndefined();
  });
});
