/**
 * Black-box rig: margay-bgpd as a real process (the same bundle test/interop runs, built from
 * bgp/main.ts) in its own namespace, seen only through the wire, its control socket and the kernel.
 * The namespaces and links are the lab topology's `blackboxSpec` preset (src/lab/presets.ts).
 *
 *   test process (raw peers, one source address each: 10.30.0.<10+i>)
 *        │ veth 10.30.0.0/24 (host side .2…, margay .1)
 *   margay-bgpd ns ── veth 10.31.0.0/24 (margay .1, BIRD .2) ── BIRD 2 (AS 65003, the downstream observer)
 *
 * Raw peers are dynamic neighbours (listen range 10.30.0.0/24, AS 65002), so every case gets a fresh
 * session without waiting out a back-off. BIRD imports everything margay sends and exports nothing.
 */
import { execa } from 'execa';
import { startBird, waitFor, type BirdHandle } from '../helpers/bgp-daemons.js';
import { BLACKBOX, blackboxSpec } from '../../src/lab/presets.js';
import { upTopology, type Topology } from '../../src/lab/topology.js';
import { labDeps, run, uniqueName, uniquePrefix } from '../helpers/netns.js';
import { RawBgpPeer, rawMessage, type RawOpen } from '../helpers/raw-bgp-peer.js';
import { waitHostLinkUp } from '../bgp-session/host-link.js';
import { removeWorkdir, startMargay, type MargayProcess } from '../interop/margay-process.js';
import type { RibRouteView } from '../../bgp/speaker/types.js';

export const MARGAY_RAW_IP = BLACKBOX.MARGAY_RAW_IP;
export const MARGAY_BIRD_IP = BLACKBOX.MARGAY_BIRD_IP;
export const BIRD_IP = BLACKBOX.BIRD_IP;
export const RAW_ASN = 65002;
export const BIRD_ASN = 65003;
export const MARGAY_ASN = 65001;

export const hex = (t: string): Buffer => Buffer.from(t.replace(/\s+/g, ''), 'hex');
const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 255]);

/** An UPDATE from hex parts (lengths computed). */
export function update(attrs: string, nlri = '', withdrawn = ''): Buffer {
  const w = hex(withdrawn);
  const a = hex(attrs);
  return rawMessage(2, Buffer.concat([u16(w.length), w, u16(a.length), a, hex(nlri)]));
}

/** IPv4 prefix in NLRI encoding, e.g. '10.100.3.0/24' → '180a6403'. */
export function nlri(prefix: string): string {
  const [ip, len] = prefix.split('/') as [string, string];
  const bits = Number(len);
  const bytes = ip
    .split('.')
    .map(Number)
    .slice(0, Math.ceil(bits / 8));
  return Buffer.from([bits, ...bytes]).toString('hex');
}

export function ipHex(ip: string): string {
  return Buffer.from(ip.split('.').map(Number)).toString('hex');
}

export interface Rig {
  readonly margay: MargayProcess;
  readonly bird: BirdHandle;
  readonly hostIf: string;
  /** Adds host address 10.30.0.<n> (once) and opens an Established session from it. */
  rawPeer(n: number, open?: Partial<RawOpen>): Promise<RawBgpPeer>;
  /** margay-bgpd's routes for `prefix` learned from `from` (peer address). */
  ribFrom(prefix: string, from: string): Promise<RibRouteView[]>;
  /** `birdc show route PREFIX all` ('' when BIRD has no such route). */
  birdRoute(prefix: string): Promise<string>;
}

export interface RigOptions {
  /** Extra YAML appended to margay-bgpd's config (top-level keys). */
  readonly extraYaml?: string;
  /** YAML of the listen range entry's extra options, e.g. `maxPrefix: {...}`. */
  readonly rangeOptions?: string;
  readonly rangeAsn?: number | 'external' | 'internal';
  /** Listen-range entries (YAML flow maps) placed before the default one, e.g. `{ prefix: 10.30.0.128/25, asn: internal }`. */
  readonly extraRanges?: readonly string[];
  /** margay-bgpd's ASN (default 65001). */
  readonly asn?: number;
}

export async function withRig(fn: (r: Rig) => Promise<void>, opts: RigOptions = {}): Promise<void> {
  let topo: Topology | undefined;
  let margay: MargayProcess | undefined;
  let bird: BirdHandle | undefined;
  try {
    const hostIf = uniqueName('vh');
    topo = await upTopology(blackboxSpec(uniquePrefix('bb'), hostIf), labDeps());
    await waitHostLinkUp(hostIf);
    const mns = topo.ns('bm');
    const bns = topo.ns('bb');
    margay = await startMargay(
      mns,
      (socket) => `
routerId: 10.31.0.1
asn: ${opts.asn ?? MARGAY_ASN}
listen: { addresses: ["0.0.0.0"], port: 179 }
control: { socket: ${socket} }
ebgpRequiresPolicy: false
peers:
  - { address: ${BIRD_IP}, asn: ${BIRD_ASN}, connectRetry: 1 }
listenRanges:
${(opts.extraRanges ?? []).map((r) => `  - ${r}\n`).join('')}  - { prefix: 10.30.0.0/24, asn: ${opts.rangeAsn ?? RAW_ASN}${opts.rangeOptions ? `, ${opts.rangeOptions}` : ''} }
${opts.extraYaml ?? ''}
`,
    );
    bird = await startBird(
      bns,
      `router id ${BIRD_IP};
protocol device {}
protocol direct { ipv4; }
protocol bgp margay { local ${BIRD_IP} as ${BIRD_ASN}; neighbor ${MARGAY_BIRD_IP} as ${opts.asn ?? MARGAY_ASN}; connect retry time 1;
  ipv4 { import all; export none; }; }`,
    );
    const b = bird;
    await waitFor(
      'BIRD Established with margay-bgpd',
      async () => (await b.protocols()).get('margay')?.info.includes('Established'),
      20_000,
    );
    const m = margay;
    const added = new Set<number>();
    await fn({
      margay: m,
      bird: b,
      hostIf,
      async rawPeer(n, open = {}) {
        const ip = `10.30.0.${n}`;
        if (!added.has(n)) {
          await run('ip', ['addr', 'add', `${ip}/24`, 'dev', hostIf]);
          added.add(n);
        }
        const p = await RawBgpPeer.connect(MARGAY_RAW_IP, 179, ip);
        await p.handshake({ asn: RAW_ASN, bgpId: ip, holdTime: 90, ...open });
        await waitFor(
          `margay-bgpd sees ${ip} Established`,
          async () => (await m.peer(ip))?.state === 'Established',
          5000,
          20,
        );
        return p;
      },
      async ribFrom(prefix, from) {
        // Not `peer: from`: a dynamic neighbour whose session ended is unknown to the control API (400).
        const r = await m.ctl.rib({ prefix });
        return r.routes.filter((x) => x.prefix === prefix && x.from === from);
      },
      async birdRoute(prefix) {
        const out = await execa('birdc', ['-s', `${b.workdir}/bird.ctl`, 'show', 'route', prefix, 'all'], {
          reject: false,
        });
        if (out.exitCode !== 0 || /Network not found/.test(out.stdout)) return '';
        return out.stdout.includes(prefix) ? out.stdout : '';
      },
    });
  } catch (err) {
    const extra = margay ? `\n--- margay-bgpd log tail ---\n${margay.log().slice(-4000)}` : '';
    if (err instanceof Error) err.message += extra;
    throw err;
  } finally {
    if (bird) await bird.stop();
    if (margay) {
      await margay.kill();
      await removeWorkdir(margay.workdir);
    }
    await topo?.down();
  }
}
