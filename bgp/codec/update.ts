/**
 * UPDATE decoding (RFC 4271 §4.3, RFC 4760, RFC 7606). Field lengths that cannot be reconciled with the
 * message, and NLRI that cannot be parsed, reset the session (3/1, 3/10): without them no prefix can be
 * located, so treat-as-withdraw is impossible. Everything else is the attribute table's business.
 */
import { decodePathAttributes, type Span } from './attributes.js';
import { AFI, ATTR, ERR, FAMILY, familyKey, HEADER_LEN, SAFI, UPDATE_SUBCODE } from './constants.js';
import { BgpProtocolError, strongerAction } from './errors.js';
import { scanNlri } from './prefix.js';
import type { DecodeOptions, NlriList, PathAttributes, UpdateMessage } from './types.js';

const EMPTY = Buffer.alloc(0);

function malformedList(reason: string): BgpProtocolError {
  return new BgpProtocolError(ERR.UPDATE, UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST, EMPTY, 'session-reset', reason);
}

function invalidNetwork(reason: string): BgpProtocolError {
  return new BgpProtocolError(ERR.UPDATE, UPDATE_SUBCODE.INVALID_NETWORK_FIELD, EMPTY, 'session-reset', reason);
}

/** Decode an UPDATE; `msg` is the whole message including the header (length already checked ≥ 23). */
export function decodeUpdate(msg: Buffer, opts: DecodeOptions): UpdateMessage {
  const end = msg.length;
  let off = HEADER_LEN;
  const wdLen = msg.readUInt16BE(off);
  off += 2;
  if (off + wdLen + 2 > end) throw malformedList(`withdrawn routes length ${wdLen} overruns the message`);
  const addPath4 = opts.addPathReceive.has(FAMILY.IPV4_UNICAST);
  const withdrawn = scanNlri(msg, off, off + wdLen, AFI.IPV4, SAFI.UNICAST, addPath4);
  if (withdrawn === undefined) throw invalidNetwork('withdrawn routes malformed');
  off += wdLen;
  const attrLen = msg.readUInt16BE(off);
  off += 2;
  if (off + attrLen > end) throw malformedList(`total attribute length ${attrLen} overruns the message`);
  const attrStart = off;
  const attrEnd = off + attrLen;
  const nlri = scanNlri(msg, attrEnd, end, AFI.IPV4, SAFI.UNICAST, addPath4);
  if (nlri === undefined) throw invalidNetwork('NLRI malformed');
  const decoded = decodePathAttributes(msg, attrStart, attrEnd, opts, nlri.count > 0);
  const a = decoded.attributes;
  let action = decoded.action;
  const problems = decoded.problems;
  for (const p of missingMandatory(a, nlri, decoded.present)) {
    problems.push(p);
    action = strongerAction(action, 'treat-as-withdraw') as typeof action;
  }
  const receivedAttributes = msg.subarray(attrStart, attrEnd);
  const spans = decoded.kept;
  const rawAttributes = decoded.dropped
    ? Buffer.concat(spans.map((k) => msg.subarray(k.start, k.end)))
    : receivedAttributes;
  return {
    type: 'update',
    withdrawn,
    nlri,
    attributes: a,
    rawAttributes,
    receivedAttributes,
    attributeKey: attributeKey(msg, rawAttributes, spans, decoded.dropped, a),
    action,
    problems,
    endOfRib: endOfRib(withdrawn, nlri, attrLen, a, decoded.hasOtherThanMpUnreach),
  };
}

/**
 * RFC 7606 §3.d: missing well-known mandatory attributes with NLRI present → treat-as-withdraw (3/3).
 * An attribute that was present but malformed has already been reported as such.
 */
function missingMandatory(a: PathAttributes, nlri: NlriList, present: Uint8Array): BgpProtocolError[] {
  const hasReach = nlri.count > 0 || (a.mpReach !== undefined && a.mpReach.nlri.count > 0);
  if (!hasReach) return [];
  const need: number[] = [];
  if (present[ATTR.ORIGIN] === 0) need.push(ATTR.ORIGIN);
  if (present[ATTR.AS_PATH] === 0) need.push(ATTR.AS_PATH);
  if (nlri.count > 0 && present[ATTR.NEXT_HOP] === 0) need.push(ATTR.NEXT_HOP);
  return need.map(
    (t) =>
      new BgpProtocolError(
        ERR.UPDATE,
        UPDATE_SUBCODE.MISSING_WELL_KNOWN,
        Buffer.from([t]),
        'treat-as-withdraw',
        `missing well-known attribute ${t}`,
        t,
      ),
  );
}

function endOfRib(
  withdrawn: NlriList,
  nlri: NlriList,
  attrLen: number,
  a: PathAttributes,
  other: boolean,
): number | undefined {
  if (withdrawn.count > 0 || nlri.count > 0) return undefined;
  if (attrLen === 0) return FAMILY.IPV4_UNICAST;
  const un = a.mpUnreach;
  if (!other && un !== undefined && un.withdrawn.count === 0) return familyKey(un.afi, un.safi);
  return undefined;
}

/** The interning key described on `UpdateMessage.attributeKey`. */
function attributeKey(msg: Buffer, raw: Buffer, kept: readonly Span[], dropped: boolean, a: PathAttributes): Buffer {
  const hasMp = kept.some((k) => k.mp);
  if (!hasMp && !dropped) return raw;
  const parts: Buffer[] = kept.filter((k) => !k.mp).map((k) => msg.subarray(k.start, k.end));
  if (a.mpReach) {
    const fam = Buffer.alloc(4);
    fam.writeUInt16BE(a.mpReach.afi, 0);
    fam[2] = a.mpReach.safi;
    fam[3] = a.mpReach.nextHop.length;
    parts.push(fam, a.mpReach.nextHop);
  }
  return Buffer.concat(parts);
}

/** Every NLRI that an UPDATE with action 'treat-as-withdraw' must withdraw (classic and MP_REACH). */
export function treatAsWithdrawLists(u: UpdateMessage): NlriList[] {
  const out: NlriList[] = [];
  if (u.nlri.count > 0) out.push(u.nlri);
  if (u.attributes.mpReach && u.attributes.mpReach.nlri.count > 0) out.push(u.attributes.mpReach.nlri);
  return out;
}
