/**
 * The technician's commissioning of a meter against a running Rasid, with a simulated meter standing in
 * for the one on the wall (`rasid sim commission`). Each step is named, runs in order, and gives one line
 * of the report; a step that fails stops the steps that need it, the others still run:
 *
 * 1. sign in (operator or technician), 2. find the meter's record or register it, 3. issue its MQTT
 * credentials, 4. the meter connects with them and Rasid sees it online, 5. key change tokens (with
 * `newKrn`), 6. a management token from Rasid proves the meter's keys match its record, 7. a test token
 * (IEC 62055-41 class 1), 8. the first reading is stored, 9. relay test: disconnect then reconnect by
 * command, each acknowledged and seen on the meter.
 *
 * The HTTP calls go through {@link RasidApi} so that the flow reads as the technician's steps.
 */
import { encodeToken } from '../../protocols/sts/index.ts';
import { type Clock, SimMeter, stsParametersFor, systemClock } from '../model/index.ts';
import { MqttMeterFace } from '../mqtt/index.ts';

export type StepStatus = 'ok' | 'failed' | 'skipped';
export interface StepResult {
  readonly step: string;
  readonly status: StepStatus;
  readonly detail: string;
}

export interface CommissionOptions {
  /** Rasid's base URL. */
  readonly rasidUrl: string;
  readonly utility: string;
  readonly username: string;
  readonly password: string;
  readonly serial: string;
  readonly kind: 'electricity' | 'water';
  readonly mode: 'token' | 'central';
  /** STS parameters of the meter, used to register it and to build the simulated meter. */
  readonly sts: {
    readonly iin: string;
    readonly drn: string;
    readonly sgc: number;
    readonly ti: number;
    readonly krn: number;
    readonly kt: 0 | 1 | 2 | 3;
    readonly baseDate: '1993-01-01' | '2014-01-01' | '2035-01-01';
  };
  /** The vending key the simulated meter's decoder keys derive from (per key revision). */
  readonly vendingKeys: Readonly<Record<number, string>>;
  /** Rotate the meter to this key revision with Rasid's key change tokens. */
  readonly newKrn?: number;
  /** Broker URL for the meter when Rasid gives none (or another one is reachable from here). */
  readonly brokerUrl?: string;
  /** Credit of the simulated meter when it leaves the factory, in Wh or litres. */
  readonly initialCredit: number;
  /** Milliseconds each wait (online, reading, acknowledgement) may take. */
  readonly timeoutMs: number;
  readonly clock?: Clock;
  readonly fetch?: typeof fetch;
  /** Called with each step's result as it ends. */
  readonly onStep?: (result: StepResult) => void;
}

/** A Rasid API error: the problem+json detail, or the status. */
export class RasidApiError extends Error {
  override readonly name = 'RasidApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: Rasid's answers are read field by field where they are used.
type Json = any;

/** The few routes of Rasid's API the technician's flow calls. */
export class RasidApi {
  private token = '';
  constructor(
    private readonly baseUrl: string,
    private readonly doFetch: typeof fetch = fetch,
  ) {}

  async call(method: string, path: string, body?: unknown): Promise<Json> {
    let res: Response;
    try {
      res = await this.doFetch(new URL(path, this.baseUrl), {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw new RasidApiError(0, `${method} ${path}: Rasid did not answer (${(err as Error).message})`);
    }
    const text = await res.text();
    const json = text ? (JSON.parse(text) as Json) : null;
    if (!res.ok) {
      throw new RasidApiError(
        res.status,
        `${method} ${path}: ${res.status} ${json?.detail ?? json?.title ?? ''}`.trim(),
      );
    }
    return json;
  }

  async signIn(utility: string, username: string, password: string): Promise<string> {
    const session = await this.call('POST', '/api/v1/sessions', { utility, username, password });
    this.token = session.token;
    return session.role ?? session.user?.role ?? '';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` every 200 ms until it returns a value, or throws after `timeoutMs`. */
async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: nothing after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(200);
  }
}

/** Runs the flow; resolves with every step's result (it never throws for a step that failed). */
export async function commission(o: CommissionOptions): Promise<StepResult[]> {
  const results: StepResult[] = [];
  const api = new RasidApi(o.rasidUrl, o.fetch);
  const clock = o.clock ?? systemClock;
  let meter: SimMeter | null = null;
  let face: MqttMeterFace | null = null;
  let meterId = '';
  let krn = o.sts.krn;

  const step = async (name: string, needs: boolean, run: () => Promise<string>): Promise<boolean> => {
    let result: StepResult;
    if (!needs) result = { step: name, status: 'skipped', detail: 'an earlier step failed' };
    else {
      try {
        result = { step: name, status: 'ok', detail: await run() };
      } catch (err) {
        result = { step: name, status: 'failed', detail: (err as Error).message };
      }
    }
    results.push(result);
    o.onStep?.(result);
    return result.status === 'ok';
  };
  const skip = (name: string, detail: string) => {
    const result: StepResult = { step: name, status: 'skipped', detail };
    results.push(result);
    o.onStep?.(result);
  };

  /** Enters a token on the simulated meter's keypad; throws with the meter's reason when refused. */
  const keypad = (token: string): string => {
    const outcome = meter?.enterToken(token, 'keypad');
    if (!outcome?.accepted) throw new Error(`the meter refused ${token}: ${outcome?.message ?? 'no meter'}`);
    return outcome.message;
  };

  /** Sends a command and waits until Rasid records its acknowledgement. */
  const command = async (kind: string, payload: Record<string, unknown>): Promise<Json> => {
    const sent = await api.call('POST', `/api/v1/meters/${meterId}/commands`, {
      kind,
      payload,
      reason: 'commissioning relay test',
    });
    const done = await until(`${kind} acknowledgement`, o.timeoutMs, async () => {
      const c = await api.call('GET', `/api/v1/commands/${sent.id}`);
      return c.state === 'queued' || c.state === 'sent' ? undefined : c;
    });
    if (done.state !== 'acknowledged') {
      throw new Error(`${kind} ${done.state}: ${JSON.stringify(done.result ?? null)}`);
    }
    return done;
  };

  try {
    const signedIn = await step('sign in', true, async () => {
      await api.signIn(o.utility, o.username, o.password);
      return `${o.username} at ${o.utility}`;
    });

    const recorded = await step('meter record', signedIn, async () => {
      const found = await api.call('GET', `/api/v1/meters?serial=${encodeURIComponent(o.serial)}`);
      const same = (found.meters as Json[]).find((m) => m.serial === o.serial);
      if (same) {
        meterId = same.id;
        if (same.sts?.krn) krn = same.sts.krn;
        if (same.protocol !== 'mqtt')
          throw new Error(`meter ${o.serial} is recorded as ${same.protocol}, not mqtt`);
        return `found ${o.serial} (${same.status}, key revision ${same.sts?.krn ?? '-'})`;
      }
      const created = await api.call('POST', '/api/v1/meters', {
        serial: o.serial,
        kind: o.kind,
        protocol: 'mqtt',
        mode: o.mode,
        sts: { ...o.sts, ea: 7, ken: 255 },
      });
      meterId = created.id;
      return `registered ${o.serial} (${created.id})${created.vendingKeyId ? '' : ' — no vending key for its supply group'}`;
    });

    let credentials: Json = null;
    const credentialed = await step('MQTT credentials', recorded, async () => {
      credentials = await api.call('POST', `/api/v1/meters/${meterId}/mqtt-credentials`);
      return `username ${credentials.username}, broker ${o.brokerUrl ?? credentials.brokerUrl ?? '(none given)'}`;
    });

    const online = await step('meter online', credentialed, async () => {
      const brokerUrl = o.brokerUrl ?? credentials.brokerUrl;
      if (!brokerUrl) throw new Error('Rasid gives no broker URL: give --broker');
      const vendingKey = o.vendingKeys[krn];
      meter = new SimMeter(
        {
          serial: o.serial,
          kind: o.kind,
          mode: o.mode,
          seed: 1,
          initialCredit: o.initialCredit,
          sts: stsParametersFor({
            drn: o.sts.drn,
            iin: o.sts.iin,
            supplyGroupCode: String(o.sts.sgc).padStart(6, '0'),
            tariffIndex: o.sts.ti,
            keyRevision: krn,
            keyType: o.sts.kt,
            baseDate: Number(o.sts.baseDate.slice(0, 4)) as 1993 | 2014 | 2035,
            ...(vendingKey ? { vendingKey } : {}),
          }).params,
        },
        { clock },
      );
      face = new MqttMeterFace({
        meter,
        brokerUrl,
        utility: o.utility,
        username: credentials.username,
        password: credentials.password,
        clientId: credentials.clientId,
      });
      face.on('error', () => {});
      await Promise.race([
        face.start(),
        sleep(o.timeoutMs).then(() => {
          throw new Error(`no CONNACK from ${brokerUrl} in ${Math.round(o.timeoutMs / 1000)} s`);
        }),
      ]);
      await until('Rasid seeing the meter online', o.timeoutMs, async () => {
        const s = await api.call('GET', `/api/v1/meters/${meterId}/status`);
        return s.online ? true : undefined;
      });
      return `connected to ${brokerUrl} as ${credentials.username}; Rasid shows it online`;
    });

    if (o.newKrn === undefined) skip('key change', `no --new-krn: the meter keeps key revision ${krn}`);
    else {
      await step('key change', online, async () => {
        const answer = await api.call('POST', `/api/v1/meters/${meterId}/key-change`, {
          newKrn: o.newKrn,
          reason: 'commissioning',
        });
        const tokens: string[] = (answer.tokens as Json[]).map((t) => (typeof t === 'string' ? t : t.token));
        const messages = tokens.map(keypad);
        krn = o.newKrn as number;
        return `${tokens.length} tokens accepted: ${messages.join('; ')}`;
      });
    }

    await step('key check', online, async () => {
      const t = await api.call('POST', `/api/v1/meters/${meterId}/management-tokens`, {
        token: 'clear_tamper',
        reason: 'commissioning key check',
      });
      return `Rasid's clear-tamper token accepted under key revision ${krn}: ${keypad(t.token)}`;
    });

    await step('test token', online, async () => {
      const test = encodeToken({ type: 'test-display-1', control: 1n, manufacturer: 0 }).token;
      return `class 1 test token ${test}: ${keypad(test)}`;
    });

    await step('first reading', online, async () => {
      await (face as MqttMeterFace | null)?.publishReading();
      const reading = await until('the first reading in Rasid', o.timeoutMs, async () => {
        const r = await api.call('GET', `/api/v1/meters/${meterId}/readings?limit=1`);
        return r.readings[0] ?? undefined;
      });
      return `stored: ${JSON.stringify(reading)}`;
    });

    await step('relay test', online, async () => {
      await command('disconnect', { reason: 'operator' });
      if ((meter as SimMeter | null)?.relay !== 'disconnected') throw new Error('the relay did not open');
      await command('reconnect', { reason: 'operator' });
      if ((meter as SimMeter | null)?.relay !== 'connected') {
        throw new Error(
          `the relay did not close (${(meter as SimMeter | null)?.disconnectCauses.join(', ')})`,
        );
      }
      return 'disconnect and reconnect acknowledged; the relay opened and closed';
    });

    // The last step: registered → installed (commissioned) → active, or why the meter cannot be active.
    await step('activate', online, async () => {
      const m = await api.call('GET', `/api/v1/meters/${meterId}`);
      if (m.status === 'active') return 'the meter is active already';
      if (m.status === 'registered') {
        await api.call('POST', `/api/v1/meters/${meterId}/state`, {
          to: 'installed',
          reason: 'commissioned',
        });
      }
      try {
        await api.call('POST', `/api/v1/meters/${meterId}/state`, {
          to: 'active',
          reason: 'commissioning complete',
        });
      } catch (err) {
        throw new Error(`installed, not activated: ${(err as Error).message}`);
      }
      return 'installed and activated: Rasid now charges, alerts and disconnects it';
    });
  } finally {
    await (face as MqttMeterFace | null)?.stop(true);
  }
  return results;
}

/** The report a technician keeps: one line per step, then the verdict. */
export function formatReport(serial: string, results: readonly StepResult[], at: Date): string {
  const width = Math.max(...results.map((r) => r.step.length));
  const lines = [`Commissioning report: meter ${serial}, ${at.toISOString()}`];
  for (const r of results) lines.push(`  ${r.step.padEnd(width)}  ${r.status.padEnd(7)} ${r.detail}`);
  const failed = results.filter((r) => r.status === 'failed' && r.step !== 'activate').length;
  const activation = results.find((r) => r.step === 'activate');
  if (failed > 0) lines.push(`Result: NOT commissioned (${failed} step(s) failed)`);
  else if (activation?.status === 'failed')
    lines.push(`Result: commissioned, NOT active: ${activation.detail}`);
  else lines.push('Result: commissioned and active');
  return `${lines.join('\n')}\n`;
}
