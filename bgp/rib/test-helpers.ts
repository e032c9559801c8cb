/** Builders for unit tests and the benchmark: UPDATE bodies from readable inputs. */
import { parseAddressBytes } from '../../src/net/index.js';
import {
  ATTR,
  ByteWriter,
  EMPTY_ATTRS,
  FLAG,
  SEG,
  encodeAttrs,
  parseAttrs,
  scanAttrs,
  type AttrScan,
  type RouteAttrs,
} from './attrs.js';
import { formatIpv6, parseIpv6, parsePrefix } from '../attrs/index.js';
import { wordsToBytes } from './rib-query.js';
import type { RibUpdate } from './types.js';
import { ribUpdateFromBody, ribUpdateFromMessage } from './update-view.js';

export interface TestRoute {
  readonly asPath?: readonly number[];
  readonly nextHop?: string;
  readonly localPref?: number;
  readonly med?: number;
  readonly origin?: number;
  readonly communities?: readonly number[];
  readonly originatorId?: number;
  readonly clusterList?: readonly number[];
  readonly attrs?: Partial<RouteAttrs>;
}

export function attrsOf(r: TestRoute): RouteAttrs {
  return {
    ...EMPTY_ATTRS,
    origin: r.origin ?? 0,
    asPath: r.asPath && r.asPath.length > 0 ? [{ type: SEG.AS_SEQUENCE, asns: [...r.asPath] }] : [],
    nextHop: r.nextHop !== undefined ? parseAddressBytes(r.nextHop) : new Uint8Array(0),
    communities: [...(r.communities ?? [])],
    clusterList: [...(r.clusterList ?? [])],
    ...(r.localPref !== undefined && { localPref: r.localPref }),
    ...(r.med !== undefined && { med: r.med }),
    ...(r.originatorId !== undefined && { originatorId: r.originatorId }),
    ...r.attrs,
  };
}

function writeNlri(w: ByteWriter, prefixes: readonly string[], pathIds?: readonly number[]): void {
  prefixes.forEach((text, i) => {
    const p = parsePrefix(text);
    if (pathIds) w.u32(pathIds[i]!);
    w.u8(p.len);
    w.bytes(wordsToBytes(p.words).subarray(0, (p.len + 7) >>> 3));
  });
}

/** An UPDATE body: IPv4 prefixes in the classic fields, IPv6 ones (or `mp`) in MP_REACH/MP_UNREACH. */
export function updateBody(o: {
  readonly announce?: readonly string[];
  readonly withdraw?: readonly string[];
  readonly route?: TestRoute;
  readonly fourOctetAs?: boolean;
  readonly pathIds?: readonly number[];
  readonly withdrawPathIds?: readonly number[];
}): Uint8Array {
  const ann = o.announce ?? [],
    wd = o.withdraw ?? [];
  const v6 = (p: string) => p.includes(':');
  const w = new ByteWriter(256);
  const wdStart = w.len;
  w.u16(0);
  writeNlri(
    w,
    wd.filter((p) => !v6(p)),
    o.withdrawPathIds,
  );
  const wl = w.len - wdStart - 2;
  w.buf[wdStart] = wl >>> 8;
  w.buf[wdStart + 1] = wl & 255;
  const alAt = w.len;
  w.u16(0);
  const a = o.route ? attrsOf(o.route) : undefined;
  const ann6 = ann.filter(v6),
    wd6 = wd.filter(v6);
  if (ann6.length > 0 && a) {
    const at = w.beginAttr(FLAG.OPTIONAL, ATTR.MP_REACH_NLRI);
    w.u16(2);
    w.u8(1);
    w.u8(a.nextHop.length);
    w.bytes(a.nextHop);
    w.u8(0);
    writeNlri(w, ann6, o.pathIds);
    w.endAttr(at);
  }
  if (wd6.length > 0) {
    const at = w.beginAttr(FLAG.OPTIONAL, ATTR.MP_UNREACH_NLRI);
    w.u16(2);
    w.u8(1);
    writeNlri(w, wd6, o.withdrawPathIds);
    w.endAttr(at);
  }
  if (a) w.bytes(encodeAttrs(a, { fourOctetAs: o.fourOctetAs ?? true, nextHopAttr: a.nextHop.length === 4 }));
  const al = w.len - alAt - 2;
  w.buf[alAt] = al >>> 8;
  w.buf[alAt + 1] = al & 255;
  writeNlri(
    w,
    ann.filter((p) => !v6(p)),
    o.pathIds,
  );
  return w.buf.slice(0, w.len);
}

export function update(o: Parameters<typeof updateBody>[0]): RibUpdate {
  return ribUpdateFromBody(updateBody(o));
}

/** An empty MP_UNREACH End-of-RIB for IPv6. */
export function eorV6(): RibUpdate {
  const body = Uint8Array.of(0, 0, 0, 6, FLAG.OPTIONAL, ATTR.MP_UNREACH_NLRI, 3, 0, 2, 1);
  return ribUpdateFromBody(body);
}

export interface DecodedOut {
  readonly withdrawn: string[];
  readonly announced: string[];
  readonly attrs: RouteAttrs | undefined;
  readonly endOfRib: boolean;
}

function readPrefixes(b: Uint8Array, s: number, e: number, v6: boolean): string[] {
  const out: string[] = [];
  while (s < e) {
    const len = b[s++]!,
      nb = (len + 7) >>> 3;
    const bytes = new Uint8Array(v6 ? 16 : 4);
    bytes.set(b.subarray(s, s + nb));
    s += nb;
    out.push(`${nextHopTextOf(bytes)}/${len}`);
  }
  return out;
}

function nextHopTextOf(b: Uint8Array): string {
  if (b.length === 4) return b.join('.');
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return formatIpv6Text(g.join(':'));
}

function formatIpv6Text(full: string): string {
  return formatIpv6(parseIpv6(full));
}

/** Decodes UPDATEs produced by takeOutbound (fourOctetAs per the receiving peer). */
export function decodeOut(msgs: readonly Buffer[], fourOctetAs = true): DecodedOut[] {
  return msgs.map((m) => {
    expect16(m);
    const u = ribUpdateFromMessage(m);
    const scan: AttrScan = { hash: 0, hasReachAttrs: false, mpReach: undefined, mpUnreach: undefined };
    scanAttrs(u.attrs, 0, u.attrs.length, scan);
    const withdrawn = readPrefixes(u.withdrawn!.buf, u.withdrawn!.start, u.withdrawn!.end, false);
    const announced = readPrefixes(u.nlri!.buf, u.nlri!.start, u.nlri!.end, false);
    if (scan.mpUnreach)
      withdrawn.push(
        ...readPrefixes(u.attrs, scan.mpUnreach.nlriStart, scan.mpUnreach.nlriEnd, scan.mpUnreach.afi === 2),
      );
    if (scan.mpReach)
      announced.push(...readPrefixes(u.attrs, scan.mpReach.nlriStart, scan.mpReach.nlriEnd, scan.mpReach.afi === 2));
    const attrs = scan.hasReachAttrs
      ? parseAttrs(u.attrs, 0, u.attrs.length, fourOctetAs, scan.mpReach !== undefined)
      : undefined;
    const endOfRib = withdrawn.length === 0 && announced.length === 0 && !scan.hasReachAttrs;
    return { withdrawn, announced, attrs, endOfRib };
  });
}

function expect16(m: Buffer): void {
  for (let i = 0; i < 16; i++) if (m[i] !== 0xff) throw new Error('bad marker');
  if (m.readUInt16BE(16) !== m.length) throw new Error('bad length');
}
