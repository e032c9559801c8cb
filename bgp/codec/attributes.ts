/**
 * Path attribute section decoding with RFC 7606 revised error handling. The per-attribute rules live in
 * the table of attribute-decoders.ts; this file walks the section, applies the cross-attribute rules
 * (overruns, duplicates, flags, iBGP-only attributes, unknown attributes) and collects problems: the
 * strongest action wins. Session-reset problems are thrown at once (nothing after them matters); the rest
 * come back in `problems` and `action`.
 */
import { DISCARD, finishAs4, Malformed, RESET, SPEC, TAW, type State } from './attribute-decoders.js';
import { ATTR, ATTR_FLAG, ERR, UPDATE_SUBCODE } from './constants.js';
import { BgpProtocolError, strongerAction, type ErrorAction } from './errors.js';
import type { DecodeOptions, PathAttributes, RawAttribute } from './types.js';

/** Attributes that only make sense inside an AS: discarded when an external peer sends them. */
const IBGP_ONLY: ReadonlySet<number> = new Set([ATTR.LOCAL_PREF, ATTR.ORIGINATOR_ID, ATTR.CLUSTER_LIST]);
const OPT_TRANS = ATTR_FLAG.OPTIONAL | ATTR_FLAG.TRANSITIVE;
const EMPTY = Buffer.alloc(0);

/** One whole attribute (header included) in the message. */
export interface Span {
  readonly start: number;
  readonly end: number;
  readonly mp: boolean;
}

export interface DecodedAttributes {
  readonly attributes: PathAttributes;
  readonly action: 'none' | 'treat-as-withdraw' | 'attribute-discard';
  readonly problems: BgpProtocolError[];
  /**
   * The attributes that decoded cleanly and were kept, in received order (MP ones flagged). Every
   * attribute that was malformed, duplicated, discarded or ignored is absent.
   */
  readonly kept: Span[];
  /** True when `kept` is not the whole attribute section (something was dropped). */
  readonly dropped: boolean;
  /** Attribute types present (valid or not), indexed by type code. */
  readonly present: Uint8Array;
  /** True when any attribute other than MP_UNREACH_NLRI is present (End-of-RIB detection). */
  readonly hasOtherThanMpUnreach: boolean;
}

interface Header {
  readonly flags: number;
  readonly type: number;
  readonly start: number;
  readonly vStart: number;
  readonly vEnd: number;
}

/** Problems of one section; `report` throws session-reset ones. */
class Problems {
  readonly list: BgpProtocolError[] = [];
  action: DecodedAttributes['action'] = 'none';
  report(e: BgpProtocolError): void {
    if (e.action === RESET) throw e;
    this.list.push(e);
    this.action = strongerAction(this.action, e.action) as DecodedAttributes['action'];
  }
}

const isMp = (type: number): boolean => type === ATTR.MP_REACH_NLRI || type === ATTR.MP_UNREACH_NLRI;

/**
 * Decode the attribute section `msg[start, end)`. Throws a BgpProtocolError for session-reset cases.
 * `classicNlri`: the UPDATE carries IPv4 NLRI in the classic field. Without it NEXT_HOP is ignored
 * (RFC 4760 §3), so a malformed one is only discarded.
 */
export function decodePathAttributes(
  msg: Buffer,
  start: number,
  end: number,
  opts: DecodeOptions,
  classicNlri = true,
): DecodedAttributes {
  const st: State = { msg, opts, a: {}, as4Path: undefined, as4Aggregator: undefined };
  const problems = new Problems();
  const kept: Span[] = [];
  const seen = new Uint8Array(256);
  let other = false;
  for (let off = start; off < end; ) {
    const h = readHeader(msg, off, end);
    if (h instanceof BgpProtocolError) {
      problems.report(h);
      break; // RFC 7606 §4: nothing after an overrun can be trusted
    }
    off = h.vEnd;
    if (h.type !== ATTR.MP_UNREACH_NLRI) other = true;
    const first = seen[h.type] === 0;
    seen[h.type] = 1;
    if (decodeOne(st, h, first, classicNlri, problems)) kept.push({ start: h.start, end: h.vEnd, mp: isMp(h.type) });
  }
  finishAs4(st);
  let covered = start;
  for (const k of kept) if (k.start === covered) covered = k.end;
  return {
    attributes: st.a,
    action: problems.action,
    problems: problems.list,
    kept,
    dropped: covered !== end,
    present: seen,
    hasOtherThanMpUnreach: other,
  };
}

/** The attribute header at `off`, or the RFC 7606 §4 problem when it or its value overruns the section. */
function readHeader(msg: Buffer, off: number, end: number): Header | BgpProtocolError {
  const flags = msg[off]!;
  const headLen = flags & ATTR_FLAG.EXTENDED_LENGTH ? 4 : 3;
  if (off + headLen > end) return listError(TAW, 'attribute header overruns the attribute section');
  const type = msg[off + 1]!;
  const vStart = off + headLen;
  const vEnd = vStart + (headLen === 4 ? msg.readUInt16BE(off + 2) : msg[off + 2]!);
  if (vEnd > end) {
    // The MP NLRI could not be located any more: that one is a reset.
    return listError(isMp(type) ? RESET : TAW, `attribute ${type} overruns the attribute section`, type);
  }
  return { flags, type, start: off, vStart, vEnd };
}

/** Decode one attribute; true when it is kept. */
function decodeOne(st: State, h: Header, first: boolean, classicNlri: boolean, problems: Problems): boolean {
  const { type, flags } = h;
  const whole = st.msg.subarray(h.start, h.vEnd);
  if (!first) {
    // RFC 7606 §3.g: keep the first, discard the rest; a repeated MP attribute resets the session.
    problems.report(listError(isMp(type) ? RESET : DISCARD, `duplicate attribute ${type}`, type));
    return false;
  }
  const spec = SPEC.get(type);
  if (spec === undefined) return decodeUnknown(st, flags, type, whole, h.vStart - h.start);
  if (!st.opts.isIbgp && IBGP_ONLY.has(type)) {
    // RFC 7606 §7.5, §7.9, §7.10: from an external peer these are discarded, well-formed or not.
    problems.report(attrError(type, 0, whole, DISCARD, `attribute ${type} from an external peer`));
    return false;
  }
  const onMalformed = type === ATTR.NEXT_HOP && !classicNlri ? DISCARD : spec.onMalformed;
  if ((flags & OPT_TRANS) !== spec.flags) {
    // RFC 7606 §3.c: a flags conflict makes the attribute malformed; its own rule applies.
    problems.report(
      attrError(
        type,
        UPDATE_SUBCODE.ATTRIBUTE_FLAGS,
        whole,
        onMalformed,
        `attribute ${type} flags 0x${flags.toString(16)}`,
      ),
    );
    return false;
  }
  try {
    return spec.decode(st, h.vStart, h.vEnd);
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
    problems.report(attrError(type, e.subcode, whole, e.action ?? onMalformed, `attribute ${type}: ${e.reason}`));
    return false;
  }
}

function listError(action: ErrorAction, reason: string, type?: number): BgpProtocolError {
  return new BgpProtocolError(ERR.UPDATE, UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST, EMPTY, action, reason, type);
}

function attrError(
  type: number,
  subcode: number,
  whole: Buffer,
  action: ErrorAction,
  reason: string,
): BgpProtocolError {
  return new BgpProtocolError(ERR.UPDATE, subcode, Buffer.from(whole), action, reason, type);
}

/** Unknown attribute types. Returns true when kept (optional transitive). */
function decodeUnknown(st: State, flags: number, type: number, whole: Buffer, headLen: number): boolean {
  if ((flags & ATTR_FLAG.OPTIONAL) === 0) {
    // RFC 4271 §6.3: an unrecognized well-known attribute: 3/2 with the attribute as data.
    throw new BgpProtocolError(
      ERR.UPDATE,
      UPDATE_SUBCODE.UNRECOGNIZED_WELL_KNOWN,
      Buffer.from(whole),
      RESET,
      `unrecognized well-known attribute ${type}`,
      type,
    );
  }
  if ((flags & ATTR_FLAG.TRANSITIVE) === 0) return false; // optional non-transitive: quietly ignored
  const raw: RawAttribute = { flags, type, value: whole.subarray(headLen) };
  st.a.unknown = [...(st.a.unknown ?? []), raw];
  return true;
}
