/**
 * margay-node's configuration: command-line flags with environment equivalents named like Calico's
 * (ARCHITECTURE.md §3), validated once at the edge, then frozen. A flag beats its environment
 * variable; every error names the flag *and* the variable and says what is wrong.
 *
 *   flag                     env                       default
 *   --nodename               NODENAME                  (required; `hostname` is not guessed)
 *   --datastore              MARGAY_DATASTORE          file:/var/lib/margay/datastore
 *   --kubeconfig             KUBECONFIG                (in-cluster when unset)
 *   --ip                     IP                        autodetect
 *   --ip-autodetection       IP_AUTODETECTION_METHOD   first-found
 *   --run-dir                MARGAY_RUN_DIR            /run/margay
 *   --health-port            MARGAY_HEALTH_PORT        9099 (0 = off)
 *   --metrics-port           MARGAY_METRICS_PORT       9091 (0 = off)
 *   --log-level              MARGAY_LOG_LEVEL          info
 */
import { isIPv4 } from 'node:net';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { LOG_LEVELS } from '../log.js';

export const IP_AUTODETECTION_METHODS = ['first-found', 'can-reach=', 'interface=', 'cidr=', 'kubernetes-internal-ip'] as const;

/** IP_AUTODETECTION_METHOD, parsed. */
export type IpAutodetection =
  | { readonly method: 'first-found' }
  | { readonly method: 'can-reach'; readonly destination: string }
  | { readonly method: 'interface'; readonly patterns: readonly string[] }
  | { readonly method: 'cidr'; readonly cidrs: readonly string[] }
  | { readonly method: 'kubernetes-internal-ip' };

export type DatastoreSpec = { readonly type: 'kubernetes' } | { readonly type: 'file'; readonly dir: string };

export interface AgentConfig {
  readonly nodeName: string;
  readonly datastore: DatastoreSpec;
  readonly kubeconfig: string | undefined;
  /** An explicit IPv4 address (with optional /len), or autodetection. */
  readonly ip: { readonly address: string; readonly prefixLength: number | undefined } | { readonly autodetect: IpAutodetection };
  readonly runDir: string;
  readonly healthPort: number;
  readonly metricsPort: number;
  readonly logLevel: (typeof LOG_LEVELS)[number];
}

const SETTINGS = {
  nodename: { env: 'NODENAME' },
  datastore: { env: 'MARGAY_DATASTORE' },
  kubeconfig: { env: 'KUBECONFIG' },
  ip: { env: 'IP' },
  'ip-autodetection': { env: 'IP_AUTODETECTION_METHOD' },
  'run-dir': { env: 'MARGAY_RUN_DIR' },
  'health-port': { env: 'MARGAY_HEALTH_PORT' },
  'metrics-port': { env: 'MARGAY_METRICS_PORT' },
  'log-level': { env: 'MARGAY_LOG_LEVEL' },
} as const;
type SettingName = keyof typeof SETTINGS;

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const Port = z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0).max(65_535);

const Raw = z.strictObject({
  nodename: z
    .string({ error: 'is required (the Kubernetes node name of this machine)' })
    .max(253, 'must be at most 253 characters')
    .regex(DNS1123_SUBDOMAIN, 'must be a DNS-1123 subdomain (lowercase letters, digits, "-" and ".")'),
  datastore: z.string().default('file:/var/lib/margay/datastore'),
  kubeconfig: z.string().min(1).optional(),
  ip: z.string().optional(),
  'ip-autodetection': z.string().default('first-found'),
  'run-dir': z.string().regex(/^\//, 'must be an absolute path').default('/run/margay'),
  'health-port': Port.default(9099),
  'metrics-port': Port.default(9091),
  'log-level': z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
});

function fail(name: SettingName, message: string): never {
  throw new ConfigError(`--${name} / ${SETTINGS[name].env}`, message);
}

export function parseDatastoreSpec(spec: string, name: SettingName = 'datastore'): DatastoreSpec {
  if (spec === 'kubernetes') return { type: 'kubernetes' };
  if (spec.startsWith('file:')) {
    const dir = spec.slice('file:'.length);
    if (!dir.startsWith('/')) fail(name, `file datastore needs an absolute directory, got ${JSON.stringify(spec)} (e.g. file:/var/lib/margay/datastore)`);
    return { type: 'file', dir };
  }
  return fail(name, `must be "kubernetes" or "file:<absolute dir>", got ${JSON.stringify(spec)}`);
}

function isCidr4(s: string): boolean {
  const [addr, len, extra] = s.split('/');
  return extra === undefined && addr !== undefined && isIPv4(addr) && len !== undefined && /^\d{1,2}$/.test(len) && Number(len) <= 32;
}

export function parseIpAutodetection(value: string): IpAutodetection {
  const name: SettingName = 'ip-autodetection';
  if (value === 'first-found') return { method: 'first-found' };
  if (value === 'kubernetes-internal-ip') return { method: 'kubernetes-internal-ip' };
  const eq = value.indexOf('=');
  const key = eq < 0 ? value : value.slice(0, eq);
  const arg = eq < 0 ? '' : value.slice(eq + 1);
  switch (key) {
    case 'can-reach':
      if (!isIPv4(arg)) fail(name, `can-reach= needs an IPv4 address, got ${JSON.stringify(arg)}`);
      return { method: 'can-reach', destination: arg };
    case 'interface': {
      const patterns = arg.split(',').filter(Boolean);
      if (patterns.length === 0) fail(name, 'interface= needs one or more interface name regexes, e.g. interface=eth.*');
      for (const p of patterns) {
        try {
          new RegExp(p);
        } catch (err) {
          throw new ConfigError(`--${name} / ${SETTINGS[name].env}`, `interface= pattern ${JSON.stringify(p)} is not a valid regex`, { cause: err });
        }
      }
      return { method: 'interface', patterns };
    }
    case 'cidr': {
      const cidrs = arg.split(',').filter(Boolean);
      if (cidrs.length === 0) fail(name, 'cidr= needs one or more IPv4 CIDRs, e.g. cidr=10.0.0.0/8');
      for (const c of cidrs) if (!isCidr4(c)) fail(name, `cidr= value ${JSON.stringify(c)} is not an IPv4 CIDR`);
      return { method: 'cidr', cidrs };
    }
    default:
      return fail(name, `unknown method ${JSON.stringify(value)}; use one of ${IP_AUTODETECTION_METHODS.join(', ')}`);
  }
}

/**
 * Reads flags (argv without node and script) and environment, validates, returns a frozen config.
 * Throws ConfigError naming the setting (flag and env var) and the problem.
 */
export function loadAgentConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): AgentConfig {
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.keys(SETTINGS).map((k) => [k, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new ConfigError('command line', (err as Error).message, { cause: err });
  }
  const raw: Record<string, string> = {};
  for (const [name, { env: envName }] of Object.entries(SETTINGS)) {
    const v = flags[name] ?? env[envName];
    if (typeof v === 'string' && v !== '') raw[name] = v;
  }
  const r = Raw.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const name = String(issue.path[0]) as SettingName;
    fail(name, issue.message);
  }
  const v = r.data;
  let ip: AgentConfig['ip'];
  if (v.ip !== undefined && v.ip !== 'autodetect') {
    const [address, len] = v.ip.split('/');
    if (address === undefined || !isIPv4(address) || (len !== undefined && !isCidr4(v.ip))) {
      fail('ip', `must be an IPv4 address (optionally with /prefix-length) or "autodetect", got ${JSON.stringify(v.ip)}`);
    }
    ip = { address, prefixLength: len === undefined ? undefined : Number(len) };
  } else {
    ip = { autodetect: parseIpAutodetection(v['ip-autodetection']) };
  }
  const datastore = parseDatastoreSpec(v.datastore);
  if (v['health-port'] !== 0 && v['health-port'] === v['metrics-port']) {
    fail('metrics-port', `must differ from the health port (both ${v['health-port']})`);
  }
  return Object.freeze({
    nodeName: v.nodename,
    datastore,
    kubeconfig: v.kubeconfig,
    ip: Object.freeze(ip),
    runDir: v['run-dir'],
    healthPort: v['health-port'],
    metricsPort: v['metrics-port'],
    logLevel: v['log-level'],
  });
}
