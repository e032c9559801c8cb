import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { agentHelp, AGENT_SETTINGS, loadAgentConfig } from './agent.js';

const ENV = { NODENAME: 'node-a' };

function err(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('loadAgentConfig', () => {
  it('applies defaults and freezes', () => {
    const c = loadAgentConfig([], ENV);
    expect(c).toEqual({
      nodeName: 'node-a',
      datastore: { type: 'file', dir: '/var/lib/margay/datastore' },
      kubeconfig: undefined,
      ip: { autodetect: { method: 'first-found' } },
      ip6: { none: true },
      asNumber: undefined,
      bgp: true,
      runDir: '/run/margay',
      secretsDir: '/etc/margay/secrets',
      healthPort: 9099,
      healthHost: '127.0.0.1',
      metricsPort: 9091,
      logLevel: 'info',
      logFormat: 'json',
      defaultPools: {
        v4: { name: 'default-ipv4-ippool', cidr: '192.168.0.0/16', blockSize: 26, natOutgoing: true },
        v6: undefined,
      },
      datastoreRetry: { initialMs: 250, maxMs: 30_000 },
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.defaultPools)).toBe(true);
  });

  it('reads Calico-named env vars; flags win over env', () => {
    const c = loadAgentConfig(['--datastore', 'kubernetes', '--log-level', 'debug', '--as', '65010'], {
      ...ENV,
      MARGAY_DATASTORE: 'file:/srv/ds',
      KUBECONFIG: '/etc/k.conf',
      IP: '10.0.0.5/24',
      IP6: 'fd00::5/64',
      AS: '65001',
      MARGAY_HEALTH_PORT: '0',
      MARGAY_LOG_FORMAT: 'pretty',
      MARGAY_NETWORKING_BACKEND: 'none',
    });
    expect(c.datastore).toEqual({ type: 'kubernetes' });
    expect(c.kubeconfig).toBe('/etc/k.conf');
    expect(c.ip).toEqual({ address: '10.0.0.5', prefixLength: 24 });
    expect(c.ip6).toEqual({ address: 'fd00::5', prefixLength: 64 });
    expect(c.asNumber).toBe(65010);
    expect(c.healthPort).toBe(0);
    expect(c.logLevel).toBe('debug');
    expect(c.logFormat).toBe('pretty');
    expect(c.bgp).toBe(false);
  });

  it.each([
    ['can-reach=10.0.0.1', { method: 'can-reach', destination: '10.0.0.1' }],
    ['interface=eth.*,ens3', { method: 'interface', patterns: ['eth.*', 'ens3'] }],
    ['skip-interface=docker.*', { method: 'skip-interface', patterns: ['docker.*'] }],
    ['cidr=10.0.0.0/8,192.168.0.0/16', { method: 'cidr', cidrs: ['10.0.0.0/8', '192.168.0.0/16'] }],
    ['kubernetes-internal-ip', { method: 'kubernetes-internal-ip' }],
    ['first-found', { method: 'first-found' }],
  ])('IP_AUTODETECTION_METHOD=%s', (value, expected) => {
    expect(loadAgentConfig([], { ...ENV, IP_AUTODETECTION_METHOD: value }).ip).toEqual({ autodetect: expected });
  });

  it('IP6=autodetect uses IP6_AUTODETECTION_METHOD for IPv6', () => {
    const c = loadAgentConfig([], { ...ENV, IP6: 'autodetect', IP6_AUTODETECTION_METHOD: 'can-reach=fd00::1' });
    expect(c.ip6).toEqual({ autodetect: { method: 'can-reach', destination: 'fd00::1' } });
  });

  it('default pools from env, IPv6 only when a CIDR is given, none with MARGAY_NO_DEFAULT_POOLS', () => {
    const c = loadAgentConfig([], {
      ...ENV,
      MARGAY_IPV4POOL_CIDR: '10.244.0.0/16',
      MARGAY_IPV4POOL_BLOCK_SIZE: '24',
      MARGAY_IPV4POOL_NAT_OUTGOING: 'false',
      MARGAY_IPV6POOL_CIDR: 'fd00:10::/48',
    });
    expect(c.defaultPools).toEqual({
      v4: { name: 'default-ipv4-ippool', cidr: '10.244.0.0/16', blockSize: 24, natOutgoing: false },
      v6: { name: 'default-ipv6-ippool', cidr: 'fd00:10::/48', blockSize: 122, natOutgoing: false },
    });
    expect(loadAgentConfig([], { ...ENV, MARGAY_NO_DEFAULT_POOLS: 'true' }).defaultPools).toEqual({
      v4: undefined,
      v6: undefined,
    });
  });

  it.each([
    [{}, '--nodename / NODENAME', 'is required'],
    [{ NODENAME: 'Node_A' }, '--nodename / NODENAME', 'DNS-1123'],
    [
      { ...ENV, MARGAY_DATASTORE: 'etcd' },
      '--datastore / MARGAY_DATASTORE',
      'must be "kubernetes" or "file:<absolute dir>"',
    ],
    [{ ...ENV, MARGAY_DATASTORE: 'file:relative' }, '--datastore / MARGAY_DATASTORE', 'absolute directory'],
    [{ ...ENV, IP: '10.0.0.300' }, '--ip / IP', 'must be an IPv4 address'],
    [{ ...ENV, IP: 'fd00::1' }, '--ip / IP', 'must be an IPv4 address'],
    [{ ...ENV, IP6: '10.0.0.1' }, '--ip6 / IP6', 'must be an IPv6 address'],
    [{ ...ENV, IP: 'none' }, '--ip / IP', 'both "none"'],
    [
      { ...ENV, IP_AUTODETECTION_METHOD: 'can-reach=example' },
      '--ip-autodetection / IP_AUTODETECTION_METHOD',
      'needs an IPv4 address',
    ],
    [
      { ...ENV, IP6: 'autodetect', IP6_AUTODETECTION_METHOD: 'cidr=10.0.0.0/8' },
      '--ip6-autodetection / IP6_AUTODETECTION_METHOD',
      'is not an IPv6 CIDR',
    ],
    [
      { ...ENV, IP_AUTODETECTION_METHOD: 'interface=(' },
      '--ip-autodetection / IP_AUTODETECTION_METHOD',
      'not a valid regex',
    ],
    [
      { ...ENV, IP_AUTODETECTION_METHOD: 'skip-interface=' },
      '--ip-autodetection / IP_AUTODETECTION_METHOD',
      'needs one or more',
    ],
    [{ ...ENV, IP_AUTODETECTION_METHOD: 'magic' }, '--ip-autodetection / IP_AUTODETECTION_METHOD', 'unknown method'],
    [{ ...ENV, MARGAY_HEALTH_PORT: 'x' }, '--health-port / MARGAY_HEALTH_PORT', 'must be a whole number in 0..65535'],
    [
      { ...ENV, MARGAY_METRICS_PORT: '70000' },
      '--metrics-port / MARGAY_METRICS_PORT',
      'must be a whole number in 0..65535, got "70000"',
    ],
    [{ ...ENV, MARGAY_METRICS_PORT: '9099' }, '--metrics-port / MARGAY_METRICS_PORT', 'must differ'],
    [{ ...ENV, MARGAY_HEALTH_HOST: 'localhost' }, '--health-host / MARGAY_HEALTH_HOST', 'must be an IP address'],
    [{ ...ENV, AS: '0' }, '--as / AS', 'must be a whole number in 1..4294967295'],
    [{ ...ENV, AS: '4294967296' }, '--as / AS', '1..4294967295'],
    [{ ...ENV, MARGAY_LOG_LEVEL: 'loud' }, '--log-level / MARGAY_LOG_LEVEL', 'must be one of'],
    [{ ...ENV, MARGAY_LOG_FORMAT: 'xml' }, '--log-format / MARGAY_LOG_FORMAT', 'must be one of json, pretty'],
    [
      { ...ENV, MARGAY_NETWORKING_BACKEND: 'bird' },
      '--networking-backend / MARGAY_NETWORKING_BACKEND',
      'must be "bgp" or "none"',
    ],
    [{ ...ENV, MARGAY_RUN_DIR: 'run' }, '--run-dir / MARGAY_RUN_DIR', 'absolute path'],
    [
      { ...ENV, MARGAY_DATASTORE_RETRY_MAX_MS: '5' },
      '--datastore-retry-max / MARGAY_DATASTORE_RETRY_MAX_MS',
      '100..600000',
    ],
    [
      { ...ENV, MARGAY_IPV4POOL_CIDR: '10.0.0.1/16' },
      '--ipv4pool-cidr / MARGAY_IPV4POOL_CIDR',
      'host bits set; use 10.0.0.0/16',
    ],
    [{ ...ENV, MARGAY_IPV4POOL_CIDR: 'fd00::/64' }, '--ipv4pool-cidr / MARGAY_IPV4POOL_CIDR', 'must be an IPv4 CIDR'],
    [
      { ...ENV, MARGAY_IPV4POOL_BLOCK_SIZE: '33' },
      '--ipv4pool-block-size / MARGAY_IPV4POOL_BLOCK_SIZE',
      'must be a whole number in 20..32, got "33"',
    ],
    [
      { ...ENV, MARGAY_IPV4POOL_CIDR: '10.0.0.0/28' },
      '--ipv4pool-cidr / MARGAY_IPV4POOL_CIDR',
      'smaller than one /26 block',
    ],
    [
      { ...ENV, MARGAY_IPV4POOL_NAT_OUTGOING: 'yes' },
      '--ipv4pool-nat-outgoing / MARGAY_IPV4POOL_NAT_OUTGOING',
      'must be true or false',
    ],
    [
      { ...ENV, MARGAY_IPV6POOL_CIDR: 'fd00::/64', MARGAY_IPV6POOL_BLOCK_SIZE: '100' },
      '--ipv6pool-block-size / MARGAY_IPV6POOL_BLOCK_SIZE',
      '116..128',
    ],
    [{ ...ENV, MARGAY_NO_DEFAULT_POOLS: '1' }, '--no-default-pools / MARGAY_NO_DEFAULT_POOLS', 'must be true or false'],
  ])('rejects %o naming %s', (env, source, reason) => {
    const e = err(() => loadAgentConfig([], env));
    expect(e.source).toBe(source);
    expect(e.message).toContain(reason);
  });

  it('rejects unknown flags and points at --help', () => {
    const e = err(() => loadAgentConfig(['--nodname', 'x'], ENV));
    expect(e.message).toContain("Unknown option '--nodname'");
    expect(e.message).toContain('--help');
  });

  it('--help lists every flag with its variable and default', () => {
    const text = agentHelp();
    for (const [flag, s] of Object.entries(AGENT_SETTINGS)) {
      const line = text.split('\n').find((l) => l.includes(`--${flag} `));
      expect(line, flag).toBeDefined();
      expect(line).toContain(s.env);
      if (s.def !== undefined) expect(line).toContain(s.def);
    }
  });
});
