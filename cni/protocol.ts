/**
 * The CNI protocol, pure: environment and stdin in, a validated request or a spec error out
 * (CNI spec 1.1.0, "Plugin execution protocol" and "Error" sections). No I/O: cni/main.ts reads the
 * environment and stdin, calls this, forwards the request to the local margay-node, and prints.
 *
 * Supported: spec 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0; commands ADD, DEL, CHECK, VERSION, STATUS, GC.
 */
import { MargayError } from '../src/errors.js';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export const LATEST_VERSION = '1.1.0';
export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type CniCommand = (typeof COMMANDS)[number];

/** Well-known error codes (spec §"Error"; 50-99 for STATUS). */
export const CNI_ERROR = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidNetworkConfig: 7,
  tryAgainLater: 11,
  pluginNotAvailable: 50,
  pluginNotAvailableLimitedResources: 51,
} as const;

/** Margay's own codes (the spec leaves 100+ to plugins); docs/cni.md lists what each means. */
export const MARGAY_CNI_ERROR = {
  /** K8S_POD_NAMESPACE/K8S_POD_NAME name a pod the datastore does not have. */
  podNotFound: 100,
  /** No pool usable by this pod and node has a free address. */
  poolExhausted: 101,
  /** The IPAM service failed (datastore unreachable, conflict retries exhausted, ...). */
  ipamFailed: 102,
  /** Creating or configuring the pod's interfaces failed (everything made was removed). */
  interfaceSetupFailed: 103,
  /** CHECK found the attachment different from what ADD made. */
  checkFailed: 104,
  /** The agent could not register the workload endpoint with its dataplane. */
  endpointFailed: 105,
} as const;

export interface CniErrorResult {
  readonly cniVersion: string;
  readonly code: number;
  readonly msg: string;
  readonly details?: string;
}

/** A spec error, printed as JSON on stdout with a non-zero exit. */
export class CniError extends MargayError {
  readonly code = 'MGY_CNI';
  constructor(
    readonly cniCode: number,
    readonly msg: string,
    readonly details?: string,
  ) {
    super(details ? `${msg}: ${details}` : msg);
  }
  toResult(cniVersion: string): CniErrorResult {
    return { cniVersion, code: this.cniCode, msg: this.msg, ...(this.details ? { details: this.details } : {}) };
  }
}

export interface NetworkConfig {
  readonly cniVersion: string;
  readonly name: string;
  readonly type: string;
  /** Where margay-node's CNI endpoint listens; absent: the agent of the plugin's netns (cni/wire.ts). */
  readonly agentSocket?: string;
  /** `margay-ipam` (the agent's own IPAM, the default) or a standard IPAM plugin to delegate to. */
  readonly ipamType: string;
  /** Pod interface MTU (1-65535); absent: the agent's. */
  readonly mtu?: number;
  /** `prevResult` as given (chained after another plugin, or DEL/CHECK). */
  readonly prevResult?: Readonly<Record<string, unknown>>;
  /** GC (spec 1.1): `cni.dev/valid-attachments`. */
  readonly validAttachments?: readonly { readonly containerId: string; readonly ifName: string }[];
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface CniRequest {
  readonly command: CniCommand;
  readonly config: NetworkConfig;
  readonly containerId?: string;
  readonly netns?: string;
  readonly ifName?: string;
  /** CNI_ARGS as key/value pairs (K8S_POD_NAMESPACE, K8S_POD_NAME, ...). */
  readonly args: Readonly<Record<string, string>>;
  readonly path: readonly string[];
}

/** Which variables each command requires (spec §"Parameters"). */
const REQUIRED_ENV: Record<CniCommand, readonly string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  VERSION: [],
  STATUS: [],
  GC: [],
};

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const IPAM_TYPE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const IFNAME_BAD = /[\s/:]/;

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function parseCniArgs(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!s) return out;
  for (const pair of s.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CniError(CNI_ERROR.invalidEnvironment, 'invalid CNI_ARGS', `"${pair}" is not KEY=VALUE`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** The version to answer in: the config's when it is one we support, else the latest. */
export function answerVersion(stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    if (typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v)) return v;
  } catch {
    return LATEST_VERSION; // undecodable stdin: the error itself is reported by parseRequest
  }
  return LATEST_VERSION;
}

function parseConfig(stdin: string, command: CniCommand): NetworkConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (err) {
    throw new CniError(CNI_ERROR.decodeFailure, 'failed to decode network configuration', (err as Error).message);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CniError(
      CNI_ERROR.decodeFailure,
      'failed to decode network configuration',
      'stdin must be a JSON object',
    );
  }
  const o = raw as Record<string, unknown>;
  const cniVersion = o.cniVersion;
  if (typeof cniVersion !== 'string' || !/^\d+\.\d+\.\d+$/.test(cniVersion)) {
    throw new CniError(
      CNI_ERROR.invalidNetworkConfig,
      'invalid network configuration',
      'cniVersion must be a version like "1.0.0"',
    );
  }
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion)) {
    throw new CniError(
      CNI_ERROR.incompatibleVersion,
      'incompatible CNI version',
      `config version "${cniVersion}" is not supported; supported: ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  if (command === 'STATUS' || command === 'GC') {
    if (compareVersions(cniVersion, '1.1.0') < 0) {
      throw new CniError(
        CNI_ERROR.incompatibleVersion,
        'incompatible CNI version',
        `${command} needs cniVersion 1.1.0 or later, config has ${cniVersion}`,
      );
    }
  }
  if (command === 'CHECK' && compareVersions(cniVersion, '0.4.0') < 0) {
    throw new CniError(
      CNI_ERROR.incompatibleVersion,
      'incompatible CNI version',
      `CHECK needs cniVersion 0.4.0 or later, config has ${cniVersion}`,
    );
  }
  const name = o.name;
  if (typeof name !== 'string' || !NETWORK_NAME.test(name)) {
    throw new CniError(
      CNI_ERROR.invalidNetworkConfig,
      'invalid network configuration',
      '"name" is required and must be alphanumeric with _ . - (not first)',
    );
  }
  if (o.type !== 'margay') {
    throw new CniError(
      CNI_ERROR.invalidNetworkConfig,
      'invalid network configuration',
      `"type" must be "margay", got ${JSON.stringify(o.type)}`,
    );
  }
  let ipamType = 'margay-ipam';
  if (o.ipam !== undefined) {
    const ipam = o.ipam as Record<string, unknown> | null;
    if (
      typeof ipam !== 'object' ||
      ipam === null ||
      Array.isArray(ipam) ||
      typeof ipam.type !== 'string' ||
      !IPAM_TYPE.test(ipam.type)
    ) {
      throw new CniError(
        CNI_ERROR.invalidNetworkConfig,
        'invalid network configuration',
        'ipam must be an object with "type": "margay-ipam" or a standard IPAM plugin\'s name',
      );
    }
    ipamType = ipam.type;
  }
  const agentSocket = o.agentSocket;
  if (
    agentSocket !== undefined &&
    (typeof agentSocket !== 'string' || !agentSocket.startsWith('/') || agentSocket.length > 107)
  ) {
    throw new CniError(
      CNI_ERROR.invalidNetworkConfig,
      'invalid network configuration',
      'agentSocket must be an absolute path of at most 107 bytes',
    );
  }
  const mtu = o.mtu;
  if (mtu !== undefined && (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 68 || mtu > 65_535)) {
    throw new CniError(
      CNI_ERROR.invalidNetworkConfig,
      'invalid network configuration',
      'mtu must be an integer from 68 to 65535',
    );
  }
  const prev = o.prevResult;
  if (prev !== undefined && (typeof prev !== 'object' || prev === null || Array.isArray(prev))) {
    throw new CniError(
      CNI_ERROR.decodeFailure,
      'failed to decode network configuration',
      'prevResult must be an object',
    );
  }
  return {
    cniVersion,
    name,
    type: 'margay',
    ipamType,
    raw: o,
    ...(agentSocket !== undefined ? { agentSocket: agentSocket as string } : {}),
    ...(mtu !== undefined ? { mtu: mtu as number } : {}),
    ...(prev !== undefined ? { prevResult: prev as Record<string, unknown> } : {}),
    ...(command === 'GC' ? { validAttachments: parseValidAttachments(o['cni.dev/valid-attachments']) } : {}),
  };
}

/** GC's `cni.dev/valid-attachments`: absent means none are valid (spec 1.1 §GC). */
function parseValidAttachments(v: unknown): { containerId: string; ifName: string }[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > 1_000_000) {
    throw new CniError(
      CNI_ERROR.invalidNetworkConfig,
      'invalid network configuration',
      'cni.dev/valid-attachments must be a list',
    );
  }
  return v.map((a: unknown, i) => {
    const o = a as Record<string, unknown> | null;
    if (typeof o !== 'object' || o === null || typeof o.containerID !== 'string' || typeof o.ifname !== 'string') {
      throw new CniError(
        CNI_ERROR.invalidNetworkConfig,
        'invalid network configuration',
        `cni.dev/valid-attachments[${i}] needs string "containerID" and "ifname"`,
      );
    }
    return { containerId: o.containerID, ifName: o.ifname };
  });
}

/** Validates one invocation. Throws CniError with the spec's code for whatever is wrong. */
export function parseRequest(env: Readonly<Record<string, string | undefined>>, stdin: string): CniRequest {
  const command = env.CNI_COMMAND;
  if (!command) throw new CniError(CNI_ERROR.invalidEnvironment, 'invalid environment', 'CNI_COMMAND is not set');
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new CniError(
      CNI_ERROR.invalidEnvironment,
      'invalid environment',
      `unknown CNI_COMMAND "${command}"; expected one of ${COMMANDS.join(', ')}`,
    );
  }
  const cmd = command as CniCommand;
  for (const v of REQUIRED_ENV[cmd]) {
    if (!env[v]) throw new CniError(CNI_ERROR.invalidEnvironment, 'invalid environment', `${v} is required for ${cmd}`);
  }
  const containerId = env.CNI_CONTAINERID || undefined;
  if (containerId !== undefined && !CONTAINER_ID.test(containerId)) {
    throw new CniError(
      CNI_ERROR.invalidEnvironment,
      'invalid environment',
      `CNI_CONTAINERID "${containerId}" must be alphanumeric with _ . -`,
    );
  }
  const ifName = env.CNI_IFNAME || undefined;
  if (ifName !== undefined && (ifName.length > 15 || ifName === '.' || ifName === '..' || IFNAME_BAD.test(ifName))) {
    throw new CniError(
      CNI_ERROR.invalidEnvironment,
      'invalid environment',
      `CNI_IFNAME "${ifName}" is not a valid interface name`,
    );
  }
  const netns = env.CNI_NETNS || undefined;
  if (netns !== undefined && (!netns.startsWith('/') || netns.length > 4096 || netns.includes('\0'))) {
    throw new CniError(
      CNI_ERROR.invalidEnvironment,
      'invalid environment',
      `CNI_NETNS "${netns.slice(0, 200)}" must be an absolute path`,
    );
  }
  const config = parseConfig(stdin, cmd);
  return {
    command: cmd,
    config,
    ...(containerId !== undefined ? { containerId } : {}),
    ...(netns !== undefined ? { netns } : {}),
    ...(ifName !== undefined ? { ifName } : {}),
    args: parseCniArgs(env.CNI_ARGS),
    path: (env.CNI_PATH ?? '').split(':').filter(Boolean),
  };
}

export function versionResult(stdin: string): { cniVersion: string; supportedVersions: readonly string[] } {
  return { cniVersion: answerVersion(stdin), supportedVersions: SUPPORTED_VERSIONS };
}
