/**
 * Raw TCP sockets against Rasid's MQTT broker, for the packet limits: open a socket, announce a packet by
 * its fixed header, then keep writing filler with backpressure until the broker closes the connection.
 */
import { connect, type Socket } from 'node:net';

/** MQTT's remaining-length varint. */
export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * Writes `header` then up to `total` bytes of filler in 64 KiB chunks, waiting for drain, until the peer
 * closes: how many bytes were written and whether the peer closed. When everything was taken, the broker
 * is given `graceMs` after the last write to close before the answer is given.
 */
export function streamUntilClosed(
  socket: Socket,
  header: Buffer,
  total: number,
  graceMs = 0,
): Promise<{ written: number; closed: boolean }> {
  return new Promise((resolve) => {
    let written = 0;
    let closed = false;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      resolve({ written, closed });
    });
    const pump = () => {
      while (!closed && written < total) {
        written += chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      if (!closed) {
        socket.write(Buffer.alloc(0), () =>
          graceMs > 0
            ? setTimeout(() => resolve({ written, closed }), graceMs)
            : setImmediate(() => resolve({ written, closed })),
        );
      }
    };
    socket.write(header, pump);
  });
}
