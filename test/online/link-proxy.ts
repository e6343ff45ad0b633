/**
 * A TCP proxy between the gateway and a simulated meter that can cut the link at the worst moments, on
 * real sockets:
 * - `die()`: the meter is gone and nobody noticed: open connections stay open but every byte vanishes,
 *   new connections are refused.
 * - `revive()`: the meter is back on the same port (the dead connections are reset).
 * - `loseReplyTo(match)`: the next request whose bytes `match` reaches the meter, and the meter's answer to
 *   it is lost on the way back (an ambiguous timeout).
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

export class LinkProxy {
  #server: Server | null = null;
  #closed: Promise<void> = Promise.resolve();
  #port = 0;
  #dead = false;
  #loseReplyTo: ((request: Buffer) => boolean) | null = null;
  #losing = false;
  readonly #pairs = new Set<[Socket, Socket]>();
  /** Requests forwarded to the meter that matched a `loseReplyTo`. */
  lostReplies = 0;

  private constructor(
    private readonly targetPort: number,
    private readonly onRequest?: (request: Buffer) => void,
  ) {}

  /** `onRequest` sees every chunk that reaches the meter. */
  static async start(targetPort: number, onRequest?: (request: Buffer) => void): Promise<LinkProxy> {
    const proxy = new LinkProxy(targetPort, onRequest);
    await proxy.#listen(0);
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  async #listen(port: number): Promise<void> {
    const server = createServer((client) => this.#accept(client));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  #accept(client: Socket): void {
    const meter = connect(this.targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, meter];
    this.#pairs.add(pair);
    const end = () => {
      client.destroy();
      meter.destroy();
      this.#pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    meter.on('error', end).on('close', end);
    client.on('data', (chunk: Buffer) => {
      if (this.#dead) return;
      if (this.#loseReplyTo?.(chunk)) {
        this.#loseReplyTo = null;
        this.#losing = true;
        this.lostReplies++;
      }
      this.onRequest?.(chunk);
      meter.write(chunk);
    });
    meter.on('data', (chunk: Buffer) => {
      if (this.#dead) return;
      if (this.#losing) {
        this.#losing = false;
        return;
      }
      client.write(chunk);
    });
  }

  /** The meter dies silently: bytes on open connections vanish, new connections are refused. */
  die(): void {
    this.#dead = true;
    const server = this.#server;
    this.#server = null;
    // close() stops accepting now; it calls back once the dead connections are gone (in revive).
    if (server) this.#closed = new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The meter is back on the same port; the connections that died with it are reset. */
  async revive(): Promise<void> {
    for (const [client, meter] of this.#pairs) {
      client.destroy();
      meter.destroy();
    }
    this.#pairs.clear();
    await this.#closed;
    this.#dead = false;
    await this.#listen(this.#port);
  }

  /** The meter's answer to the next request matching `match` is lost. */
  loseReplyTo(match: (request: Buffer) => boolean): void {
    this.#loseReplyTo = match;
  }

  async close(): Promise<void> {
    this.#dead = true;
    for (const [client, meter] of this.#pairs) {
      client.destroy();
      meter.destroy();
    }
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.#closed;
  }
}
