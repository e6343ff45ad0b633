/**
 * A guard in front of aedes on every broker connection: it follows the MQTT framing of the bytes aedes
 * reads (a fixed-header byte, the remaining-length varint, then that many bytes) and refuses a packet as soon
 * as its fixed header announces more than allowed, before its body is buffered. The first packet (which
 * must be a CONNECT) has a much smaller limit than the rest. aedes's parser (mqtt-packet) has no limit of its
 * own and would buffer a 200 MB announcement whole.
 *
 * aedes pulls bytes with `conn.read()`; the guard wraps that method, so it sees every byte in order and
 * costs one pass over each chunk. A refused connection is destroyed and `read()` answers null from then on.
 */
import type { Duplex } from 'node:stream';

export interface PacketLimits {
  /** Largest packet (fixed header included) after the CONNECT. */
  readonly maxPacketBytes: number;
  /** Largest first packet, the CONNECT. */
  readonly maxConnectBytes: number;
}

export type RefusalReason = 'connect_too_large' | 'packet_too_large' | 'malformed_length';

/** Tracks packet boundaries over a byte stream; `feed` answers a refusal reason or null. */
export class PacketFramer {
  #first = true;
  /** 0: expecting a fixed-header byte; 1: inside the length varint; 2: skipping the body. */
  #state: 0 | 1 | 2 = 0;
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #remaining = 0;

  constructor(private readonly limits: PacketLimits) {}

  feed(chunk: Buffer): RefusalReason | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === 2) {
        const take = Math.min(this.#remaining, chunk.length - i);
        i += take;
        this.#remaining -= take;
        if (this.#remaining === 0) this.#state = 0;
        continue;
      }
      const byte = chunk[i++]!;
      if (this.#state === 0) {
        this.#state = 1;
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
        continue;
      }
      this.#length += (byte & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      this.#lengthBytes++;
      if (byte & 0x80) {
        if (this.#lengthBytes >= 4) return 'malformed_length';
        continue;
      }
      const total = 1 + this.#lengthBytes + this.#length;
      const limit = this.#first ? this.limits.maxConnectBytes : this.limits.maxPacketBytes;
      if (total > limit) return this.#first ? 'connect_too_large' : 'packet_too_large';
      this.#first = false;
      this.#remaining = this.#length;
      this.#state = this.#length === 0 ? 0 : 2;
    }
    return null;
  }
}

/** Wraps `conn.read` so every chunk aedes reads passes the framer; calls `onRefuse` once and destroys. */
export function guardConnection(
  conn: Duplex,
  limits: PacketLimits,
  onRefuse: (reason: RefusalReason) => void,
): void {
  const framer = new PacketFramer(limits);
  const read = conn.read.bind(conn);
  let refused = false;
  conn.read = (size?: number) => {
    if (refused) return null;
    const chunk = read(size) as Buffer | string | null;
    if (chunk === null || typeof chunk === 'string') return chunk;
    const reason = framer.feed(chunk);
    if (reason === null) return chunk;
    refused = true;
    onRefuse(reason);
    conn.destroy();
    return null;
  };
}
