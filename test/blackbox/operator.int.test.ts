/**
 * margay-bgpd from an operator's seat: every bad configuration exits 2 with an error naming the field;
 * SIGHUP adds a peer without touching the established one; `margayctl bgp` tables, counts, JSON and
 * errors (exit codes 0 / 1) against the running daemon.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { runMargayctl } from '../../src/cli/margayctl.js';
import { waitFor } from '../helpers/bgp-daemons.js';
import { RawBgpPeer } from '../helpers/raw-bgp-peer.js';
import { run } from '../helpers/netns.js';
import { bundleMargayBgpd } from '../interop/margay-process.js';
import { BIRD_IP, MARGAY_RAW_IP, withRig } from './rig.js';

const BASE = 'routerId: 10.0.0.1\nasn: 65001\nlisten: { addresses: [], port: 0 }\n';
/** [config body appended to BASE, text the error must contain]. */
const BAD: readonly (readonly [string, string])[] = [
  ['bogus: 1', 'Unrecognized key'],
  ['peers: [{ address: 10.0.0.2, asn: 65002, tllSecurity: 1 }]', 'tllSecurity'],
  ['peers: [{ address: 10.0.0.2, asn: 65002, holdTime: 2 }]', 'peers[0].holdTime'],
  ['peers: [{ address: 10.0.0.2, asn: 65002, holdTme: 9 }]', 'holdTme'],
  ['peers: [{ address: 10.0.0.2, asn: 0 }]', 'peers[0].asn'],
  ['peers: [{ address: 10.0.0.2/32, asn: 65002 }]', 'peers[0].address'],
  ['peers: [{ address: 10.0.0.2, asn: 65002 }, { address: 10.0.0.2, asn: 65003 }]', 'peers[1].address'],
  ['peers: [{ address: 10.0.0.2, asn: 65002, import: nope }]', 'peers[0].import'],
  ['peers: [{ address: 10.0.0.2, asn: 65002, password: "" }]', 'peers[0].password'],
  ['peers: [{ address: 10.0.0.2, asn: 65002, families: [ipv7] }]', 'peers[0].families[0]'],
  ['peers: [{ address: 10.0.0.2, asn: 65002, maxPrefix: { limit: 0 } }]', 'peers[0].maxPrefix.limit'],
  [
    'peers: [{ address: 10.0.0.2, asn: 65002, gracefulRestart: { restartTime: 4096 } }]',
    'peers[0].gracefulRestart.restartTime',
  ],
  ['listenRanges: [{ prefix: 10.0.0.0/33, asn: 65002 }]', 'listenRanges[0].prefix'],
  ['originate: [{ prefix: 10.244.1.0/24, communities: ["70000:1"] }]', 'originate[0].communities[0]'],
  [
    'policies: { p: { rules: [{ match: { prefixes: [{ prefix: 10.0.0.0/8, le: 33 }] }, action: accept }] } }',
    'policies.p.rules[0].match.prefixes[0].le',
  ],
  ['multipath: { maxPaths: 0 }', 'multipath.maxPaths'],
];

describe('margay-bgpd configuration errors', () => {
  it('exits 2 and names the field for every bad configuration', { timeout: 60_000 }, async () => {
    const bundle = await bundleMargayBgpd();
    const dir = await mkdtemp(join(tmpdir(), 'mgy-j1cfg-'));
    try {
      const got: string[] = [];
      for (const [body, want] of BAD) {
        const file = join(dir, 'bgpd.yaml');
        await writeFile(file, BASE + body + '\n');
        const r = await execa(process.execPath, [bundle, '--config', file], { reject: false, timeout: 10_000 });
        if (r.exitCode !== 2 || !r.stderr.includes(want))
          got.push(`${body} → exit ${r.exitCode}: ${r.stderr.slice(0, 300)}`);
      }
      expect(got).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('margay-bgpd reload and margayctl', () => {
  it('SIGHUP adds a peer and leaves the established session alone; margayctl shows it all', {
    timeout: 60_000,
  }, async () => {
    await withRig(async (rig) => {
      const m = rig.margay;
      await run('ip', ['addr', 'add', '10.30.0.70/24', 'dev', rig.hostIf]);
      // Before the reload 10.30.0.70 is only a listen-range neighbour of AS 65002: AS 65070 is refused.
      const early = await RawBgpPeer.connect(MARGAY_RAW_IP, 179, '10.30.0.70');
      early.sendOpen({ asn: 65070, bgpId: '10.30.0.70' });
      const n = await early.notification();
      expect([n.code, n.subcode]).toEqual([2, 2]);
      early.close();

      const before = await m.peer(BIRD_IP);
      const yaml = await readFile(m.configFile, 'utf8');
      await m.reload(
        yaml.replace(
          'peers:\n',
          'peers:\n  - { address: 10.30.0.70, asn: 65070, passive: true, description: added-by-reload }\n',
        ),
      );
      await waitFor('the new peer configured', async () => (await m.peer('10.30.0.70'))?.dynamic === false, 10_000, 50);
      const p = await RawBgpPeer.connect(MARGAY_RAW_IP, 179, '10.30.0.70');
      try {
        await p.handshake({ asn: 65070, bgpId: '10.30.0.70' });
        await waitFor(
          'the new peer Established',
          async () => (await m.peer('10.30.0.70'))?.state === 'Established',
          5000,
          20,
        );
        const after = await m.peer(BIRD_IP);
        expect(after?.state).toBe('Established');
        expect(after?.flaps).toBe(before?.flaps);
        expect(after!.uptimeSeconds).toBeGreaterThanOrEqual(before!.uptimeSeconds);

        const out: string[] = [];
        const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(`ERR ${t}`) };
        const sock = ['--socket', m.ctl.socketPath];
        expect(await runMargayctl(['bgp', 'announce', '10.244.7.0/24', '--community', '65001:7', ...sock], io)).toBe(0);
        out.length = 0;
        expect(await runMargayctl(['bgp', 'peers', ...sock], io)).toBe(0);
        const table = out.join('\n');
        expect(table).toMatch(/^PEER\s+ASN\s+TYPE\s+STATE\s+SINCE\s+RECEIVED\s+ACCEPTED\s+ADVERTISED\s+LAST ERROR/);
        expect(table).toMatch(/10\.30\.0\.70\s+65070\s+ebgp\s+Established/);
        expect(table).toMatch(/10\.31\.0\.2\s+65003\s+ebgp\s+Established/);
        out.length = 0;
        expect(await runMargayctl(['bgp', 'peers', '-o', 'json', ...sock], io)).toBe(0);
        const j = JSON.parse(out.join('')) as unknown;
        const list = (Array.isArray(j) ? j : (j as { peers: unknown[] }).peers) as {
          address: string;
          description?: string;
        }[];
        expect(list.find((x) => x.address === '10.30.0.70')?.description).toBe('added-by-reload');
        out.length = 0;
        expect(await runMargayctl(['bgp', 'rib', '--prefix', '10.244.0.0/16', '--longer', ...sock], io)).toBe(0);
        expect(out.join('\n')).toMatch(/\*> 10\.244\.7\.0\/24 .*65001:7/);
        out.length = 0;
        expect(await runMargayctl(['bgp', 'rib', '--count', ...sock], io)).toBe(0);
        expect(out.join('\n')).toMatch(/IPv4: 1 prefixes, 1 paths/);
        out.length = 0;
        expect(await runMargayctl(['bgp', 'withdraw', '10.244.7.0/24', ...sock], io)).toBe(0);
        await waitFor('withdrawn at BIRD', async () => (await rig.birdRoute('10.244.7.0/24')) === '', 5000, 50);
        out.length = 0;
        expect(await runMargayctl(['bgp', 'peers', '--socket', join(m.workdir, 'nope.sock')], io)).toBe(1);
        expect(out.join('\n')).toMatch(/is margay-bgpd running\?/);
      } finally {
        p.close();
      }
    });
  });
});
