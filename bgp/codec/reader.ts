import type { BgpProtocolError } from './errors.js';

/**
 * Bounds-checked cursor over `buf[start, end)`. Never copies: `view` returns a subarray valid only while
 * `buf` is held. Running short throws the error `onShort` builds, so each caller picks the RFC code.
 */
export class Reader {
  #off: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
    private readonly onShort: () => BgpProtocolError,
  ) {
    this.#off = start;
  }
  get offset(): number {
    return this.#off;
  }
  get remaining(): number {
    return this.end - this.#off;
  }
  u8(): number {
    this.#need(1);
    return this.buf[this.#off++]!;
  }
  u16(): number {
    this.#need(2);
    const v = this.buf.readUInt16BE(this.#off);
    this.#off += 2;
    return v;
  }
  u32(): number {
    this.#need(4);
    const v = this.buf.readUInt32BE(this.#off);
    this.#off += 4;
    return v;
  }
  view(n: number): Buffer {
    this.#need(n);
    return this.buf.subarray(this.#off, (this.#off += n));
  }
  skip(n: number): void {
    this.#need(n);
    this.#off += n;
  }
  sub(n: number): Reader {
    this.#need(n);
    const r = new Reader(this.buf, this.#off, this.#off + n, this.onShort);
    this.#off += n;
    return r;
  }
  #need(n: number): void {
    if (n < 0 || this.#off + n > this.end) throw this.onShort();
  }
}
