/**
 * margay-node's configuration: command-line flags with environment equivalents named like Calico's
 * (ARCHITECTURE.md §3), validated once at the edge, then frozen. A flag beats its environment
 * variable; every error names the flag *and* the variable and says what is wrong (and the range, for
 * numbers). The table SETTINGS is the single source for parsing and for `--help`.
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import * as v from 'valibot';
import { ConfigError } from '../errors.js';
import { LOG_LEVELS } from '../log.js';
import { parseCidr } from '../model/index.js';
import { loadDefaultPools, POOL_SETTINGS, type DefaultPools } from './default-pool.js';
import { familyIs, parseIpAutodetection, type IpAutodetection, type IpFamilyNumber } from './ip-autodetection.js';

export { familyIs, IP_AUTODETECTION_METHODS, parseIpAutodetection, type IpAutodetection } from './ip-autodetection.js';
export type { DefaultPool, DefaultPools } from './default-pool.js';

export type DatastoreSpec = { readonly type: 'kubernetes' } | { readonly type: 'file'; readonly dir: string };

/** An explicit address (with optional /len), autodetection, or none (this family is off). */
export type IpSetting =
  | { readonly address: string; readonly prefixLength: number | undefined }
  | { readonly autodetect: IpAutodetection }
  | { readonly none: true };

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface AgentConfig {
  readonly nodeName: string;
  readonly datastore: DatastoreSpec;
  readonly kubeconfig: string | undefined;
  readonly ip: IpSetting;
  readonly ip6: IpSetting;
  /** This node's AS number (AS); undefined = the cluster's (BGPConfiguration default asNumber). */
  readonly asNumber: number | undefined;
  /** Run the embedded BGP speaker (MARGAY_NETWORKING_BACKEND=bgp) or not (none: host-gw routes only). */
  readonly bgp: boolean;
  readonly runDir: string;
  /** BGP password secrets: <dir>/<secret name>/<key>. */
  readonly secretsDir: string;
  readonly healthPort: number;
  readonly healthHost: string;
  readonly metricsPort: number;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly logFormat: LogFormat;
  /** Pools to create at start when the datastore has no IPPool at all. */
  readonly defaultPools: DefaultPools;
  /** Datastore retry back-off while unreachable (ms). */
  readonly datastoreRetry: { readonly initialMs: number; readonly maxMs: number };
}

interface Setting {
  readonly env: string;
  readonly def: string | undefined;
  readonly help: string;
}

export const AGENT_SETTINGS = {
  nodename: {
    env: 'NODENAME',
    def: undefined,
    help: "this node's Kubernetes name (required; the hostname is not guessed)",
  },
  datastore: {
    env: 'MARGAY_DATASTORE',
    def: 'file:/var/lib/margay/datastore',
    help: '"kubernetes" or "file:<absolute dir>"',
  },
  kubeconfig: {
    env: 'KUBECONFIG',
    def: undefined,
    help: 'kubeconfig for the kubernetes datastore (in-cluster when unset)',
  },
  ip: { env: 'IP', def: 'autodetect', help: 'IPv4 address[/len] of this node, "autodetect" or "none"' },
  'ip-autodetection': {
    env: 'IP_AUTODETECTION_METHOD',
    def: 'first-found',
    help: 'first-found, can-reach=IP, interface=RE,..., skip-interface=RE,..., cidr=CIDR,..., kubernetes-internal-ip',
  },
  ip6: { env: 'IP6', def: 'none', help: 'IPv6 address[/len] of this node, "autodetect" or "none"' },
  'ip6-autodetection': { env: 'IP6_AUTODETECTION_METHOD', def: 'first-found', help: 'as --ip-autodetection, for IPv6' },
  as: {
    env: 'AS',
    def: undefined,
    help: "this node's AS number 1..4294967295 (default: the cluster's, BGPConfiguration asNumber)",
  },
  'networking-backend': {
    env: 'MARGAY_NETWORKING_BACKEND',
    def: 'bgp',
    help: '"bgp" (embedded speaker) or "none" (routes from block affinities only)',
  },
  'run-dir': { env: 'MARGAY_RUN_DIR', def: '/run/margay', help: 'sockets (CNI, BGP status) live here' },
  'secrets-dir': {
    env: 'MARGAY_SECRETS_DIR',
    def: '/etc/margay/secrets',
    help: 'BGP passwords: secretKeyRef {name, key} is read from <dir>/<name>/<key>',
  },
  'health-port': { env: 'MARGAY_HEALTH_PORT', def: '9099', help: '/liveness and /readiness port 0..65535 (0 = off)' },
  'health-host': { env: 'MARGAY_HEALTH_HOST', def: '127.0.0.1', help: 'address the health and metrics ports bind to' },
  'metrics-port': { env: 'MARGAY_METRICS_PORT', def: '9091', help: 'Prometheus /metrics port 0..65535 (0 = off)' },
  'log-level': { env: 'MARGAY_LOG_LEVEL', def: 'info', help: LOG_LEVELS.join(', ') },
  'log-format': {
    env: 'MARGAY_LOG_FORMAT',
    def: 'json',
    help: '"json" (one object per line) or "pretty" (human-readable)',
  },
  'datastore-retry-max': {
    env: 'MARGAY_DATASTORE_RETRY_MAX_MS',
    def: '30000',
    help: 'longest wait between datastore retries, 100..600000 ms',
  },
  ...POOL_SETTINGS,
} as const satisfies Record<string, Setting>;
export type SettingName = keyof typeof AGENT_SETTINGS;

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A whole number in [min, max]; every error says the range. */
export function intInRange(min: number, max: number) {
  const range = `a whole number in ${min}..${max}`;
  return v.pipe(
    v.string(),
    v.rawTransform<string, number>(({ dataset, addIssue, NEVER }) => {
      const s = dataset.value;
      const n = /^-?\d+$/.test(s.trim()) ? Number(s) : Number.NaN;
      if (!Number.isInteger(n) || n < min || n > max) {
        addIssue({ message: `must be ${range}, got ${JSON.stringify(s)}` });
        return NEVER;
      }
      return n;
    }),
  );
}

const absolutePath = () => v.pipe(v.string(), v.regex(/^\//, 'must be an absolute path'));

/** The settings checked by schema (each value a string: flag, environment or default). */
const Raw = v.object({
  nodename: v.pipe(
    v.string('is required (the Kubernetes node name of this machine)'),
    v.maxLength(253, 'must be at most 253 characters'),
    v.regex(DNS1123_SUBDOMAIN, 'must be a DNS-1123 subdomain (lowercase letters, digits, "-" and ".")'),
  ),
  kubeconfig: v.optional(v.pipe(v.string(), v.minLength(1, 'must not be empty'))),
  'run-dir': absolutePath(),
  'secrets-dir': absolutePath(),
  'health-port': intInRange(0, 65_535),
  'health-host': v.pipe(
    v.string(),
    v.check((s) => isIP(s) !== 0, 'must be an IP address'),
  ),
  'metrics-port': intInRange(0, 65_535),
  'log-level': v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`),
  'log-format': v.picklist(LOG_FORMATS, `must be one of ${LOG_FORMATS.join(', ')}`),
  'networking-backend': v.picklist(['bgp', 'none'], 'must be "bgp" or "none"'),
  as: v.optional(intInRange(1, 4_294_967_295)),
  'datastore-retry-max': intInRange(100, 600_000),
});

export function settingLabel(name: SettingName): string {
  return `--${name} / ${AGENT_SETTINGS[name].env}`;
}

export function fail(name: SettingName, message: string): never {
  throw new ConfigError(settingLabel(name), message);
}

export function parseDatastoreSpec(spec: string, name: SettingName = 'datastore'): DatastoreSpec {
  if (spec === 'kubernetes') return { type: 'kubernetes' };
  if (spec.startsWith('file:')) {
    const dir = spec.slice('file:'.length);
    if (!dir.startsWith('/'))
      fail(
        name,
        `file datastore needs an absolute directory, got ${JSON.stringify(spec)} (e.g. file:/var/lib/margay/datastore)`,
      );
    return { type: 'file', dir };
  }
  return fail(name, `must be "kubernetes" or "file:<absolute dir>", got ${JSON.stringify(spec)}`);
}

function parseIpSetting(value: string, method: string, family: IpFamilyNumber): IpSetting {
  const ipName: SettingName = family === 4 ? 'ip' : 'ip6';
  const methodName: SettingName = family === 4 ? 'ip-autodetection' : 'ip6-autodetection';
  if (value === 'none') return { none: true };
  if (value === 'autodetect') {
    const m = parseIpAutodetection(method, family);
    if (typeof m === 'string') fail(methodName, m);
    return { autodetect: m };
  }
  const [address, len] = value.split('/');
  const ok =
    address !== undefined &&
    isIP(address) === family &&
    (len === undefined || familyIs(parseCidr(value)?.family, family));
  if (!ok)
    fail(
      ipName,
      `must be an IPv${family} address (optionally with /prefix-length), "autodetect" or "none", got ${JSON.stringify(value)}`,
    );
  return { address: address!, prefixLength: len === undefined ? undefined : Number(len) };
}

/** The value of each setting: flag, else environment, else default (empty strings count as unset). */
function collect(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.keys(AGENT_SETTINGS).map((k) => [k, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new ConfigError('command line', `${(err as Error).message} (margay-node --help lists the flags)`, {
      cause: err,
    });
  }
  const raw: Record<string, string> = {};
  for (const [name, s] of Object.entries(AGENT_SETTINGS) as [SettingName, Setting][]) {
    const v = flags[name] ?? env[s.env];
    if (typeof v === 'string' && v !== '') raw[name] = v;
    else if (s.def !== undefined) raw[name] = s.def;
  }
  return raw;
}

/**
 * Reads flags (argv without node and script) and environment, validates, returns a frozen config.
 * Throws ConfigError naming the setting (flag and env var) and the problem.
 */
export function loadAgentConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): AgentConfig {
  const raw = collect(argv, env);
  // Every setting but nodename, kubeconfig and as has a default; a missing nodename is named here
  // (valibot's object reports a missing key with the object's message, not the field's).
  if (raw.nodename === undefined) fail('nodename', 'is required (the Kubernetes node name of this machine)');
  const r = v.safeParse(Raw, raw);
  if (!r.success) {
    const issue = r.issues[0];
    fail(String(issue.path?.[0]?.key) as SettingName, issue.message);
  }
  const c = r.output;
  const ip = parseIpSetting(raw.ip!, raw['ip-autodetection']!, 4);
  const ip6 = parseIpSetting(raw.ip6!, raw['ip6-autodetection']!, 6);
  if ('none' in ip && 'none' in ip6) fail('ip', 'IP and IP6 are both "none": the node needs at least one address');
  const datastore = parseDatastoreSpec(raw.datastore!);
  if (c['health-port'] !== 0 && c['health-port'] === c['metrics-port']) {
    fail('metrics-port', `must differ from the health port (both ${c['health-port']})`);
  }
  const defaultPools = loadDefaultPools(raw, (name, msg) => fail(name as SettingName, msg));
  return Object.freeze({
    nodeName: c.nodename,
    datastore,
    kubeconfig: c.kubeconfig,
    ip: Object.freeze(ip),
    ip6: Object.freeze(ip6),
    asNumber: c.as,
    bgp: c['networking-backend'] === 'bgp',
    runDir: c['run-dir'],
    secretsDir: c['secrets-dir'],
    healthPort: c['health-port'],
    healthHost: c['health-host'],
    metricsPort: c['metrics-port'],
    logLevel: c['log-level'],
    logFormat: c['log-format'],
    defaultPools,
    datastoreRetry: Object.freeze({
      initialMs: Math.min(250, c['datastore-retry-max']),
      maxMs: c['datastore-retry-max'],
    }),
  });
}

/** `margay-node --help`: every flag, its variable and its default, from the one table. */
export function agentHelp(): string {
  const rows = (Object.entries(AGENT_SETTINGS) as [SettingName, Setting][]).map(
    ([name, s]) => `  --${name.padEnd(22)} ${s.env.padEnd(32)} ${(s.def ?? '(unset)').padEnd(32)} ${s.help}`,
  );
  return [
    'usage: margay-node [--flag value ...]   (each flag also reads its environment variable; a flag wins)',
    '',
    `  ${'flag'.padEnd(24)} ${'environment'.padEnd(32)} ${'default'.padEnd(32)} meaning`,
    ...rows,
    '',
    'Signals: SIGTERM/SIGINT stop the agent and leave the dataplane in place (restart without disruption).',
  ].join('\n');
}
