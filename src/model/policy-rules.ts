import { ipVersionOf } from '../net/index.js';
import { lazy } from './lazy.js';
import * as v from 'valibot';
import { SelectorParseError, parseSelector, type Selector } from '../selector/index.js';
import { Net, SelectorString } from './fields.js';
import { portNameProblem } from './k8s-kinds.js';
import { parseCidr } from './net.js';
import { type AddIssue, int, record, refined, strictObject } from './schema.js';

/**
 * Calico v3 policy rules (shared by NetworkPolicy and GlobalNetworkPolicy): action, protocol,
 * ICMP, and source/destination entity rules with nets, selectors and ports. Values keep Calico's
 * manifest form (a port is a number, an "a:b" range string or a name); parsePort() and
 * parseProtocol() give the structured form the policy compiler needs.
 */

export const PROTOCOL_NAMES = ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite'] as const;
export type ProtocolName = (typeof PROTOCOL_NAMES)[number];
export const PROTOCOL_NUMBERS: Readonly<Record<ProtocolName, number>> = {
  TCP: 6,
  UDP: 17,
  ICMP: 1,
  ICMPv6: 58,
  SCTP: 132,
  UDPLite: 136,
};
const PORT_PROTOCOLS: ReadonlySet<number> = new Set([6, 17, 132, 136]);

/** Protocol() number for a rule's protocol value (a name, any case, or 1..255). */
export function parseProtocol(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 1 && v <= 255 ? v : undefined;
  if (/^[0-9]{1,3}$/.test(v)) return parseProtocol(Number(v));
  const name = PROTOCOL_NAMES.find((p) => p.toLowerCase() === v.toLowerCase());
  return name ? PROTOCOL_NUMBERS[name] : undefined;
}

/** Protocol(): a Calico name (canonical case) or a number 1..255. */
const Protocol = lazy(() =>
  v.pipe(
    v.union([v.string(), v.number()]),
    v.rawTransform<string | number, ProtocolName | number>(({ dataset, addIssue, NEVER }) => {
      const value = dataset.value;
      const n = parseProtocol(value);
      if (n === undefined) {
        addIssue({ message: `${JSON.stringify(value)} is not a protocol (${PROTOCOL_NAMES.join(', ')} or 1..255)` });
        return NEVER;
      }
      if (typeof value === 'string' && !/^[0-9]+$/.test(value))
        return PROTOCOL_NAMES.find((p) => p.toLowerCase() === value.toLowerCase())!;
      return n;
    }),
  ),
);

export type PortSpec =
  | { readonly kind: 'range'; readonly min: number; readonly max: number }
  | { readonly kind: 'named'; readonly name: string };

/** Parses a rule port: `80`, `"80"`, `"8000:8080"` or a named port. Returns a reason on error. */
export function parsePort(v: string | number): PortSpec | string {
  const inRange = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 65_535;
  if (typeof v === 'number')
    return inRange(v) ? { kind: 'range', min: v, max: v } : `port ${v} is out of range 0..65535`;
  const m = /^([0-9]{1,5})(?::([0-9]{1,5}))?$/.exec(v);
  if (m) {
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : Number(m[2]);
    if (!inRange(min) || !inRange(max)) return `port ${JSON.stringify(v)} is out of range 0..65535`;
    if (min > max) return `port range ${JSON.stringify(v)} is reversed (first port above last)`;
    return { kind: 'range', min, max };
  }
  const problem = portNameProblem(v);
  return problem ?? { kind: 'named', name: v };
}

const Port = lazy(() =>
  v.pipe(
    v.union([v.number(), v.string()]),
    v.rawTransform<number | string, number | string>(({ dataset, addIssue, NEVER }) => {
      const p = parsePort(dataset.value);
      if (typeof p === 'string') {
        addIssue({ message: p });
        return NEVER;
      }
      return p.kind === 'named' ? p.name : p.min === p.max ? p.min : `${p.min}:${p.max}`;
    }),
  ),
);

const EntityRule = lazy(() =>
  strictObject({
    nets: v.optional(v.array(Net())),
    notNets: v.optional(v.array(Net())),
    selector: v.optional(SelectorString()),
    notSelector: v.optional(SelectorString()),
    namespaceSelector: v.optional(SelectorString()),
    ports: v.optional(v.array(Port())),
    notPorts: v.optional(v.array(Port())),
    serviceAccounts: v.optional(
      strictObject({ names: v.optional(v.array(v.string())), selector: v.optional(SelectorString()) }),
    ),
    services: v.optional(strictObject({ name: v.string(), namespace: v.optional(v.string()) })),
  }),
);

const IcmpFields = lazy(() =>
  refined(strictObject({ type: v.optional(int(0, 254)), code: v.optional(int(0, 255)) }), (f, add) => {
    if (f.code !== undefined && f.type === undefined) add(['code'], 'code needs type');
  }),
);

export const RuleSchema = lazy(() =>
  refined(
    strictObject({
      action: v.picklist(['Allow', 'Deny', 'Log', 'Pass']),
      ipVersion: v.optional(v.union([v.literal(4), v.literal(6)], 'must be 4 or 6')),
      protocol: v.optional(Protocol()),
      notProtocol: v.optional(Protocol()),
      icmp: v.optional(IcmpFields()),
      notICMP: v.optional(IcmpFields()),
      source: v.optional(EntityRule()),
      destination: v.optional(EntityRule()),
      metadata: v.optional(strictObject({ annotations: v.optional(record(v.string(), v.string())) })),
    }),
    (r, add) => {
      const proto = r.protocol === undefined ? undefined : parseProtocol(r.protocol);
      const families = new Set<number>();
      for (const side of ['source', 'destination'] as const) {
        const e = r[side];
        if (!e) continue;
        for (const f of ['ports', 'notPorts'] as const) {
          const ports = e[f] ?? [];
          // As libcalico-go: without a protocol only named ports are allowed; with one, it must have ports.
          if (proto === undefined ? ports.some(isNumericPort) : ports.length > 0 && !PORT_PROTOCOLS.has(proto)) {
            add(
              [side, f],
              proto === undefined
                ? 'numeric ports need protocol TCP, UDP, SCTP or UDPLite'
                : 'ports need protocol TCP, UDP, SCTP or UDPLite',
            );
          }
        }
        for (const f of ['nets', 'notNets'] as const) {
          e[f]?.forEach((n, i) => {
            const c = parseCidr(n)!;
            families.add(ipVersionOf(c.family));
            if (r.ipVersion !== undefined && ipVersionOf(c.family) !== r.ipVersion) {
              add([side, f, i], `${n} is not IPv${r.ipVersion} (rule ipVersion)`);
            }
            if (f === 'notNets' && c.prefix === 0) {
              add([side, f, i], `${n} in notNets matches no traffic at all`);
            }
          });
        }
        checkEntitySelectors(e, side, add);
      }
      if (families.size > 1) add([], 'rule mixes IPv4 and IPv6 nets');
      for (const f of ['icmp', 'notICMP'] as const) {
        if (r[f] && proto !== PROTOCOL_NUMBERS.ICMP && proto !== PROTOCOL_NUMBERS.ICMPv6) {
          add([f], 'needs protocol ICMP or ICMPv6');
        }
      }
    },
  ),
);

/** A validated port that is a number or "a:b" range (not a name). */
function isNumericPort(p: string | number): boolean {
  return typeof p === 'number' || /^[0-9]+:[0-9]+$/.test(p);
}

type EntityRuleOut = v.InferOutput<ReturnType<typeof EntityRule>>;

/** libcalico-go's validateEntityRule: where global() may appear, and what services excludes. */
function checkEntitySelectors(e: EntityRuleOut, side: string, addIssue: AddIssue): void {
  const add = (f: string, message: string): void => addIssue([side, f], message);
  for (const f of ['selector', 'notSelector'] as const) {
    const sel = parsedOrUndefined(e[f]);
    if (sel && hasGlobal(sel)) add(f, 'global() can only be used in namespaceSelector');
  }
  const ns = parsedOrUndefined(e.namespaceSelector);
  if (ns && ns.op !== 'global' && hasGlobal(ns))
    add('namespaceSelector', 'global() must be the whole namespaceSelector');
  if (e.services) {
    if (e.selector !== undefined || e.notSelector !== undefined)
      add('services', 'cannot be combined with selector or notSelector');
    if (e.nets?.length || e.notNets?.length) add('services', 'cannot be combined with nets or notNets');
    if (e.serviceAccounts) add('services', 'cannot be combined with serviceAccounts');
  }
}

/** The parsed selector, or undefined when absent or invalid (its own field already reported it). */
function parsedOrUndefined(src: string | undefined): Selector | undefined {
  if (src === undefined) return undefined;
  try {
    return parseSelector(src);
  } catch (err) {
    if (err instanceof SelectorParseError) return undefined;
    throw err;
  }
}

function hasGlobal(sel: Selector): boolean {
  switch (sel.op) {
    case 'global':
      return true;
    case 'not':
      return hasGlobal(sel.operand);
    case 'and':
    case 'or':
      return sel.operands.some(hasGlobal);
    default:
      return false;
  }
}

export type Rule = v.InferOutput<ReturnType<typeof RuleSchema>>;
