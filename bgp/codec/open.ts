/**
 * OPEN (RFC 4271 §4.2) with capabilities (RFC 5492) and RFC 9072 extended optional parameters.
 * `decodeOpen` checks structure (version 2/1, parameters 2/4, lengths 2/0); `validateOpen` checks the
 * OPEN against what this session expects (2/2, 2/3, 2/6, 2/7), so the FSM can call it purely.
 */
import { encodeCapability, decodeCapabilities, hasCapability } from './capabilities.js';
import { AS_TRANS, BGP_VERSION, ERR, HEADER_LEN, MSG_TYPE, OPEN_SUBCODE, OPT_PARAM } from './constants.js';
import { sessionReset, type BgpProtocolError } from './errors.js';
import { frameMessage } from './header.js';
import { Reader } from './reader.js';
import type { Capability, OpenMessage } from './types.js';

const EMPTY = Buffer.alloc(0);

function malformedOpen(what: string): BgpProtocolError {
  return sessionReset(ERR.OPEN, OPEN_SUBCODE.UNSPECIFIC, EMPTY, `malformed OPEN: ${what}`);
}

/** Decode an OPEN; `msg` is the whole message including the header. */
export function decodeOpen(msg: Buffer): OpenMessage {
  const r = new Reader(msg, HEADER_LEN, msg.length, () => malformedOpen('truncated'));
  const version = r.u8();
  if (version !== BGP_VERSION) {
    throw sessionReset(
      ERR.OPEN,
      OPEN_SUBCODE.UNSUPPORTED_VERSION,
      Buffer.from([0, BGP_VERSION]),
      `unsupported version ${version}`,
    );
  }
  const myAs = r.u16();
  const holdTime = r.u16();
  const bgpId = r.u32();
  let paramLen = r.u8();
  let extendedParams = false;
  if (paramLen === OPT_PARAM.EXTENDED_LENGTH && r.remaining >= 3 && msg[r.offset] === OPT_PARAM.EXTENDED_LENGTH) {
    r.skip(1);
    paramLen = r.u16();
    extendedParams = true;
  }
  if (paramLen !== r.remaining) throw malformedOpen(`optional parameters length ${paramLen} != ${r.remaining}`);
  const capabilities: Capability[] = [];
  while (r.remaining > 0) {
    const type = r.u8();
    const len = extendedParams ? r.u16() : r.u8();
    const value = r.view(len);
    if (type !== OPT_PARAM.CAPABILITIES) {
      throw sessionReset(
        ERR.OPEN,
        OPEN_SUBCODE.UNSUPPORTED_OPTIONAL_PARAMETER,
        EMPTY,
        `unsupported optional parameter ${type}`,
      );
    }
    capabilities.push(...decodeCapabilities(value));
  }
  const four = capabilities.find((c) => c.kind === 'four-octet-as');
  const asn = four ? four.asn : myAs;
  return { type: 'open', version, myAs, asn, holdTime, bgpId, capabilities, extendedParams };
}

export interface OpenInput {
  /** Our real ASN; the My AS field gets AS_TRANS when it exceeds 65535. */
  readonly asn: number;
  readonly holdTime: number;
  readonly bgpId: number;
  readonly capabilities: readonly Capability[];
  /** Force the RFC 9072 format; it is used automatically when the parameters exceed 255 bytes. */
  readonly extendedParams?: boolean | undefined;
}

export function encodeOpen(o: OpenInput): Buffer {
  const caps = Buffer.concat(o.capabilities.map(encodeCapability));
  const extended = o.extendedParams === true || caps.length + 2 > 255;
  let params: Buffer;
  if (caps.length === 0) params = Buffer.from([0]);
  else if (!extended)
    params = Buffer.concat([Buffer.from([caps.length + 2, OPT_PARAM.CAPABILITIES, caps.length]), caps]);
  else {
    params = Buffer.alloc(4 + 3 + caps.length);
    params[0] = OPT_PARAM.EXTENDED_LENGTH;
    params[1] = OPT_PARAM.EXTENDED_LENGTH;
    params.writeUInt16BE(3 + caps.length, 2);
    params[4] = OPT_PARAM.CAPABILITIES;
    params.writeUInt16BE(caps.length, 5);
    caps.copy(params, 7);
  }
  const fixed = Buffer.alloc(9);
  fixed[0] = BGP_VERSION;
  fixed.writeUInt16BE(o.asn > 0xffff ? AS_TRANS : o.asn, 1);
  fixed.writeUInt16BE(o.holdTime, 3);
  fixed.writeUInt32BE(o.bgpId >>> 0, 5);
  return frameMessage(MSG_TYPE.OPEN, Buffer.concat([fixed, params]));
}

export interface OpenExpectation {
  readonly localAs: number;
  readonly localBgpId: number;
  /** A number, or 'internal'/'external' to accept any ASN of that kind. */
  readonly peerAs: number | 'internal' | 'external';
  /** Capabilities the peer must offer; a missing one gives 2/7 listing it. */
  readonly requiredCapabilities?: readonly Capability[] | undefined;
  /** RFC 9234 BGP role we announce (eBGP only); a peer role that does not pair with it gives 2/11. */
  readonly localRole?: number | undefined;
}

/** RFC 9234 §4.2: the allowed (local, remote) role pairs. */
const ROLE_PAIRS: ReadonlyMap<number, number> = new Map([
  [0, 3], // provider ↔ customer
  [3, 0],
  [1, 2], // route server ↔ RS client
  [2, 1],
  [4, 4], // peer ↔ peer
]);

/** RFC 4271 §6.2 checks against this session; undefined when the OPEN is acceptable. */
export function validateOpen(open: OpenMessage, want: OpenExpectation): BgpProtocolError | undefined {
  const asn = open.asn;
  const four = open.capabilities.find((c) => c.kind === 'four-octet-as');
  const asMismatch = four !== undefined && four.asn <= 0xffff && open.myAs !== four.asn;
  const badAs =
    asn === 0 ||
    open.myAs === 0 ||
    asMismatch ||
    (typeof want.peerAs === 'number' && asn !== want.peerAs) ||
    (want.peerAs === 'internal' && asn !== want.localAs) ||
    (want.peerAs === 'external' && asn === want.localAs);
  if (badAs) {
    const data = Buffer.alloc(2);
    data.writeUInt16BE(open.myAs);
    return sessionReset(ERR.OPEN, OPEN_SUBCODE.BAD_PEER_AS, data, `bad peer AS ${asn}`);
  }
  const ibgp = asn === want.localAs;
  if (open.bgpId === 0 || (ibgp && open.bgpId === want.localBgpId >>> 0)) {
    const data = Buffer.alloc(4);
    data.writeUInt32BE(open.bgpId);
    return sessionReset(ERR.OPEN, OPEN_SUBCODE.BAD_BGP_ID, data, `bad BGP identifier ${open.bgpId}`);
  }
  if (open.holdTime === 1 || open.holdTime === 2) {
    const data = Buffer.alloc(2);
    data.writeUInt16BE(open.holdTime);
    return sessionReset(ERR.OPEN, OPEN_SUBCODE.UNACCEPTABLE_HOLD_TIME, data, `unacceptable hold time ${open.holdTime}`);
  }
  const role = open.capabilities.find((c) => c.kind === 'role');
  if (want.localRole !== undefined && role !== undefined && !ibgp && ROLE_PAIRS.get(want.localRole) !== role.role) {
    return sessionReset(
      ERR.OPEN,
      OPEN_SUBCODE.ROLE_MISMATCH,
      EMPTY,
      `role ${role.role} does not pair with our role ${want.localRole}`,
    );
  }
  const missing = (want.requiredCapabilities ?? []).filter((c) => !hasCapability(open.capabilities, c));
  if (missing.length > 0) {
    return sessionReset(
      ERR.OPEN,
      OPEN_SUBCODE.UNSUPPORTED_CAPABILITY,
      Buffer.concat(missing.map(encodeCapability)),
      'required capability missing',
    );
  }
  return undefined;
}
