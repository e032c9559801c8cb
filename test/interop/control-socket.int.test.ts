import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ControlClient, ControlClientError } from '../../bgp/control/client.js';
import type { ControlHandler } from '../../bgp/control/routes.js';
import { ControlSocketError, startControlServer } from '../../bgp/control/server.js';
import { silentLogger } from '../../src/log.js';
import { runMargayctl } from '../../src/cli/margayctl.js';

// The control API over a real unix socket: client ↔ server round trips, mode 0600, stale-socket
// replacement, refusal to steal a live socket, and margayctl against it.

const handler: ControlHandler = {
  peers: () => [
    {
      address: '10.0.0.2',
      port: 179,
      asn: 65002,
      dynamic: false,
      type: 'ebgp',
      state: 'Established',
      uptimeSeconds: 5,
      families: ['ipv4'],
      prefixesReceived: 3,
      prefixesAccepted: 2,
      prefixesAdvertised: 1,
      routeReflectorClient: false,
      flaps: 0,
    },
  ],
  rib: (q) => ({ matched: q.prefix ? 1 : 0, prefixes: { ipv4: 1, ipv6: 0 }, paths: { ipv4: 1, ipv6: 0 }, routes: [] }),
  announce: (r) => ({ announced: r.prefixes.length }),
  withdraw: (p) => ({ withdrawn: p.length }),
  reload: async () => ({ reloaded: false, error: 'peers[0].asn: bad' }),
  refresh: (peer) => ({ sent: peer === '10.0.0.2' }),
};

describe('control socket', () => {
  it('serves the API to the client and margayctl, creates its dir, mode 0600, refuses a live socket and a non-socket', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mgy-ctl-'));
    const sock = join(dir, 'sub', 'bgpd.sock');
    try {
      await writeFile(join(dir, 'not-a-socket'), 'x');
      await expect(startControlServer(join(dir, 'not-a-socket'), handler, silentLogger())).rejects.toBeInstanceOf(
        ControlSocketError,
      );

      const server = await startControlServer(sock, handler, silentLogger());
      try {
        expect((await stat(sock)).mode & 0o777).toBe(0o600);
        await expect(startControlServer(sock, handler, silentLogger())).rejects.toThrow(/in use/);
        const c = new ControlClient(sock);
        expect((await c.peers())[0]?.address).toBe('10.0.0.2');
        expect((await c.rib({ prefix: '10.0.0.0/8', longer: true })).matched).toBe(1);
        expect(await c.announce({ prefixes: ['10.1.0.0/24', '10.2.0.0/24'] })).toEqual({ announced: 2 });
        expect(await c.withdraw(['10.1.0.0/24'])).toEqual({ withdrawn: 1 });
        expect(await c.reload()).toEqual({ reloaded: false, error: 'peers[0].asn: bad' });
        const err = await c.announce({ prefixes: ['bogus'] }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ControlClientError);
        expect((err as ControlClientError).status).toBe(400);

        const out: string[] = [];
        const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
        expect(await runMargayctl(['bgp', 'peers', '--socket', sock], io)).toBe(0);
        expect(out.join('\n')).toMatch(/10\.0\.0\.2\s+65002\s+ebgp\s+Established\s+00:00:05\s+3\s+2\s+1\s+-/);
        expect(await runMargayctl(['bgp', 'rib', '--count', '--socket', sock], io)).toBe(0);
        expect(out.at(-1)).toBe('IPv4: 1 prefixes, 1 paths; IPv6: 0 prefixes, 0 paths; 0 paths match');
        expect(await runMargayctl(['bgp', 'announce', '10.9.0.0/24', '--socket', sock], io)).toBe(0);
        expect(out.at(-1)).toBe('announced 1 prefix(es)');
        expect(await runMargayctl(['bgp', 'reload', '--socket', sock], io)).toBe(1);
        expect(out.at(-1)).toContain('reload failed, running config kept: peers[0].asn: bad');
      } finally {
        await server.close();
      }
      await expect(stat(sock)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('takes over a socket file left behind by a dead process', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mgy-ctl-'));
    const sock = join(dir, 'bgpd.sock');
    try {
      // A child process listens and is killed: its socket file stays, nobody answers.
      const { execa } = await import('execa');
      const child = execa(
        process.execPath,
        [
          '-e',
          `require('net').createServer().listen(${JSON.stringify(sock)}, () => process.kill(process.pid, 'SIGKILL'))`,
        ],
        { reject: false },
      );
      await child;
      expect((await stat(sock)).isSocket()).toBe(true);
      const server = await startControlServer(sock, handler, silentLogger());
      try {
        expect((await new ControlClient(sock).peers()).length).toBe(1);
      } finally {
        await server.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
