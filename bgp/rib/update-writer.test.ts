import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import { EMPTY_ATTRS, SEG, encodeAttrs } from './attrs.js';
import { formatPrefix, parsePrefix } from '../attrs/index.js';
import { PrefixTable } from './prefix-table.js';
import { decodeOut } from './test-helpers.js';
import { UpdateWriter } from './update-writer.js';

function table(prefixes: readonly string[], v6: boolean): { t: PrefixTable; idx: number[] } {
  const t = new PrefixTable(v6 ? 4 : 1, 16);
  const idx = prefixes.map((s) => {
    const p = parsePrefix(s);
    return v6 ? t.lookup4(p.words, 0, p.len, true) : t.intern1(p.words[0]!, p.len);
  });
  return { t, idx };
}

const v4list = (n: number) =>
  Array.from({ length: n }, (_, i) => formatPrefix('ipv4', [(0x0b000000 + i * 256) >>> 0], 24));
const attrs = encodeAttrs(
  { ...EMPTY_ATTRS, asPath: [{ type: SEG.AS_SEQUENCE, asns: [65000, 65001] }], nextHop: Uint8Array.of(10, 0, 0, 1) },
  { fourOctetAs: true, nextHopAttr: true },
);

describe('UpdateWriter packing', () => {
  it('packs as many IPv4 NLRI as fit in 4096 bytes and loses none', () => {
    const list = v4list(3000);
    const { t, idx } = table(list, false);
    const w = new UpdateWriter(4096);
    w.announceV4(attrs, t, idx, 0, idx.length);
    expect(w.out.every((m) => m.length <= 4096)).toBe(true);
    expect(w.out.slice(0, -1).every((m) => m.length > 4096 - 4)).toBe(true); // full except the last
    const back = decodeOut(w.out);
    expect(back.flatMap((m) => m.announced)).toEqual(list);
    expect(w.out).toHaveLength(Math.ceil(3000 / Math.floor((4096 - 23 - attrs.length) / 4)));
  });

  it('uses up to 65535 bytes with extended messages', () => {
    const list = v4list(40000);
    const { t, idx } = table(list, false);
    const w = new UpdateWriter(65535);
    w.announceV4(attrs, t, idx, 0, idx.length);
    w.withdrawV4(t, idx, 0, idx.length);
    expect(w.out.every((m) => m.length <= 65535)).toBe(true);
    expect(w.out.length).toBeLessThan(8);
    const back = decodeOut(w.out);
    expect(back.flatMap((m) => m.announced)).toEqual(list);
    expect(back.flatMap((m) => m.withdrawn)).toEqual(list);
  });

  it('packs IPv6 (and RFC 8950 IPv4) into MP_REACH / MP_UNREACH within the limit', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 0xffff }),
            fc.integer({ min: 0, max: 0xffff }),
            fc.integer({ min: 16, max: 128 }),
          ),
          { minLength: 1, maxLength: 700 },
        ),
        (raw) => {
          const list = [
            ...new Set(
              raw.map(([a, b, len]) =>
                formatPrefix('ipv6', parsePrefix(`2001:${a.toString(16)}:${b.toString(16)}::/${len}`).words, len),
              ),
            ),
          ];
          const { t, idx } = table(list, true);
          const w = new UpdateWriter(4096);
          const a6 = encodeAttrs({ ...EMPTY_ATTRS, asPath: [] }, { fourOctetAs: true, nextHopAttr: false });
          const nh = new Uint8Array(32).fill(1);
          w.announceMp('ipv6', nh, a6, t, idx, 0, idx.length);
          w.withdrawMp('ipv6', t, idx, 0, idx.length);
          expect(w.out.every((m) => m.length <= 4096)).toBe(true);
          const back = decodeOut(w.out);
          expect(back.flatMap((m) => m.announced)).toEqual(list);
          expect(back.flatMap((m) => m.withdrawn)).toEqual(list);
          expect(back.find((m) => m.announced.length > 0)!.attrs!.nextHop).toEqual(nh);
        },
      ),
      { numRuns: 30 },
    );
    const { t, idx } = table(['10.1.0.0/16'], false);
    const w = new UpdateWriter(4096);
    w.announceMp(
      'ipv4',
      new Uint8Array(16).fill(2),
      encodeAttrs(EMPTY_ATTRS, { fourOctetAs: true, nextHopAttr: false }),
      t,
      idx,
      0,
      1,
    );
    const [m] = decodeOut(w.out);
    expect(m!.announced).toEqual(['10.1.0.0/16']);
    expect(m!.attrs!.nextHop.length).toBe(16);
  });

  it('writes End-of-RIB markers (RFC 4724 §2)', () => {
    const w = new UpdateWriter(4096);
    w.endOfRib('ipv4');
    w.endOfRib('ipv6');
    expect(w.out.map((m) => m.toString('hex'))).toEqual([
      `${'ff'.repeat(16)}001702` + '00000000',
      `${'ff'.repeat(16)}001d02` + '0000' + '0006' + '800f03000201',
    ]);
  });
});
