import { describe, expect, it } from 'vitest';
import { runMargayctl } from '../../src/cli/margayctl.js';
import { sleep, startBird, waitFor, type BirdHandle } from '../helpers/bgp-daemons.js';
import { startMargay, type MargayProcess } from './margay-process.js';
import { birdHasRoute, type RunningPeer } from './peers.js';
import { cleanup, withTopology } from './scenario.js';

// Policies and who may connect, against real daemons:
//  - import/export policies from the YAML (prefix lists with le, set local-pref and communities), and
//    RFC 8212: an eBGP peer without policies exchanges nothing in either direction;
//  - dynamic neighbours: a peer inside a listen range is accepted (and marked dynamic), one outside is
//    refused with Cease 5.

function running(h: BirdHandle): RunningPeer {
  return {
    kind: 'bird',
    handle: h,
    established: async () => (await h.protocols()).get('margay')?.info.includes('Established') === true,
    hasRoute: (p) => birdHasRoute(h, p),
    stop: () => h.stop(),
  };
}

function bird(ns: string, ip: string, asn: number, margayIp: string, statics: readonly string[]): Promise<BirdHandle> {
  return startBird(
    ns,
    `router id ${ip};
protocol device {}
protocol static s4 { ipv4; ${statics.map((p) => `route ${p} blackhole;`).join(' ')} }
protocol bgp margay { local ${ip} as ${asn}; neighbor ${margayIp} as 65001; connect retry time 1; error wait time 1, 2;
  ipv4 { import all; export where proto = "s4"; }; }`,
  );
}

describe('policies and dynamic neighbours', () => {
  it('import/export policies filter and set attributes; RFC 8212 blocks an eBGP peer without policy', async () => {
    await withTopology(2, async ({ margayNs, links }) => {
      const [la, lb] = [links[0]!, links[1]!];
      const peers: RunningPeer[] = [];
      const margays: MargayProcess[] = [];
      try {
        const m = await startMargay(
          margayNs,
          (socket) => `
routerId: 10.10.1.1
asn: 65001
listen: { addresses: ["0.0.0.0"], port: 179 }
control: { socket: ${socket} }
originate: [{ prefix: 10.244.1.0/26 }, { prefix: 10.96.0.0/12 }]
policies:
  pods-in:
    defaultAction: reject
    rules:
      - match: { prefixes: [{ prefix: 10.244.0.0/16, le: 26 }] }
        action: accept
        set: { localPref: 250, addCommunities: ["65001:42"] }
  pods-out:
    defaultAction: reject
    rules:
      - match: { prefixes: [{ prefix: 10.244.0.0/16, ge: 24, le: 32 }] }
        action: accept
peers:
  - { address: ${la.peerIp}, asn: 65002, connectRetry: 1, import: pods-in, export: pods-out }
  - { address: ${lb.peerIp}, asn: 65003, connectRetry: 1 }
`,
        );
        margays.push(m);
        const a = await bird(la.ns, la.peerIp, 65002, la.margayIp, ['10.244.5.0/26', '192.0.2.0/24', '10.244.0.0/14']);
        peers.push(running(a));
        const b = await bird(lb.ns, lb.peerIp, 65003, lb.margayIp, ['198.51.100.0/24']);
        peers.push(running(b));
        await waitFor(
          'both Established',
          async () => (await peers[0]!.established()) && (await peers[1]!.established()),
          30_000,
          200,
        );
        await waitFor(
          "A's pod block accepted",
          async () => (await m.ctl.rib({ prefix: '10.244.5.0/26' })).matched > 0,
          20_000,
          200,
        );
        await waitFor('A to receive the exported pod block', () => birdHasRoute(a, '10.244.1.0/26'), 20_000, 200);
        await sleep(1500);

        const r = (await m.ctl.rib({ prefix: '10.244.5.0/26' })).routes[0]!;
        expect(r).toMatchObject({ best: true, localPref: 250 });
        expect(r.communities).toContain('65001:42');
        const sa = (await m.peer(la.peerIp))!;
        expect(sa.prefixesReceived).toBe(3);
        expect(sa.prefixesAccepted).toBe(1);
        expect((await m.ctl.rib({ prefix: '192.0.2.0/24' })).routes.filter((x) => x.best)).toEqual([]);
        expect(await birdHasRoute(a, '10.96.0.0/12')).toBe(false); // export policy: pods only

        const sb = (await m.peer(lb.peerIp))!;
        expect(sb.prefixesReceived).toBe(1);
        expect(sb.prefixesAccepted).toBe(0); // RFC 8212: no import policy on eBGP
        expect(sb.prefixesAdvertised).toBe(0);
        expect(await birdHasRoute(b, '10.244.1.0/26')).toBe(false);
        expect(await birdHasRoute(b, '10.244.5.0/26')).toBe(false);
      } finally {
        await cleanup(peers, margays);
      }
    });
  });

  it('accepts a neighbour from a listen range, refuses one outside it with Cease 5', async () => {
    await withTopology(2, async ({ margayNs, links }) => {
      const [la, lb] = [links[0]!, links[1]!];
      const peers: RunningPeer[] = [];
      const margays: MargayProcess[] = [];
      try {
        const m = await startMargay(
          margayNs,
          (socket) => `
routerId: 10.10.1.1
asn: 65001
listen: { addresses: ["0.0.0.0"], port: 179 }
control: { socket: ${socket} }
ebgpRequiresPolicy: false
originate: [{ prefix: 10.244.1.0/26 }]
listenRanges:
  - { prefix: 10.10.1.0/24, asn: external, holdTime: 9 }
`,
        );
        margays.push(m);
        const inside = await bird(la.ns, la.peerIp, 65002, la.margayIp, ['192.0.2.0/24']);
        peers.push(running(inside));
        const outside = await bird(lb.ns, lb.peerIp, 65003, lb.margayIp, ['198.51.100.0/24']);
        peers.push(running(outside));
        await waitFor(
          'the in-range neighbour Established',
          async () => (await m.peer(la.peerIp))?.state === 'Established',
          30_000,
          200,
        );
        const st = (await m.peer(la.peerIp))!;
        expect(st).toMatchObject({ dynamic: true, asn: 65002, type: 'ebgp' });
        await waitFor(
          'routes both ways',
          async () =>
            (await birdHasRoute(inside, '10.244.1.0/26')) && (await m.ctl.rib({ prefix: '192.0.2.0/24' })).matched > 0,
          20_000,
          200,
        );
        await waitFor(
          'the outside one refused',
          async () => /Connection rejected/i.test(await outside.birdc('show', 'protocols', 'all', 'margay')),
          20_000,
          200,
        );
        expect(await m.peer(lb.peerIp)).toBeUndefined();
        const out: string[] = [];
        await runMargayctl(['bgp', 'peers', '--socket', m.ctl.socketPath], {
          out: (t) => out.push(t),
          err: (t) => out.push(t),
        });
        expect(out.join('\n')).toContain(`${la.peerIp}*`);
        expect(out.join('\n')).toContain('(* = dynamic neighbour)');
      } finally {
        await cleanup(peers, margays);
      }
    });
  });
});
