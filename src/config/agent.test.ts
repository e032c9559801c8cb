import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { loadAgentConfig } from './agent.js';

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
      runDir: '/run/margay',
      healthPort: 9099,
      metricsPort: 9091,
      logLevel: 'info',
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads Calico-named env vars; flags win over env', () => {
    const c = loadAgentConfig(['--datastore', 'kubernetes', '--log-level', 'debug'], {
      ...ENV,
      MARGAY_DATASTORE: 'file:/srv/ds',
      KUBECONFIG: '/etc/k.conf',
      IP: '10.0.0.5/24',
      MARGAY_HEALTH_PORT: '0',
    });
    expect(c.datastore).toEqual({ type: 'kubernetes' });
    expect(c.kubeconfig).toBe('/etc/k.conf');
    expect(c.ip).toEqual({ address: '10.0.0.5', prefixLength: 24 });
    expect(c.healthPort).toBe(0);
    expect(c.logLevel).toBe('debug');
  });

  it.each([
    ['can-reach=10.0.0.1', { method: 'can-reach', destination: '10.0.0.1' }],
    ['interface=eth.*,ens3', { method: 'interface', patterns: ['eth.*', 'ens3'] }],
    ['cidr=10.0.0.0/8,192.168.0.0/16', { method: 'cidr', cidrs: ['10.0.0.0/8', '192.168.0.0/16'] }],
    ['kubernetes-internal-ip', { method: 'kubernetes-internal-ip' }],
  ])('IP_AUTODETECTION_METHOD=%s', (value, expected) => {
    expect(loadAgentConfig([], { ...ENV, IP_AUTODETECTION_METHOD: value }).ip).toEqual({ autodetect: expected });
  });

  it.each([
    [{}, '--nodename / NODENAME', 'is required'],
    [{ NODENAME: 'Node_A' }, '--nodename / NODENAME', 'DNS-1123'],
    [{ ...ENV, MARGAY_DATASTORE: 'etcd' }, '--datastore / MARGAY_DATASTORE', 'must be "kubernetes" or "file:<absolute dir>"'],
    [{ ...ENV, MARGAY_DATASTORE: 'file:relative' }, '--datastore / MARGAY_DATASTORE', 'absolute directory'],
    [{ ...ENV, IP: '10.0.0.300' }, '--ip / IP', 'must be an IPv4 address'],
    [{ ...ENV, IP_AUTODETECTION_METHOD: 'can-reach=example' }, '--ip-autodetection / IP_AUTODETECTION_METHOD', 'needs an IPv4 address'],
    [{ ...ENV, IP_AUTODETECTION_METHOD: 'interface=(' }, '--ip-autodetection / IP_AUTODETECTION_METHOD', 'not a valid regex'],
    [{ ...ENV, IP_AUTODETECTION_METHOD: 'magic' }, '--ip-autodetection / IP_AUTODETECTION_METHOD', 'unknown method'],
    [{ ...ENV, MARGAY_HEALTH_PORT: 'x' }, '--health-port / MARGAY_HEALTH_PORT', 'must be a number'],
    [{ ...ENV, MARGAY_METRICS_PORT: '70000' }, '--metrics-port / MARGAY_METRICS_PORT', ''],
    [{ ...ENV, MARGAY_METRICS_PORT: '9099' }, '--metrics-port / MARGAY_METRICS_PORT', 'must differ'],
    [{ ...ENV, MARGAY_LOG_LEVEL: 'loud' }, '--log-level / MARGAY_LOG_LEVEL', 'must be one of'],
    [{ ...ENV, MARGAY_RUN_DIR: 'run' }, '--run-dir / MARGAY_RUN_DIR', 'absolute path'],
  ])('rejects %o naming %s', (env, source, reason) => {
    const e = err(() => loadAgentConfig([], env));
    expect(e.source).toBe(source);
    expect(e.message).toContain(reason);
  });

  it('rejects unknown flags', () => {
    expect(err(() => loadAgentConfig(['--nodname', 'x'], ENV)).message).toContain("Unknown option '--nodname'");
  });
});
