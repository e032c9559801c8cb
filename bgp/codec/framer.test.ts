import { describe, expect, it } from 'vitest';
import { BgpProtocolError } from './errors.js';
import { Framer } from './framer.js';
import { encodeKeepalive } from './route-refresh.js';
import { encodePathAttributes } from './attributes-encode.js';
import { packUpdates } from './update-packer.js';

const hex = (b: Buffer): string => b.toString('hex');
const KEEPALIVE = encodeKeepalive();
const UPDATE = packUpdates({
  attributes: encodePathAttributes(
    { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '192.0.2.1' },
    { fourOctetAs: true, extendedMessages: false },
  ),
  prefixes: {
    afi: 1,
    count: 2,
    lengths: Uint8Array.from([24, 32]),
    addresses: Uint8Array.from([10, 0, 0, 0, 10, 1, 2, 3]),
  },
  addPath: false,
  maxMessageLength: 4096,
})[0]!;
const STREAM = Buffer.concat([KEEPALIVE, UPDATE, KEEPALIVE]);

function catchError(fn: () => unknown): BgpProtocolError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BgpProtocolError) return e;
    throw e;
  }
  throw new Error('expected a BgpProtocolError');
}

describe('Framer', () => {
  it.each(Array.from({ length: STREAM.length - 1 }, (_, i) => i + 1))('reassembles when split at byte %i', (at) => {
    const f = new Framer();
    const got = [...f.push(STREAM.subarray(0, at)), ...f.push(STREAM.subarray(at))];
    expect(got.map(hex)).toEqual([hex(KEEPALIVE), hex(UPDATE), hex(KEEPALIVE)]);
    expect(f.pendingBytes).toBe(0);
  });

  it('reassembles a stream fed one byte at a time', () => {
    const f = new Framer();
    const got: Buffer[] = [];
    for (let i = 0; i < STREAM.length; i++) got.push(...f.push(STREAM.subarray(i, i + 1)));
    expect(got.map(hex)).toEqual([hex(KEEPALIVE), hex(UPDATE), hex(KEEPALIVE)]);
  });

  it('returns views into the chunk when messages do not straddle', () => {
    const f = new Framer();
    const [a] = f.push(STREAM);
    expect(a!.buffer).toBe(STREAM.buffer);
  });

  it('rejects a bad marker with 1/1 as soon as 16 bytes are in', () => {
    const bad = Buffer.from(KEEPALIVE);
    bad[3] = 0;
    const e = catchError(() => new Framer().push(bad.subarray(0, 16)));
    expect([e.errorCode, e.subcode, e.action, hex(e.data)]).toEqual([1, 1, 'session-reset', '']);
  });

  it('keeps the messages framed before a bad header in the same chunk (caller-owned out)', () => {
    const garbage = Buffer.alloc(19, 0xfe);
    const out: Buffer[] = [];
    const e = catchError(() => new Framer().push(Buffer.concat([KEEPALIVE, UPDATE, garbage]), out));
    expect([e.errorCode, e.subcode]).toEqual([1, 1]);
    expect(out.map(hex)).toEqual([hex(KEEPALIVE), hex(UPDATE)]);
  });

  it('rejects a bad marker byte even before 16 bytes are in', () => {
    const e = catchError(() => new Framer().push(Buffer.from([0xff, 0xfe])));
    expect([e.errorCode, e.subcode]).toEqual([1, 1]);
  });

  it.each([
    [18, '0012'],
    [0, '0000'],
    [4097, '1001'],
  ])('rejects length %i with 1/2 and the length field as data', (len, data) => {
    const m = Buffer.from(KEEPALIVE);
    m.writeUInt16BE(len, 16);
    const e = catchError(() => new Framer().push(m));
    expect([e.errorCode, e.subcode, hex(e.data)]).toEqual([1, 2, data]);
  });

  it('accepts 65535-byte messages after setMaxLength', () => {
    const big = Buffer.alloc(65535);
    big.fill(0xff, 0, 16);
    big.writeUInt16BE(65535, 16);
    big[18] = 2;
    expect(() => new Framer().push(big)).toThrow(BgpProtocolError);
    const f = new Framer();
    f.setMaxLength(65535);
    expect(f.push(big).map((m) => m.length)).toEqual([65535]);
  });
});
