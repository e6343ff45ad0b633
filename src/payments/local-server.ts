/**
 * The HTTP plumbing shared by Rasid's local payment-provider stand-ins (stripe-local, thawani-local,
 * hpp-local): start and stop a loopback server, read a request body, answer JSON and escape page text.
 * Each stand-in keeps its own routes and its provider's own error envelope.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

/**
 * A loopback HTTP server standing in for a provider: `start()` listens on `host` (loopback by default) and
 * `port` (0: any free port) and returns the base address (also kept in `url`); `stop()` closes it. A handler
 * that throws is answered by `failed`, in the provider's own form.
 */
export abstract class LocalServer {
  #server: Server | null = null;
  url = '';

  constructor(
    private readonly listenHost = '127.0.0.1',
    private readonly listenPort = 0,
  ) {}

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;

  protected abstract failed(res: ServerResponse, err: unknown): void;

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.failed(res, err));
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(this.listenPort, this.listenHost, resolve));
    const { port } = server.address() as AddressInfo;
    this.url = `http://${this.listenHost}:${port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
