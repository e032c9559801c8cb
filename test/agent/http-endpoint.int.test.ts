/**
 * The agent's HTTP services on the service lifecycle (agent/http-endpoint.ts): health and metrics
 * answer, stop waits for a request in flight, refuses new ones, is idempotent, and a stuck client
 * cannot hold stop up past the drain bound. Loopback only, inside scripts/in-sandbox.sh.
 */
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { HealthServer } from '../../agent/health.js';
import { EndpointSlot, HttpEndpoint } from '../../agent/http-endpoint.js';
import { AgentMetrics } from '../../agent/metrics.js';
import { silentLogger } from '../../src/log.js';
import { ServiceGroup, ServiceStoppedError } from '../../src/runtime/index.js';
import { REPO } from './cluster.js';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HealthServer and AgentMetrics on HttpEndpoint', () => {
  it('serve liveness, readiness and metrics; a ServiceGroup stops them last-first; stop is idempotent', async () => {
    const health = new HealthServer(silentLogger());
    const metrics = new AgentMetrics({ defaultMetrics: false });
    const group = new ServiceGroup(silentLogger());
    await group.adopt(health);
    const hp = await health.listen(0);
    await group.adopt(metrics);
    const mp = await metrics.listen(0, '127.0.0.1', silentLogger());
    health.setReady('datastore', false);
    expect(await get(hp, '/liveness')).toEqual({ status: 200, body: 'ok\n' });
    expect(await get(hp, '/readiness')).toEqual({ status: 503, body: 'not ready: datastore\n' });
    health.setReady('datastore', true);
    expect((await get(hp, '/readiness')).status).toBe(200);
    expect((await get(hp, '/nope')).status).toBe(404);
    const m = await get(mp, '/metrics');
    expect(m.status).toBe(200);
    expect(m.body).toContain('margay_datastore_in_sync 0');
    expect(group.stopOrder).toEqual(['metrics', 'health']);
    await group.stop();
    await expect(get(hp, '/liveness')).rejects.toThrow(/ECONNREFUSED/);
    await expect(get(mp, '/metrics')).rejects.toThrow(/ECONNREFUSED/);
    await health.stop();
    await metrics.stop();
    await expect(health.listen(0)).rejects.toThrow();
  });

  it('EndpointSlot: one listen per service (a second is a bug), stop idempotent, a stop first closes a later listen at once', async () => {
    const slot = new EndpointSlot('health server');
    const port = await slot.listen('health', 0, '127.0.0.1', (_q, r) => void r.end('ok'), silentLogger());
    expect((await get(port, '/')).body).toBe('ok');
    await expect(slot.listen('health', 0, '127.0.0.1', () => undefined, silentLogger())).rejects.toThrow(
      `health server already listening on ${port}`,
    );
    await slot.stop();
    await slot.stop();
    await expect(get(port, '/')).rejects.toThrow(/ECONNREFUSED/);
    const early = new EndpointSlot('metrics');
    await early.stop();
    await expect(early.listen('metrics', 0, '127.0.0.1', () => undefined, silentLogger())).rejects.toThrow(
      ServiceStoppedError,
    );
  });

  it('a failing metrics collection is a 500, and the endpoint keeps serving', async () => {
    const metrics = new AgentMetrics({ defaultMetrics: false });
    metrics.setProviders({
      bgpPeers: () => {
        throw new Error('provider broke');
      },
      ipam: () => [],
      localEndpoints: () => 0,
      routes: () => ({}),
      inSync: () => true,
    });
    const port = await metrics.listen(0, '127.0.0.1', silentLogger());
    expect((await get(port, '/metrics')).status).toBe(500);
    expect((await get(port, '/metrics?x')).status).toBe(500);
    expect((await get(port, '/other')).status).toBe(404);
    await metrics.stop();
  });
});

describe('HttpEndpoint lifecycle', () => {
  it('stop waits for the request in flight, answers new ones 503, then closes', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    const ep = new HttpEndpoint(
      'slow',
      { port: 0, host: '127.0.0.1' },
      async (req, res) => {
        if (req.url === '/slow') await held;
        res.end(req.url);
      },
      silentLogger(),
    );
    await ep.start();
    const port = ep.port!;
    const slow = get(port, '/slow');
    await new Promise((r) => setTimeout(r, 50));
    expect(ep.inFlight).toBe(1);
    let stopped = false;
    const stopping = ep.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped).toBe(false);
    expect(ep.state).toBe('stopping');
    const refused = await get(port, '/fast');
    expect(refused.status).toBe(503);
    release();
    expect(await slow).toEqual({ status: 200, body: '/slow' });
    await stopping;
    expect(ep.state).toBe('stopped');
    await expect(get(port, '/fast')).rejects.toThrow(/ECONNREFUSED/);
    expect(ep.stop()).toBe(ep.stop()); // idempotent: the same promise
    await expect(ep.start()).rejects.toBeInstanceOf(ServiceStoppedError);
  });

  it('a client that never finishes its request cannot hold stop past drainMs; an idle keep-alive neither', async () => {
    const ep = new HttpEndpoint(
      'stuck',
      { port: 0, host: '127.0.0.1', drainMs: 200 },
      () => new Promise<void>(() => {}), // never answers
      silentLogger(),
    );
    await ep.start();
    const port = ep.port!;
    const pending = get(port, '/').catch((e: unknown) => e);
    const idle = connect(port, '127.0.0.1'); // connected, sends nothing
    await new Promise((r) => idle.once('connect', r));
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await ep.stop();
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await pending).toBeInstanceOf(Error);
    idle.destroy();
  });

  it('a port in use fails start with the error, and stop still completes', async () => {
    const a = new HttpEndpoint('a', { port: 0, host: '127.0.0.1' }, (_q, s) => void s.end(), silentLogger());
    await a.start();
    const b = new HttpEndpoint('b', { port: a.port!, host: '127.0.0.1' }, (_q, s) => void s.end(), silentLogger());
    await expect(b.start()).rejects.toThrow(/EADDRINUSE/);
    await b.stop();
    expect(b.state).toBe('stopped');
    await a.stop();
  });

  it('binds its port (and the CNI server its socket) without loading node:http; the first connection loads it and is answered', async () => {
    // A fresh Node (vitest has node:http loaded): the built endpoint, a raw request over node:net.
    const script = `
      import { HttpEndpoint } from ${JSON.stringify(join(REPO, 'dist/agent/http-endpoint.js'))};
      import { silentLogger } from ${JSON.stringify(join(REPO, 'dist/src/log.js'))};
      import { CniServer } from ${JSON.stringify(join(REPO, 'dist/agent/cni/index.js'))};
      import { connect } from 'node:net';
      import { mkdtempSync } from 'node:fs';
      const loaded = () => process.moduleLoadList.includes('NativeModule http');
      const dir = mkdtempSync('/tmp/mgy-lazy-http-');
      const cni = new CniServer({ nodeName: 'n', ipam: {}, endpoints: { register() {}, unregister() {}, waitProgrammed: async () => true },
        pods: { getPod: async () => undefined }, log: silentLogger(), socketPath: dir + '/cni.sock', stateDir: dir + '/state', discoveryLink: false });
      await cni.start();
      const ep = new HttpEndpoint('t', { port: 0, host: '127.0.0.1' }, (_q, s) => void s.end('hi'), silentLogger());
      await ep.start();
      const before = loaded();
      const answer = await new Promise((resolve, reject) => {
        const c = connect(ep.port, '127.0.0.1', () => c.end('GET / HTTP/1.1\\r\\nhost: x\\r\\nconnection: close\\r\\n\\r\\n'));
        let got = '';
        c.on('data', (d) => (got += d));
        c.on('end', () => resolve(got));
        c.on('error', reject);
      });
      await ep.stop();
      const cniAnswer = await new Promise((resolve, reject) => {
        const c = connect(dir + '/cni.sock', () => c.end('GET / HTTP/1.1\\r\\nhost: x\\r\\nconnection: close\\r\\n\\r\\n'));
        let got = '';
        c.on('data', (d) => (got += d));
        c.on('end', () => resolve(got.split('\\r\\n')[0]));
        c.on('error', reject);
      });
      await cni.stop();
      console.log(JSON.stringify({ before, after: loaded(), status: answer.split('\\r\\n')[0], body: answer.endsWith('hi'), cni: cniAnswer }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout)).toEqual({
      before: false,
      after: true,
      status: 'HTTP/1.1 200 OK',
      body: true,
      cni: 'HTTP/1.1 404 Not Found',
    });
  });
});
