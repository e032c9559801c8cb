import { describe, expect, it } from 'vitest';
import { runMargayctl } from '../../src/cli/margayctl.js';
import { waitFor } from '../helpers/bgp-daemons.js';
import { startMargay, type MargayProcess } from './margay-process.js';
import { DAEMONS, kernelBgpRoutes, ORIGIN_PREFIX, startPeer, type RunningPeer } from './peers.js';
import { cleanup, withTopology } from './scenario.js';

// margay-bgpd against BIRD 2, FRR and GoBGP as eBGP (margay with a 4-byte ASN, so the OPEN carries
// AS_TRANS and the AS4 capability) and iBGP peers: routes flow both ways, learned best paths reach the
// kernel with proto 110, the control API and margayctl report the session, a withdraw propagates.

const POD_BLOCK = '10.244.1.0/26';

describe.each(DAEMONS)('interop with %s', (kind) => {
  it.each(['ebgp', 'ibgp'] as const)('%s: routes both ways, FIB, status, withdraw', async (mode) => {
    await withTopology(1, async ({ margayNs, links: [l] }) => {
      const link = l!;
      const margayAsn = mode === 'ebgp' ? 4_200_000_001 : 65_001;
      const peerAsn = mode === 'ebgp' ? 65_002 : 65_001;
      const peers: RunningPeer[] = [];
      const margays: MargayProcess[] = [];
      try {
        const m = await startMargay(
          margayNs,
          (socket) => `
routerId: ${link.margayIp}
asn: ${margayAsn}
listen: { addresses: [${link.margayIp}], port: 179 }
control: { socket: ${socket} }
fib: { enabled: true }
policies: { all: { defaultAction: accept } }
originate: [{ prefix: ${POD_BLOCK}, communities: ["65001:7"] }]
peers:
  - { address: ${link.peerIp}, asn: ${peerAsn}, holdTime: 9, connectRetry: 1, import: all, export: all, description: ${kind} }
`,
        );
        margays.push(m);
        const d = await startPeer(kind, {
          ns: link.ns,
          ip: link.peerIp,
          asn: peerAsn,
          routerId: link.peerIp,
          margayIp: link.margayIp,
          margayAsn,
          holdTime: 9,
        });
        peers.push(d);

        await waitFor(
          'both sides Established',
          async () => (await m.peer(link.peerIp))?.state === 'Established' && (await d.established()),
          30_000,
          200,
        );
        await waitFor(`${kind} to learn ${POD_BLOCK} from margay`, () => d.hasRoute(POD_BLOCK), 20_000, 200);
        const theirs = ORIGIN_PREFIX[kind];
        await waitFor(
          `margay to learn ${theirs}`,
          async () => (await m.ctl.rib({ prefix: theirs })).matched > 0,
          20_000,
          200,
        );
        const route = (await m.ctl.rib({ prefix: theirs })).routes[0]!;
        expect(route).toMatchObject({ prefix: theirs, from: link.peerIp, nextHop: link.peerIp, best: true });
        expect(route.asPath).toBe(mode === 'ebgp' ? String(peerAsn) : '');

        await waitFor(
          'the learned route in the kernel with proto 110',
          async () => (await kernelBgpRoutes(margayNs)).includes(`${theirs} via ${link.peerIp}`),
          10_000,
          200,
        );

        const st = (await m.peer(link.peerIp))!;
        expect(st).toMatchObject({ state: 'Established', type: mode, asn: peerAsn, description: kind });
        expect(st.prefixesReceived).toBeGreaterThanOrEqual(1);
        expect(st.prefixesAccepted).toBeGreaterThanOrEqual(1);
        expect(st.prefixesAdvertised).toBeGreaterThanOrEqual(1);

        const outs: string[] = [];
        const code = await runMargayctl(['bgp', 'peers', '--socket', m.ctl.socketPath], {
          out: (t) => outs.push(t),
          err: (t) => outs.push(t),
        });
        expect(code).toBe(0);
        expect(outs.join('\n')).toMatch(
          new RegExp(`${link.peerIp.replace(/\./g, '\\.')}\\s+${peerAsn}\\s+${mode}\\s+Established`),
        );

        await m.ctl.withdraw([POD_BLOCK]);
        await waitFor(
          `${kind} to drop the withdrawn ${POD_BLOCK}`,
          async () => !(await d.hasRoute(POD_BLOCK)),
          20_000,
          200,
        );
      } finally {
        await cleanup(peers, margays);
      }
    });
  });
});
