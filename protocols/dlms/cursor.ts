/**
 * One byte cursor for the whole DLMS codec. It owns the position and the byte order (DLMS is big-endian
 * everywhere except the HDLC CRCs, which are written low byte first by the HDLC module).
 *
 * A cursor is either a reader over existing bytes or a writer that grows as needed.
 */

/** Raised when a decoder meets bytes that do not follow the standard. */
export class DlmsDecodeError extends Error {
  override readonly name = 'DlmsDecodeError';
  constructor(
    message: string,
    /** Byte offset in the decoded buffer where the problem was found. */
    readonly offset?: number,
  ) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
  }
}

/** Raised when an encoder is given a value it cannot put on the wire. */
export class DlmsEncodeError extends Error {
  override readonly name = 'DlmsEncodeError';
}

const INITIAL_CAPACITY = 64;

export class Cursor {
  private buf: Buffer;
  private view: DataView;
  /** Current read or write position. */
  position: number;
  /** Number of valid bytes (for a reader: the input length; for a writer: bytes written so far). */
  private end: number;

  private constructor(buf: Buffer, end: number) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.position = 0;
    this.end = end;
  }

  /** A reader over `bytes` (not copied). */
  static reader(bytes: Uint8Array): Cursor {
    const buf = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return new Cursor(buf, buf.length);
  }

  /** An empty writer. */
  static writer(capacity = INITIAL_CAPACITY): Cursor {
    return new Cursor(Buffer.alloc(capacity), 0);
  }

  /** Bytes left to read. */
  remaining(): number {
    return this.end - this.position;
  }

  /** True while unread bytes remain. */
  isMore(): boolean {
    return this.position < this.end;
  }

  /** Total length of the underlying data (reader) or of what was written (writer). */
  get length(): number {
    return this.end;
  }

  /** A copy of the bytes written so far. */
  getWritten(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.end));
  }

  // ---- reading ----

  private need(n: number): void {
    if (this.position + n > this.end) {
      throw new DlmsDecodeError(`need ${n} byte(s), ${this.remaining()} left`, this.position);
    }
  }

  peekUInt8(): number {
    this.need(1);
    return this.buf[this.position]!;
  }

  readUInt8(): number {
    this.need(1);
    return this.buf[this.position++]!;
  }

  readInt8(): number {
    this.need(1);
    const v = this.view.getInt8(this.position);
    this.position += 1;
    return v;
  }

  readUInt16(): number {
    this.need(2);
    const v = this.view.getUint16(this.position);
    this.position += 2;
    return v;
  }

  readInt16(): number {
    this.need(2);
    const v = this.view.getInt16(this.position);
    this.position += 2;
    return v;
  }

  readUInt32(): number {
    this.need(4);
    const v = this.view.getUint32(this.position);
    this.position += 4;
    return v;
  }

  readInt32(): number {
    this.need(4);
    const v = this.view.getInt32(this.position);
    this.position += 4;
    return v;
  }

  readUInt64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.position);
    this.position += 8;
    return v;
  }

  readInt64(): bigint {
    this.need(8);
    const v = this.view.getBigInt64(this.position);
    this.position += 8;
    return v;
  }

  readFloat32(): number {
    this.need(4);
    const v = this.view.getFloat32(this.position);
    this.position += 4;
    return v;
  }

  readFloat64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.position);
    this.position += 8;
    return v;
  }

  /** `n` bytes as a copy. */
  readBytes(n: number): Buffer {
    this.need(n);
    const out = Buffer.from(this.buf.subarray(this.position, this.position + n));
    this.position += n;
    return out;
  }

  /** Everything not read yet, as a copy. */
  readRest(): Buffer {
    return this.readBytes(this.remaining());
  }

  // ---- writing ----

  private ensure(n: number): void {
    if (this.position + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.position + n) cap *= 2;
    const next = Buffer.alloc(cap);
    this.buf.copy(next, 0, 0, this.end);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  private advance(n: number): void {
    this.position += n;
    if (this.position > this.end) this.end = this.position;
  }

  private checkInt(v: number, min: number, max: number, what: string): void {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new DlmsEncodeError(`${what}: ${v} is outside ${min}..${max}`);
    }
  }

  writeUInt8(v: number): this {
    this.checkInt(v, 0, 0xff, 'uint8');
    this.ensure(1);
    this.buf[this.position] = v;
    this.advance(1);
    return this;
  }

  writeInt8(v: number): this {
    this.checkInt(v, -0x80, 0x7f, 'int8');
    this.ensure(1);
    this.view.setInt8(this.position, v);
    this.advance(1);
    return this;
  }

  writeUInt16(v: number): this {
    this.checkInt(v, 0, 0xffff, 'uint16');
    this.ensure(2);
    this.view.setUint16(this.position, v);
    this.advance(2);
    return this;
  }

  writeInt16(v: number): this {
    this.checkInt(v, -0x8000, 0x7fff, 'int16');
    this.ensure(2);
    this.view.setInt16(this.position, v);
    this.advance(2);
    return this;
  }

  writeUInt32(v: number): this {
    this.checkInt(v, 0, 0xffffffff, 'uint32');
    this.ensure(4);
    this.view.setUint32(this.position, v);
    this.advance(4);
    return this;
  }

  writeInt32(v: number): this {
    this.checkInt(v, -0x80000000, 0x7fffffff, 'int32');
    this.ensure(4);
    this.view.setInt32(this.position, v);
    this.advance(4);
    return this;
  }

  writeUInt64(v: bigint): this {
    if (v < 0n || v > 0xffffffffffffffffn) throw new DlmsEncodeError(`uint64: ${v} out of range`);
    this.ensure(8);
    this.view.setBigUint64(this.position, v);
    this.advance(8);
    return this;
  }

  writeInt64(v: bigint): this {
    if (v < -0x8000000000000000n || v > 0x7fffffffffffffffn) {
      throw new DlmsEncodeError(`int64: ${v} out of range`);
    }
    this.ensure(8);
    this.view.setBigInt64(this.position, v);
    this.advance(8);
    return this;
  }

  writeFloat32(v: number): this {
    this.ensure(4);
    this.view.setFloat32(this.position, v);
    this.advance(4);
    return this;
  }

  writeFloat64(v: number): this {
    this.ensure(8);
    this.view.setFloat64(this.position, v);
    this.advance(8);
    return this;
  }

  writeBytes(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.position);
    this.advance(bytes.length);
    return this;
  }
}

/** Hex string (spaces allowed) to bytes. Handy for vectors and logs. */
export function fromHex(hex: string): Buffer {
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) {
    throw new DlmsEncodeError(`not a hex string: ${hex}`);
  }
  return Buffer.from(clean, 'hex');
}

/** Bytes to lower-case hex without separators. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
