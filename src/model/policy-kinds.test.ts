import { describe, expect, it } from 'vitest';
import { parsePort, parseProtocol, validateResource, validateResourceOf } from './index.js';
import { catchValidationError } from './testing/catch-validation-error.js';

const M = 'margay.dev/v1';
const np = (spec?: Record<string, unknown>) => ({
  apiVersion: M,
  kind: 'NetworkPolicy',
  metadata: { name: 'allow-tcp-6379', namespace: 'production' },
  ...(spec ? { spec } : {}),
});
const gnp = (spec?: Record<string, unknown>) => ({
  apiVersion: M,
  kind: 'GlobalNetworkPolicy',
  metadata: { name: 'deny-blue' },
  ...(spec ? { spec } : {}),
});

describe('NetworkPolicy (margay.dev)', () => {
  it('accepts the Calico docs example and applies defaults', () => {
    const p = validateResourceOf(
      'NetworkPolicy',
      np({
        selector: "role == 'database'",
        types: ['Ingress', 'Egress'],
        ingress: [
          {
            action: 'Allow',
            metadata: { annotations: { from: 'frontend', to: 'database' } },
            protocol: 'TCP',
            source: { selector: "role == 'frontend'" },
            destination: { ports: [6379] },
          },
        ],
        egress: [{ action: 'Allow' }],
      }),
    );
    expect(p.metadata.namespace).toBe('production');
    expect(p.spec.types).toEqual(['Ingress', 'Egress']);
    expect(p.spec.ingress?.[0]?.destination?.ports).toEqual([6379]);
  });

  it('defaults selector and types from the rules present, as libcalico-go', () => {
    expect(validateResourceOf('NetworkPolicy', np()).spec).toEqual({ selector: 'all()', types: ['Ingress'] });
    expect(validateResourceOf('NetworkPolicy', np({ egress: [{ action: 'Deny' }] })).spec.types).toEqual(['Egress']);
    expect(
      validateResourceOf('NetworkPolicy', np({ ingress: [{ action: 'Pass' }], egress: [{ action: 'Log' }] })).spec
        .types,
    ).toEqual(['Ingress', 'Egress']);
    // Empty rule lists count as no rules (len == 0 in libcalico-go), explicit types as given.
    expect(validateResourceOf('NetworkPolicy', np({ egress: [] })).spec.types).toEqual(['Ingress']);
    expect(validateResourceOf('NetworkPolicy', np({ ingress: [], egress: [{ action: 'Deny' }] })).spec.types).toEqual([
      'Egress',
    ]);
    expect(validateResourceOf('NetworkPolicy', np({ types: ['Egress'] })).spec.types).toEqual(['Egress']);
  });

  it('allows named ports without a protocol, as libcalico-go', () => {
    const r = validateResourceOf(
      'NetworkPolicy',
      np({ ingress: [{ action: 'Allow', destination: { ports: ['http'] } }] }),
    );
    expect(r.spec.ingress?.[0]?.destination?.ports).toEqual(['http']);
  });

  it('normalises protocols, ports and nets', () => {
    const r = validateResourceOf(
      'NetworkPolicy',
      np({
        ingress: [
          {
            action: 'Allow',
            protocol: 'udp',
            notProtocol: 17,
            source: {
              nets: ['10.0.0.5/8', '192.168.1.1'],
              notNets: ['10.1.0.0/16'],
              ports: ['53', '1000:2000', 'dns'],
              notPorts: [0],
            },
            destination: { nets: ['10.2.0.0/16'] },
          },
        ],
      }),
    ).spec.ingress![0]!;
    expect(r.protocol).toBe('UDP');
    expect(r.source).toEqual({
      nets: ['10.0.0.0/8', '192.168.1.1/32'],
      notNets: ['10.1.0.0/16'],
      ports: [53, '1000:2000', 'dns'],
      notPorts: [0],
    });
    const v6 = validateResourceOf(
      'NetworkPolicy',
      np({ egress: [{ action: 'Allow', destination: { nets: ['FD00::1'] } }] }),
    );
    expect(v6.spec.egress?.[0]?.destination?.nets).toEqual(['fd00::1/128']);
  });

  it.each<[Record<string, unknown>, string]>([
    [{ ingress: [{ action: 'Accept' }] }, 'spec.ingress[0].action: must be one of'],
    [{ ingress: [{}] }, 'spec.ingress[0].action: required'],
    [
      { ingress: [{ action: 'Allow', destination: { ports: [80] } }] },
      'spec.ingress[0].destination.ports: numeric ports need protocol TCP, UDP, SCTP or UDPLite',
    ],
    [
      { ingress: [{ action: 'Allow', protocol: 'ICMP', destination: { ports: ['http'] } }] },
      'spec.ingress[0].destination.ports: ports need protocol TCP',
    ],
    [
      { ingress: [{ action: 'Allow', source: { nets: ['10.0.0.0/8'] }, destination: { nets: ['fd00::/8'] } }] },
      'spec.ingress[0]: rule mixes IPv4 and IPv6 nets',
    ],
    [
      { ingress: [{ action: 'Allow', source: { notNets: ['0.0.0.0/0'] } }] },
      'spec.ingress[0].source.notNets[0]: 0.0.0.0/0 in notNets matches no traffic at all',
    ],
    [
      { ingress: [{ action: 'Allow', source: { selector: 'global()' } }] },
      'spec.ingress[0].source.selector: global() can only be used in namespaceSelector',
    ],
    [
      { ingress: [{ action: 'Allow', source: { namespaceSelector: 'global() && has(a)' } }] },
      'spec.ingress[0].source.namespaceSelector: global() must be the whole namespaceSelector',
    ],
    [
      { egress: [{ action: 'Allow', destination: { services: { name: 'kube-dns' }, selector: 'all()' } }] },
      'spec.egress[0].destination.services: cannot be combined with selector',
    ],
    [
      { ingress: [{ action: 'Allow', protocol: 'ICMP', destination: { ports: [80] } }] },
      'spec.ingress[0].destination.ports: ports need protocol',
    ],
    [
      { ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['90:80'] } }] },
      'spec.ingress[0].destination.ports[0]: port range "90:80" is reversed',
    ],
    [
      { ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [70000] } }] },
      'spec.ingress[0].destination.ports[0]: port 70000 is out of range',
    ],
    [
      { ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['Web_Port'] } }] },
      'spec.ingress[0].destination.ports[0]: "Web_Port" is not a port name',
    ],
    [{ ingress: [{ action: 'Allow', protocol: 'GRE' }] }, 'spec.ingress[0].protocol: "GRE" is not a protocol'],
    [{ ingress: [{ action: 'Allow', protocol: 256 }] }, 'spec.ingress[0].protocol: 256 is not a protocol'],
    [
      { ingress: [{ action: 'Allow', protocol: 'ICMP', icmp: { code: 0 } }] },
      'spec.ingress[0].icmp.code: code needs type',
    ],
    [
      { ingress: [{ action: 'Allow', protocol: 'TCP', icmp: { type: 8 } }] },
      'spec.ingress[0].icmp: needs protocol ICMP or ICMPv6',
    ],
    [
      { ingress: [{ action: 'Allow', protocol: 'ICMP', icmp: { type: 255 } }] },
      'spec.ingress[0].icmp.type: must be at most 254, got 255',
    ],
    [
      { ingress: [{ action: 'Allow', ipVersion: 6, source: { nets: ['10.0.0.0/8'] } }] },
      'spec.ingress[0].source.nets[0]: 10.0.0.0/8 is not IPv6',
    ],
    [{ ingress: [{ action: 'Allow', ipVersion: 5 }] }, 'spec.ingress[0].ipVersion: must be 4 or 6'],
    [
      { ingress: [{ action: 'Allow', source: { nets: ['10.0.0.0/40'] } }] },
      'spec.ingress[0].source.nets[0]: "10.0.0.0/40" is not a valid CIDR or IP address',
    ],
    [
      { ingress: [{ action: 'Allow', source: { selector: 'a ==' } }] },
      'spec.ingress[0].source.selector: invalid selector: expected a quoted string at position 4, found end of input',
    ],
    [{ ingress: [{ action: 'Allow', http: { methods: ['GET'] } }] }, 'spec.ingress[0].http: unknown field'],
    [{ ingress: [{ action: 'Allow', source: { nots: [] } }] }, 'spec.ingress[0].source.nots: unknown field'],
    [{ selector: 'role in {"a"' }, 'spec.selector: invalid selector'],
    [{ tier: 'security' }, 'spec.tier: Margay supports only the "default" tier'],
    [{ types: ['Ingress'], egress: [{ action: 'Allow' }] }, 'spec.egress: egress rules need "Egress" in types'],
    [{ types: ['Ingress', 'Ingress'] }, 'spec.types: lists a type twice'],
    [{ types: ['Forward'] }, 'spec.types[0]: must be one of'],
    [{ order: 'first' }, 'spec.order: expected number'],
    [{ doNotTrack: true }, 'spec.doNotTrack: unknown field'],
  ])('rejects %j', (spec, msg) => {
    const e = catchValidationError(() => validateResource(np(spec)));
    expect(e.message).toContain('invalid NetworkPolicy "production/allow-tcp-6379"');
    expect(e.message).toContain(msg);
  });

  it('requires a namespace', () => {
    const e = catchValidationError(() =>
      validateResource({ apiVersion: M, kind: 'NetworkPolicy', metadata: { name: 'x' } }),
    );
    expect(e.issues).toEqual([{ path: 'metadata.namespace', message: 'required: NetworkPolicy is namespaced' }]);
  });
});

describe('GlobalNetworkPolicy', () => {
  it('accepts the Calico docs example and applies defaults', () => {
    const p = validateResourceOf(
      'GlobalNetworkPolicy',
      gnp({
        order: 100.5,
        selector: 'color == "blue"',
        namespaceSelector: 'has(projectcalico.org/name)',
        serviceAccountSelector: 'role == "x"',
        types: ['Ingress'],
        ingress: [
          {
            action: 'Deny',
            protocol: 'ICMP',
            icmp: { type: 8, code: 0 },
            source: { namespaceSelector: 'global()', serviceAccounts: { names: ['a'] } },
          },
        ],
      }),
    );
    expect(p.spec).toMatchObject({
      order: 100.5,
      doNotTrack: false,
      preDNAT: false,
      applyOnForward: false,
      types: ['Ingress'],
    });
  });

  it('accepts preDNAT and doNotTrack with applyOnForward', () => {
    expect(
      validateResourceOf(
        'GlobalNetworkPolicy',
        gnp({ preDNAT: true, applyOnForward: true, ingress: [{ action: 'Allow' }] }),
      ).spec.preDNAT,
    ).toBe(true);
    expect(
      validateResourceOf('GlobalNetworkPolicy', gnp({ doNotTrack: true, applyOnForward: true })).spec.doNotTrack,
    ).toBe(true);
  });

  it.each<[Record<string, unknown>, string]>([
    [{ preDNAT: true }, 'spec.applyOnForward: must be true when preDNAT is true'],
    [{ doNotTrack: true }, 'spec.applyOnForward: must be true when doNotTrack is true'],
    [
      { preDNAT: true, doNotTrack: true, applyOnForward: true },
      'spec.preDNAT: cannot be true together with doNotTrack',
    ],
    [
      { preDNAT: true, applyOnForward: true, egress: [{ action: 'Allow' }] },
      'spec.egress: preDNAT policies cannot have egress rules',
    ],
    [{ namespaceSelector: '!' }, 'spec.namespaceSelector: invalid selector'],
    [{ applyOnforward: true }, 'spec.applyOnforward: unknown field'],
  ])('rejects %j', (spec, msg) => {
    const e = catchValidationError(() => validateResource(gnp(spec)));
    expect(e.message).toContain('invalid GlobalNetworkPolicy "deny-blue"');
    expect(e.message).toContain(msg);
  });

  it('is cluster-scoped', () => {
    const e = catchValidationError(() => validateResource({ ...gnp(), metadata: { name: 'x', namespace: 'default' } }));
    expect(e.issues[0]).toEqual({
      path: 'metadata.namespace',
      message: 'must not be set: GlobalNetworkPolicy is cluster-scoped',
    });
  });
});

describe('rule helpers', () => {
  it('parsePort gives the structured form', () => {
    expect(parsePort(80)).toEqual({ kind: 'range', min: 80, max: 80 });
    expect(parsePort('8000:8080')).toEqual({ kind: 'range', min: 8000, max: 8080 });
    expect(parsePort('http')).toEqual({ kind: 'named', name: 'http' });
    expect(typeof parsePort('2:1')).toBe('string');
  });
  it('parseProtocol maps names (any case) and numbers', () => {
    expect(parseProtocol('TCP')).toBe(6);
    expect(parseProtocol('icmpv6')).toBe(58);
    expect(parseProtocol('UDPLite')).toBe(136);
    expect(parseProtocol(47)).toBe(47);
    expect(parseProtocol('0')).toBeUndefined();
  });
});
