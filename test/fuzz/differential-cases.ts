/**
 * Malformed inputs for the differential check against reference daemons: the same bytes go to our
 * decoder and to BIRD / FRR / GoBGP, and the reactions are compared (see reference-reactions.int.test.ts).
 */
import { encodeKeepalive, encodeOpen, encodeRouteRefresh, type Capability } from '../../bgp/codec/index.js';

const MARKER = 'ff'.repeat(16);
export const OUR_AS = 65020;
export const THEIR_AS = 65010;
export const HOST = '10.255.9.1';
const NH = '400304' + '0aff0901'; // NEXT_HOP 10.255.9.1
const ORIGIN = '40010100';
const AS_PATH = '4002060201' + '0000fdfc'; // AS_SEQUENCE [65020]
const NLRI = '18c63364'; // 198.51.100.0/24
const GOOD = ORIGIN + AS_PATH + NH;

function hex(h: string): Buffer {
  return Buffer.from(h.replace(/\s+/g, ''), 'hex');
}
function message(type: number, body: Buffer): Buffer {
  const len = 19 + body.length;
  return Buffer.concat([hex(MARKER), Buffer.from([len >> 8, len & 255, type]), body]);
}
export function update(attrs: string, nlri = NLRI, withdrawn = ''): Buffer {
  const w = hex(withdrawn);
  const a = hex(attrs);
  const len = (n: number): Buffer => Buffer.from([n >> 8, n & 255]);
  return message(2, Buffer.concat([len(w.length), w, len(a.length), a, hex(nlri)]));
}

export const CAPS: Capability[] = [
  { kind: 'multiprotocol', afi: 1, safi: 1 },
  { kind: 'multiprotocol', afi: 2, safi: 1 },
  { kind: 'route-refresh' },
  { kind: 'four-octet-as', asn: OUR_AS },
];

export interface DiffCase {
  readonly name: string;
  /** 'open': sent instead of our OPEN; 'established': sent once the session is up. */
  readonly phase: 'open' | 'established';
  readonly bytes: Buffer;
}

const open = (patch: (b: Buffer) => void): Buffer => {
  const b = encodeOpen({ asn: OUR_AS, holdTime: 90, bgpId: 0x0aff0901, capabilities: CAPS });
  patch(b);
  return b;
};

export const CASES: readonly DiffCase[] = [
  { name: 'OPEN version 3', phase: 'open', bytes: open((b) => (b[19] = 3)) },
  { name: 'OPEN hold time 1', phase: 'open', bytes: open((b) => b.writeUInt16BE(1, 22)) },
  { name: 'OPEN BGP identifier 0', phase: 'open', bytes: open((b) => b.writeUInt32BE(0, 24)) },
  {
    name: 'OPEN wrong peer AS',
    phase: 'open',
    bytes: encodeOpen({
      asn: 65099,
      holdTime: 90,
      bgpId: 0x0aff0901,
      capabilities: [{ kind: 'four-octet-as', asn: 65099 }],
    }),
  },
  { name: 'OPEN unknown optional parameter', phase: 'open', bytes: open((b) => (b[29] = 9)) },
  {
    name: 'marker not all ones',
    phase: 'established',
    bytes: (() => {
      const k = encodeKeepalive();
      k[5] = 0;
      return k;
    })(),
  },
  { name: 'KEEPALIVE of 20 bytes', phase: 'established', bytes: message(4, Buffer.alloc(1)) },
  { name: 'message type 7', phase: 'established', bytes: message(7, Buffer.alloc(4)) },
  {
    name: 'ROUTE-REFRESH of 24 bytes',
    phase: 'established',
    bytes: Buffer.concat([encodeRouteRefresh(1, 1).subarray(0, 16), Buffer.from([0, 24, 5, 0, 1, 0, 1, 0])]),
  },
  {
    name: 'withdrawn length overruns',
    phase: 'established',
    bytes: (() => {
      const u = update(GOOD);
      u.writeUInt16BE(200, 19);
      return u;
    })(),
  },
  { name: 'NLRI prefix length 33', phase: 'established', bytes: update(GOOD, '21c6336400ff') },
  { name: 'unrecognized well-known attribute', phase: 'established', bytes: update(GOOD + '40630100') },
  {
    name: 'duplicate MP_REACH_NLRI',
    phase: 'established',
    bytes: update(
      ORIGIN + AS_PATH + '900e001a000201102001 0db8 00fe 0000 0000 0000 0000 0001 00 20 20010db8'.repeat(2),
      '',
    ),
  },
  {
    name: 'MP_REACH_NLRI next hop of 5 bytes',
    phase: 'established',
    bytes: update(ORIGIN + AS_PATH + '800e0b 0002 01 05 0102030405 00 00', ''),
  },
  { name: 'ORIGIN value 3', phase: 'established', bytes: update('40010103' + AS_PATH + NH) },
  { name: 'ORIGIN flagged optional', phase: 'established', bytes: update('80010100' + AS_PATH + NH) },
  { name: 'AS_PATH with AS 0', phase: 'established', bytes: update(ORIGIN + '40020a0202 0000fdfc 00000000' + NH) },
  { name: 'AS_PATH segment overrun', phase: 'established', bytes: update(ORIGIN + '4002060202 0000fdfc' + NH) },
  { name: 'NEXT_HOP length 5', phase: 'established', bytes: update(ORIGIN + AS_PATH + '400305 0aff090100') },
  { name: 'MED length 3', phase: 'established', bytes: update(GOOD + '800403000001') },
  { name: 'COMMUNITIES length 3', phase: 'established', bytes: update(GOOD + 'c00803fde900') },
  { name: 'missing NEXT_HOP', phase: 'established', bytes: update(ORIGIN + AS_PATH) },
  { name: 'attribute length overruns the section', phase: 'established', bytes: update(GOOD + 'c0080c0000fde9') },
  { name: 'AGGREGATOR length 7', phase: 'established', bytes: update(GOOD + 'c007070000fdfc0aff09') },
  { name: 'LOCAL_PREF from eBGP', phase: 'established', bytes: update(GOOD + '40050400000064') },
  { name: 'duplicate ORIGIN', phase: 'established', bytes: update(GOOD + '40010102') },
];
