/**
 * A gateway's meters from Rasid: `GET /api/v1/gateway/meters` with the gateway's API key
 * (src/api/routes/gateways.ts) answers its id, utility, broker URL, poll interval and meters, each meter
 * exactly an entry of the configuration file. {@link fetchMeterList} reads it; {@link remoteConfig} turns
 * it and the local settings (broker credentials, metrics) into a {@link GatewayConfig};
 * {@link MeterListRefresher} fetches it again periodically and hands the gateway each new list.
 *
 * A meter entry that does not load is left out and reported (per item, not the whole list), so one bad
 * assignment never stops a gateway's other meters.
 */
import { z } from 'zod';
import { type Environment, type GatewayConfig, loadConfig, MeterSchema } from './config.ts';
import { GatewayConfigError } from './errors.ts';
import type { GatewayLogger } from './worker.ts';

/** The route's answer, as far as the gateway relies on it. */
export const MeterListSchema = z.object({
  gatewayId: z.string(),
  utility: z.string(),
  brokerUrl: z.string().nullable(),
  polling: z.object({ intervalS: z.number() }),
  meters: z.array(z.unknown()),
});
export type MeterList = z.infer<typeof MeterListSchema>;

export interface RemoteSource {
  /** Rasid's base URL, e.g. https://rasid.example.org */
  readonly rasidUrl: string;
  /** The gateway's API key (`rgw_…`). */
  readonly apiKey: string;
  /** Milliseconds a fetch may take. Default 10 000. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** Why a fetch failed: Rasid refused the key (401/403), or could not be reached or answered wrongly. */
export class MeterListError extends Error {
  override readonly name = 'MeterListError';
  constructor(
    message: string,
    readonly refused: boolean,
  ) {
    super(message);
  }
}

export const METER_LIST_PATH = '/api/v1/gateway/meters';

export async function fetchMeterList(source: RemoteSource): Promise<MeterList> {
  const url = new URL(METER_LIST_PATH, source.rasidUrl);
  let response: Response;
  try {
    response = await (source.fetch ?? fetch)(url, {
      headers: { 'x-api-key': source.apiKey, accept: 'application/json' },
      signal: AbortSignal.timeout(source.timeoutMs ?? 10_000),
    });
  } catch (err) {
    throw new MeterListError(`${url.origin} did not answer: ${(err as Error).message}`, false);
  }
  const text = await response.text();
  if (!response.ok) {
    let detail = text.slice(0, 200);
    try {
      detail = (JSON.parse(text) as { detail?: string; title?: string }).detail ?? detail;
    } catch {}
    throw new MeterListError(
      `${url.origin} answered ${response.status}: ${detail}`,
      response.status === 401 || response.status === 403,
    );
  }
  try {
    return MeterListSchema.parse(JSON.parse(text));
  } catch (err) {
    throw new MeterListError(
      `${url.origin} answered a meter list Rasid does not send: ${(err as Error).message}`,
      false,
    );
  }
}

/** What the gateway's host knows and Rasid does not tell: the broker's credentials, metrics. */
export interface LocalSettings {
  /** Overrides the broker URL Rasid gives (required when it gives none). */
  readonly brokerUrl?: string;
  /** Default: the gateway id. */
  readonly brokerUsername?: string;
  readonly brokerPassword?: string;
  readonly metrics?: { readonly host: string; readonly port: number };
}

export interface RemoteConfig {
  readonly config: GatewayConfig;
  /** Meters left out, with the reason. */
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
}

/** Builds the gateway's configuration from Rasid's list and the local settings. */
export function remoteConfig(list: MeterList, local: LocalSettings, env: Environment = {}): RemoteConfig {
  const brokerUrl = local.brokerUrl ?? list.brokerUrl;
  if (brokerUrl === null) {
    throw new GatewayConfigError('Rasid gives no broker URL for this gateway: give --broker');
  }
  const skipped: { id: string; reason: string }[] = [];
  const meters: unknown[] = [];
  list.meters.forEach((entry, i) => {
    const parsed = MeterSchema.safeParse(entry);
    const id = typeof (entry as { id?: unknown })?.id === 'string' ? (entry as { id: string }).id : `#${i}`;
    if (parsed.success) meters.push(entry);
    else {
      const issue = parsed.error.issues[0];
      skipped.push({ id, reason: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'not a meter'}` });
    }
  });
  const config = loadConfig(
    {
      gatewayId: list.gatewayId,
      utility: list.utility,
      broker: {
        url: brokerUrl,
        username: local.brokerUsername ?? list.gatewayId,
        ...(local.brokerPassword === undefined ? {} : { password: local.brokerPassword }),
      },
      polling: { intervalS: list.polling.intervalS },
      ...(local.metrics ? { metrics: local.metrics } : {}),
      meters,
    },
    env,
    { allowNoMeters: true },
  );
  return { config, skipped };
}

export interface MeterListRefresherOptions {
  readonly source: RemoteSource;
  readonly local: LocalSettings;
  /** Milliseconds between two fetches. */
  readonly intervalMs: number;
  /** Called with each list that loaded (the same list again included). */
  readonly onList: (result: RemoteConfig) => Promise<void> | void;
  readonly logger: GatewayLogger;
}

/** Fetches the meter list every `intervalMs`; a failed fetch keeps the meters as they are. */
export class MeterListRefresher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly options: MeterListRefresherOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Fetches once now; resolves when the list was handed over (or the fetch failed and was logged). */
  async refresh(): Promise<void> {
    const { source, local, onList, logger } = this.options;
    try {
      const result = remoteConfig(await fetchMeterList(source), local);
      for (const s of result.skipped)
        logger.warn({ meter: s.id, reason: s.reason }, 'meter from Rasid left out');
      await onList(result);
    } catch (err) {
      logger.warn(
        { err: (err as Error).message },
        'fetching the meter list failed; keeping the meters as they are',
      );
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.refresh().finally(() => {
        this.running = null;
        this.schedule();
      });
    }, this.options.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}
