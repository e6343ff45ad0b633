/**
 * Stream framers: buffer socket chunks, resynchronise, emit whole frames, count and drop corrupt ones
 * without throwing. One bad meter must never stall the socket reader.
 */
import { crc16x25 } from './crc.ts';
import { DlmsDecodeError } from './cursor.ts';
import {
  decodeHdlcFrame,
  FORMAT_LENGTH_MASK,
  FORMAT_TYPE_3,
  FORMAT_TYPE_MASK,
  HDLC_FLAG,
  type HdlcFrame,
} from './hdlc.ts';
import { decodeWrapper, WRAPPER_HEADER_LENGTH, WRAPPER_VERSION, type WrapperFrame } from './wrapper.ts';

export interface FramerStats {
  /** Whole frames emitted. */
  frames: number;
  /** Frames (or runs of bytes) dropped as corrupt. */
  dropped: number;
  /** Bytes skipped while looking for a start. */
  skippedBytes: number;
}

export interface FramerOptions {
  /** Called for each dropped frame, with the reason; for the host's logs and metrics. */
  onDrop?: (reason: string, bytes: Buffer) => void;
}

/** Smallest valid frame between the flags: format(2) + dest(1) + src(1) + control(1) + FCS(2). */
const MIN_HDLC_LENGTH = 7;

/**
 * HDLC framer (IEC 62056-46 §6.4): finds 0x7E followed by a type-3 format field, reads the 11-bit length,
 * checks the HCS as soon as the header is in (so a corrupt length never makes it wait), then the FCS.
 * Consecutive frames may share one flag.
 */
export class HdlcFramer {
  private buf: Buffer = Buffer.alloc(0);
  readonly stats: FramerStats = { frames: 0, dropped: 0, skippedBytes: 0 };

  constructor(private readonly opts: FramerOptions = {}) {}

  /** Bytes held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.buf.length;
  }

  reset(): void {
    this.buf = Buffer.alloc(0);
  }

  /** Feeds a chunk; returns the whole frames it completed, in order. */
  push(chunk: Uint8Array): HdlcFrame[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: HdlcFrame[] = [];
    let pos = 0;
    for (;;) {
      // Resynchronise on the next flag.
      const start = this.buf.indexOf(HDLC_FLAG, pos);
      if (start < 0) {
        this.stats.skippedBytes += this.buf.length - pos;
        pos = this.buf.length;
        break;
      }
      this.stats.skippedBytes += start - pos;
      pos = start;
      if (this.buf.length - pos < 3) break;
      const format = this.buf.readUInt16BE(pos + 1);
      if ((format & FORMAT_TYPE_MASK) !== FORMAT_TYPE_3) {
        // A closing flag, or a shared flag followed by the next frame's flag: not a start.
        pos += 1;
        continue;
      }
      const length = format & FORMAT_LENGTH_MASK;
      if (length < MIN_HDLC_LENGTH) {
        this.drop(pos, pos + 3, 'HDLC length too small');
        pos += 1;
        continue;
      }
      // IEC 62056-46 §6.4.4: check the HCS once the header is in, before trusting the length.
      const headerEnd = findHeaderEnd(this.buf, pos + 3);
      if (headerEnd === 'bad') {
        this.drop(pos, pos + 3, 'HDLC address too long');
        pos += 1;
        continue;
      }
      if (headerEnd === 'more') break;
      const hasInfo = length > headerEnd + 2 - (pos + 1);
      if (hasInfo) {
        if (this.buf.length < headerEnd + 2) break;
        const hcs = this.buf.readUInt16LE(headerEnd);
        if (crc16x25(this.buf, pos + 1, headerEnd) !== hcs) {
          this.drop(pos, headerEnd + 2, 'HDLC HCS mismatch');
          pos += 1;
          continue;
        }
      }
      const end = pos + length + 2;
      if (this.buf.length < end) break;
      if (this.buf[end - 1] !== HDLC_FLAG) {
        this.drop(pos, end, 'HDLC closing flag missing');
        pos += 1;
        continue;
      }
      try {
        out.push(decodeHdlcFrame(this.buf.subarray(pos, end)));
        this.stats.frames += 1;
        // Leave the closing flag: it may also open the next frame.
        pos = end - 1;
      } catch (err) {
        this.drop(pos, end, err instanceof DlmsDecodeError ? err.message : String(err));
        pos += 1;
      }
    }
    this.buf = Buffer.from(this.buf.subarray(pos));
    return out;
  }

  private drop(from: number, to: number, reason: string): void {
    this.stats.dropped += 1;
    this.opts.onDrop?.(reason, Buffer.from(this.buf.subarray(from, Math.min(to, this.buf.length))));
  }
}

/** Position just after the control byte, reading addresses by their extension bits. */
function findHeaderEnd(buf: Buffer, from: number): number | 'more' | 'bad' {
  let p = from;
  for (let addr = 0; addr < 2; addr++) {
    let n = 0;
    for (;;) {
      if (p >= buf.length) return 'more';
      const b = buf[p++]!;
      n += 1;
      if (b & 1) break;
      if (n >= 4) return 'bad';
    }
  }
  if (p >= buf.length) return 'more';
  return p + 1;
}

export interface WrapperFramerOptions extends FramerOptions {
  /** Largest APDU accepted; longer headers are treated as corrupt. Default 65535. */
  maxApduLength?: number;
}

/**
 * TCP wrapper framer (IEC 62056-47 §5): 8-byte header, then `length` APDU bytes. A header with a version
 * other than 0x0001 (or an over-long length) is dropped and the framer resynchronises on the next 00 01.
 */
export class WrapperFramer {
  private buf: Buffer = Buffer.alloc(0);
  readonly stats: FramerStats = { frames: 0, dropped: 0, skippedBytes: 0 };
  private readonly maxApdu: number;

  constructor(private readonly opts: WrapperFramerOptions = {}) {
    this.maxApdu = opts.maxApduLength ?? 0xffff;
  }

  get buffered(): number {
    return this.buf.length;
  }

  reset(): void {
    this.buf = Buffer.alloc(0);
  }

  push(chunk: Uint8Array): WrapperFrame[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: WrapperFrame[] = [];
    let pos = 0;
    while (this.buf.length - pos >= 2) {
      if (this.buf.readUInt16BE(pos) !== WRAPPER_VERSION) {
        const next = findVersion(this.buf, pos + 1);
        this.stats.dropped += 1;
        this.opts.onDrop?.('TCP wrapper version is not 0x0001', Buffer.from(this.buf.subarray(pos, next)));
        this.stats.skippedBytes += next - pos;
        pos = next;
        continue;
      }
      if (this.buf.length - pos < WRAPPER_HEADER_LENGTH) break;
      const length = this.buf.readUInt16BE(pos + 6);
      if (length > this.maxApdu || length === 0) {
        this.stats.dropped += 1;
        this.opts.onDrop?.(
          `TCP wrapper length ${length} not accepted`,
          Buffer.from(this.buf.subarray(pos, pos + 8)),
        );
        pos = findVersion(this.buf, pos + 1);
        continue;
      }
      const end = pos + WRAPPER_HEADER_LENGTH + length;
      if (this.buf.length < end) break;
      out.push(decodeWrapper(this.buf.subarray(pos, end)));
      this.stats.frames += 1;
      pos = end;
    }
    this.buf = Buffer.from(this.buf.subarray(pos));
    return out;
  }
}

function findVersion(buf: Buffer, from: number): number {
  for (let i = from; i < buf.length - 1; i++) {
    if (buf[i] === 0x00 && buf[i + 1] === 0x01) return i;
  }
  // Keep a trailing 0x00: it may be the first byte of the next version field.
  return buf.length > from && buf[buf.length - 1] === 0x00 ? buf.length - 1 : Math.max(from, buf.length);
}
