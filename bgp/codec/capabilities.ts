/**
 * Capabilities (RFC 5492) carried in OPEN: one decoder and one encoder per known code, unknown codes kept
 * raw. A known capability with an impossible length is a malformed OPEN (2/0).
 */
import { assert } from '../../src/errors.js';
import { CAP, ERR, OPEN_SUBCODE } from './constants.js';
import { sessionReset, type BgpProtocolError } from './errors.js';
import { Reader } from './reader.js';
import type { AddPathMode, Capability } from './types.js';

function malformedCapability(code: number): BgpProtocolError {
  return sessionReset(ERR.OPEN, OPEN_SUBCODE.UNSPECIFIC, Buffer.alloc(0), `malformed capability ${code}`);
}

const ADD_PATH_MODES: readonly (AddPathMode | undefined)[] = [undefined, 'receive', 'send', 'both'];

/** Decode the capabilities inside one Capabilities optional parameter value. */
export function decodeCapabilities(value: Buffer): Capability[] {
  const r = new Reader(value, 0, value.length, () => malformedCapability(-1));
  const out: Capability[] = [];
  while (r.remaining > 0) {
    const code = r.u8();
    const len = r.u8();
    out.push(decodeCapability(code, r.view(len)));
  }
  return out;
}

function decodeCapability(code: number, v: Buffer): Capability {
  const bad = (): BgpProtocolError => malformedCapability(code);
  const fixed = (n: number): void => {
    if (v.length !== n) throw bad();
  };
  switch (code) {
    case CAP.MULTIPROTOCOL:
      fixed(4);
      return { kind: 'multiprotocol', afi: v.readUInt16BE(0), safi: v[3]! };
    case CAP.ROUTE_REFRESH:
      fixed(0);
      return { kind: 'route-refresh' };
    case CAP.ENHANCED_ROUTE_REFRESH:
      fixed(0);
      return { kind: 'enhanced-route-refresh' };
    case CAP.EXTENDED_MESSAGE:
      fixed(0);
      return { kind: 'extended-message' };
    case CAP.FOUR_OCTET_AS:
      fixed(4);
      return { kind: 'four-octet-as', asn: v.readUInt32BE(0) };
    case CAP.ROLE:
      fixed(1);
      return { kind: 'role', role: v[0]! };
    case CAP.GRACEFUL_RESTART: {
      if (v.length < 2 || (v.length - 2) % 4 !== 0) throw bad();
      const head = v.readUInt16BE(0);
      const families = [];
      for (let o = 2; o < v.length; o += 4) {
        families.push({ afi: v.readUInt16BE(o), safi: v[o + 2]!, forwardingPreserved: (v[o + 3]! & 0x80) !== 0 });
      }
      return {
        kind: 'graceful-restart',
        restarting: (head & 0x8000) !== 0,
        notification: (head & 0x4000) !== 0,
        restartTime: head & 0x0fff,
        families,
      };
    }
    case CAP.ADD_PATH: {
      if (v.length % 4 !== 0) throw bad();
      const families = [];
      for (let o = 0; o < v.length; o += 4) {
        const mode = ADD_PATH_MODES[v[o + 3]!];
        if (mode === undefined) throw bad();
        families.push({ afi: v.readUInt16BE(o), safi: v[o + 2]!, mode });
      }
      return { kind: 'add-path', families };
    }
    case CAP.EXTENDED_NEXT_HOP: {
      if (v.length % 6 !== 0) throw bad();
      const entries = [];
      for (let o = 0; o < v.length; o += 6) {
        entries.push({ afi: v.readUInt16BE(o), safi: v.readUInt16BE(o + 2), nextHopAfi: v.readUInt16BE(o + 4) });
      }
      return { kind: 'extended-next-hop', entries };
    }
    default:
      return { kind: 'unknown', code, value: v };
  }
}

/** Encode one capability as `code len value`. */
export function encodeCapability(c: Capability): Buffer {
  const [code, value] = capabilityValue(c);
  assert(value.length <= 255, `capability ${code} value longer than 255 bytes`);
  return Buffer.concat([Buffer.from([code, value.length]), value]);
}

function capabilityValue(c: Capability): [number, Buffer] {
  switch (c.kind) {
    case 'multiprotocol': {
      const b = Buffer.alloc(4);
      b.writeUInt16BE(c.afi, 0);
      b[3] = c.safi;
      return [CAP.MULTIPROTOCOL, b];
    }
    case 'route-refresh':
      return [CAP.ROUTE_REFRESH, Buffer.alloc(0)];
    case 'enhanced-route-refresh':
      return [CAP.ENHANCED_ROUTE_REFRESH, Buffer.alloc(0)];
    case 'extended-message':
      return [CAP.EXTENDED_MESSAGE, Buffer.alloc(0)];
    case 'four-octet-as': {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(c.asn >>> 0, 0);
      return [CAP.FOUR_OCTET_AS, b];
    }
    case 'role':
      return [CAP.ROLE, Buffer.from([c.role])];
    case 'graceful-restart': {
      const b = Buffer.alloc(2 + 4 * c.families.length);
      b.writeUInt16BE((c.restarting ? 0x8000 : 0) | (c.notification ? 0x4000 : 0) | (c.restartTime & 0x0fff), 0);
      c.families.forEach((f, i) => {
        b.writeUInt16BE(f.afi, 2 + 4 * i);
        b[4 + 4 * i] = f.safi;
        b[5 + 4 * i] = f.forwardingPreserved ? 0x80 : 0;
      });
      return [CAP.GRACEFUL_RESTART, b];
    }
    case 'add-path': {
      const b = Buffer.alloc(4 * c.families.length);
      c.families.forEach((f, i) => {
        b.writeUInt16BE(f.afi, 4 * i);
        b[2 + 4 * i] = f.safi;
        b[3 + 4 * i] = ADD_PATH_MODES.indexOf(f.mode);
      });
      return [CAP.ADD_PATH, b];
    }
    case 'extended-next-hop': {
      const b = Buffer.alloc(6 * c.entries.length);
      c.entries.forEach((e, i) => {
        b.writeUInt16BE(e.afi, 6 * i);
        b.writeUInt16BE(e.safi, 6 * i + 2);
        b.writeUInt16BE(e.nextHopAfi, 6 * i + 4);
      });
      return [CAP.EXTENDED_NEXT_HOP, b];
    }
    case 'unknown':
      return [c.code, c.value];
  }
}

/** True when `have` contains a capability satisfying `want` (same kind; for multiprotocol same family). */
export function hasCapability(have: readonly Capability[], want: Capability): boolean {
  return have.some((c) => {
    if (c.kind !== want.kind) return false;
    if (c.kind === 'multiprotocol' && want.kind === 'multiprotocol') return c.afi === want.afi && c.safi === want.safi;
    if (c.kind === 'unknown' && want.kind === 'unknown') return c.code === want.code;
    return true;
  });
}
