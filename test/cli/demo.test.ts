/**
 * `bin/rasid demo` as a newcomer runs it: the real binary, a seeded demo utility and a simulated fleet over
 * the embedded broker. Then the whole path a prepaid customer relies on: the kiosk sells credit for a demo
 * meter, an operator pushes the token to the meter over MQTT, the simulated meter accepts it and
 * acknowledges, and the credit the meter reports goes up.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_KIOSK_KEY, DEMO_STAFF_PASSWORD, demoSerial } from '../../src/demo/seed.ts';
import { type Json, waitFor } from '../online/world.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'rasid');

describe('rasid demo', () => {
  let dir: string;
  let child: ChildProcess;
  let url: string;
  let operator: string;
  let stdout = '';

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(operator ? { authorization: `Bearer ${operator}` } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : null) as Json };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rasid-demo-'));
    child = spawn(
      process.execPath,
      [BIN, 'demo', '--port', '0', '--meters', '3', '--interval', '5', '--data-dir', dir],
      { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.resume();
    await waitFor(() => /Rasid demo .*: (http:\/\/\S+)/.test(stdout), 90_000);
    url = /Rasid demo .*: (http:\/\/\S+)/.exec(stdout)![1]!;
    const login = await call('POST', '/api/v1/sessions', {
      utility: 'demo',
      username: 'operator',
      password: DEMO_STAFF_PASSWORD,
    });
    expect(login.status).toBe(201);
    operator = login.json.token;
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('prints where everything is and the demo credentials', () => {
    expect(stdout).toContain('(seeded now)');
    expect(stdout).toMatch(/MQTT broker {4}mqtt:\/\/127\.0\.0\.1:\d+ {3}\(3 simulated meters/);
    expect(stdout).toContain(DEMO_KIOSK_KEY);
  });

  it('a kiosk sale reaches the simulated meter over MQTT and its credit goes up', async () => {
    const serial = demoSerial(1);
    const meters = await call('GET', `/api/v1/meters?q=${serial}`);
    expect(meters.status).toBe(200);
    const meterId: string = meters.json.meters.find((m: Json) => m.serial === serial).id;
    await waitFor(async () => (await call('GET', `/api/v1/meters/${meterId}/status`)).json.online, 30_000);
    const liveCredit = async (): Promise<bigint | null> => {
      const { json } = await call('GET', `/api/v1/meters/${meterId}/readings?limit=1`);
      const latest = json.readings[0];
      return latest?.creditWh == null ? null : BigInt(latest.creditWh);
    };
    await waitFor(async () => (await liveCredit()) !== null, 30_000);
    const before = (await liveCredit())!;

    const sale = await call(
      'POST',
      '/api/v1/vends',
      { meter: serial, amountMinor: 5000 },
      { authorization: '', 'x-api-key': DEMO_KIOSK_KEY, 'idempotency-key': `demo-test-${Date.now()}` },
    );
    expect([sale.status, sale.json.code]).toEqual([201, undefined]);
    expect(sale.json.token).toMatch(/^\d{20}$/);

    const pushed = await call('POST', `/api/v1/vends/${sale.json.vendId}/push`);
    expect(pushed.status).toBe(201);
    expect(pushed.json).toMatchObject({ kind: 'token', payload: { token: sale.json.token } });
    await waitFor(
      async () => (await call('GET', `/api/v1/commands/${pushed.json.id}`)).json.state === 'acknowledged',
      30_000,
    );
    // The meter reports the credit in its next readings: more than before, less the little it used since.
    await waitFor(async () => ((await liveCredit()) ?? 0n) > before + 1_000n, 30_000);
    const events = await call('GET', `/api/v1/meters/${meterId}/events`);
    expect(events.json.events.map((e: Json) => e.kind)).toContain('token_accepted');
  });
});
