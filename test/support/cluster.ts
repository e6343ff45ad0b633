import { execFile } from 'node:child_process';
import { appendFileSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's PostgreSQL 15 binaries (the machine's main cluster's). */
export const SYSTEM_PG_BIN = '/usr/lib/postgresql/15/bin';

/** A PostgreSQL cluster of a test's own: initdb in a temp folder, its own port, stopped and removed after. */
export interface PrivateCluster {
  readonly dir: string;
  readonly data: string;
  readonly port: number;
  readonly bin: string;
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database?: string): string;
  /** Runs one of the cluster's binaries (pg_ctl, pg_basebackup, …) as the cluster's owner. */
  tool(name: string, args: readonly string[]): Promise<string>;
  start(): Promise<void>;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  remove(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the kernel's pick). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** PostgreSQL refuses to run as root: as root, run the tools as the `postgres` user. */
function command(bin: string, name: string, args: readonly string[]): [string, string[]] {
  const path = join(bin, name);
  if (process.getuid?.() === 0) return ['runuser', ['-u', 'postgres', '--', path, ...args]];
  return [path, [...args]];
}

function ownByPostgres(path: string): void {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = postgresIds();
  chownSync(path, uid, gid);
}

let ids: { uid: number; gid: number } | undefined;
function postgresIds(): { uid: number; gid: number } {
  if (ids) return ids;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user on this machine');
  const [, , uid, gid] = line.split(':');
  ids = { uid: Number(uid), gid: Number(gid) };
  return ids;
}

/**
 * initdb's a cluster in a fresh temp folder with the given `bin` (Debian's, or the TimescaleDB copy of the
 * tree), `extra` lines appended to postgresql.conf. Not started: call `start()`.
 */
export async function createCluster(
  options: { bin?: string; extra?: readonly string[]; name?: string } = {},
): Promise<PrivateCluster> {
  const bin = options.bin ?? SYSTEM_PG_BIN;
  const dir = mkdtempSync(join(tmpdir(), `rasid-${options.name ?? 'pg'}-`));
  ownByPostgres(dir);
  const data = join(dir, 'data');
  const port = await freePort();
  const tool = async (name: string, args: readonly string[]) => {
    const [file, argv] = command(bin, name, args);
    const { stdout } = await run(file, argv, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  };
  await tool('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  const conf = [
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${dir}'`,
    'max_connections = 40',
    'shared_buffers = 16MB',
    ...(options.extra ?? []),
  ];
  appendFileSync(join(data, 'postgresql.conf'), `\n${conf.join('\n')}\n`);
  const cluster: PrivateCluster = {
    dir,
    data,
    port,
    bin,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    tool,
    async start() {
      await tool('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '120', 'start']);
    },
    async stop(mode = 'fast') {
      await tool('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']).catch(() => '');
    },
    async remove() {
      await cluster.stop('immediate');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

/** Writes `text` to `path` owned by the cluster's user (e.g. recovery settings). */
export function writeOwned(path: string, text: string): void {
  writeFileSync(path, text);
  ownByPostgres(path);
}

export { ownByPostgres };
