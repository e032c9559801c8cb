import { describe, expect, it } from 'vitest';
import { CNI_ERROR, CniError, parseCniArgs, parseRequest, versionResult } from './protocol.js';

const CONF = JSON.stringify({
  cniVersion: '1.0.0',
  name: 'k8s-pod-network',
  type: 'margay',
  ipam: { type: 'margay-ipam' },
});
const ADD_ENV = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'abc123',
  CNI_NETNS: '/var/run/netns/x',
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0',
  CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
};

function cniErr(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('expected a CniError');
}

describe('CNI protocol', () => {
  it('parses a valid ADD with pod identity from CNI_ARGS', () => {
    const r = parseRequest(ADD_ENV, CONF);
    expect(r).toMatchObject({
      command: 'ADD',
      containerId: 'abc123',
      netns: '/var/run/netns/x',
      ifName: 'eth0',
      args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'web-0' },
      path: ['/opt/cni/bin', '/usr/lib/cni'],
      config: { cniVersion: '1.0.0', name: 'k8s-pod-network', ipamType: 'margay-ipam' },
    });
  });

  it('VERSION answers in the config version when supported, else the latest', () => {
    expect(versionResult('{"cniVersion":"0.4.0"}')).toEqual({
      cniVersion: '0.4.0',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
    expect(versionResult('{"cniVersion":"9.9.9"}').cniVersion).toBe('1.1.0');
    expect(versionResult('').cniVersion).toBe('1.1.0');
  });

  it('DEL needs no netns; STATUS and GC need none of the container variables', () => {
    expect(
      parseRequest({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'abc', CNI_IFNAME: 'eth0' }, CONF).netns,
    ).toBeUndefined();
    const v11 = JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 'margay' });
    expect(parseRequest({ CNI_COMMAND: 'STATUS' }, v11).command).toBe('STATUS');
    expect(parseRequest({ CNI_COMMAND: 'GC' }, v11).command).toBe('GC');
  });

  it.each([
    [{ ...ADD_ENV, CNI_COMMAND: undefined }, CONF, CNI_ERROR.invalidEnvironment, 'CNI_COMMAND is not set'],
    [{ ...ADD_ENV, CNI_COMMAND: 'UP' }, CONF, CNI_ERROR.invalidEnvironment, 'unknown CNI_COMMAND "UP"'],
    [{ ...ADD_ENV, CNI_NETNS: '' }, CONF, CNI_ERROR.invalidEnvironment, 'CNI_NETNS is required for ADD'],
    [{ ...ADD_ENV, CNI_CONTAINERID: 'a/b' }, CONF, CNI_ERROR.invalidEnvironment, 'CNI_CONTAINERID'],
    [
      { ...ADD_ENV, CNI_IFNAME: 'a-very-long-interface' },
      CONF,
      CNI_ERROR.invalidEnvironment,
      'not a valid interface name',
    ],
    [{ ...ADD_ENV, CNI_ARGS: 'K8S_POD_NAME' }, CONF, CNI_ERROR.invalidEnvironment, 'not KEY=VALUE'],
    [ADD_ENV, '{not json', CNI_ERROR.decodeFailure, 'failed to decode'],
    [ADD_ENV, '[]', CNI_ERROR.decodeFailure, 'must be a JSON object'],
    [
      ADD_ENV,
      JSON.stringify({ cniVersion: '2.0.0', name: 'n', type: 'margay' }),
      CNI_ERROR.incompatibleVersion,
      'not supported',
    ],
    [
      ADD_ENV,
      JSON.stringify({ cniVersion: 'x', name: 'n', type: 'margay' }),
      CNI_ERROR.invalidNetworkConfig,
      'cniVersion',
    ],
    [
      ADD_ENV,
      JSON.stringify({ cniVersion: '1.0.0', type: 'margay' }),
      CNI_ERROR.invalidNetworkConfig,
      '"name" is required',
    ],
    [
      ADD_ENV,
      JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'calico' }),
      CNI_ERROR.invalidNetworkConfig,
      '"type" must be "margay"',
    ],
    [
      ADD_ENV,
      JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'margay', ipam: { type: 7 } }),
      CNI_ERROR.invalidNetworkConfig,
      'ipam must be an object',
    ],
    [
      ADD_ENV,
      JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'margay', ipam: { type: '../x' } }),
      CNI_ERROR.invalidNetworkConfig,
      'ipam must be an object',
    ],
    [
      ADD_ENV,
      JSON.stringify({ cniVersion: '1.0.0', name: '-n', type: 'margay' }),
      CNI_ERROR.invalidNetworkConfig,
      '"name" is required',
    ],
    [
      ADD_ENV,
      JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'margay', mtu: 20 }),
      CNI_ERROR.invalidNetworkConfig,
      'mtu',
    ],
    [
      ADD_ENV,
      JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'margay', agentSocket: 'rel.sock' }),
      CNI_ERROR.invalidNetworkConfig,
      'agentSocket',
    ],
    [
      ADD_ENV,
      JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'margay', prevResult: [] }),
      CNI_ERROR.decodeFailure,
      'prevResult',
    ],
    [{ ...ADD_ENV, CNI_NETNS: 'relative/ns' }, CONF, CNI_ERROR.invalidEnvironment, 'CNI_NETNS'],
    [
      { CNI_COMMAND: 'GC' },
      JSON.stringify({
        cniVersion: '1.1.0',
        name: 'n',
        type: 'margay',
        'cni.dev/valid-attachments': [{ containerID: 1 }],
      }),
      CNI_ERROR.invalidNetworkConfig,
      'valid-attachments[0]',
    ],
    [{ CNI_COMMAND: 'STATUS' }, CONF, CNI_ERROR.incompatibleVersion, 'STATUS needs cniVersion 1.1.0'],
    [
      { ...ADD_ENV, CNI_COMMAND: 'CHECK' },
      JSON.stringify({ cniVersion: '0.3.1', name: 'n', type: 'margay' }),
      CNI_ERROR.incompatibleVersion,
      'CHECK needs cniVersion 0.4.0',
    ],
  ])('rejects %o / %s with code %i (%s)', (env, stdin, code, text) => {
    const e = cniErr(() => parseRequest(env, stdin));
    expect(e.cniCode).toBe(code);
    expect(e.message).toContain(text);
    expect(e.toResult('1.0.0')).toMatchObject({ cniVersion: '1.0.0', code });
  });

  it('reads GC valid attachments, host-local delegation, mtu and prevResult', () => {
    const gc = parseRequest(
      { CNI_COMMAND: 'GC' },
      JSON.stringify({
        cniVersion: '1.1.0',
        name: 'n',
        type: 'margay',
        'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }],
      }),
    );
    expect(gc.config.validAttachments).toEqual([{ containerId: 'a', ifName: 'eth0' }]);
    const add = parseRequest(
      ADD_ENV,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'n',
        type: 'margay',
        mtu: 1400,
        ipam: { type: 'host-local' },
        prevResult: { ips: [] },
      }),
    );
    expect(add.config).toMatchObject({ ipamType: 'host-local', mtu: 1400, prevResult: { ips: [] } });
  });

  it('parses CNI_ARGS, tolerating empty pairs', () => {
    expect(parseCniArgs('IgnoreUnknown=1;K8S_POD_NAME=a=b;;')).toEqual({ IgnoreUnknown: '1', K8S_POD_NAME: 'a=b' });
  });
});
