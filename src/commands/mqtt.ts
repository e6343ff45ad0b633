/**
 * Connects a {@link CommandDispatcher} to the broker through an mqtt.js client: it listens to the meters'
 * `up/ack` (recorded through the idempotent ack handler) and `up/status` (`online` sends what waited for
 * the meter). Several Rasid nodes share the load with the shared-subscription group `rasid-commands`.
 */
import type { MqttClient } from 'mqtt';
import { decodeMessage, meterChannelFilter, sharedFilter } from '../../protocols/mqtt/index.ts';
import type { MeterId } from '../store/schema.ts';
import type { AckOutcome, CommandDispatcher, DispatcherLogger } from './dispatcher.ts';

/** Shared-subscription group of the command dispatchers. */
export const COMMANDS_SHARE_GROUP = 'rasid-commands';

/** Topic segments (utility code, serial) → the store's meter id; null for a meter the store does not know. */
export type ResolveMeterId = (utilityCode: string, serial: string) => Promise<MeterId | null>;

export interface CommandMqttOptions {
  readonly client: MqttClient;
  readonly dispatcher: CommandDispatcher;
  readonly resolveMeter: ResolveMeterId;
  /** Subscribe through `$share/rasid-commands/…` (default true; false for a broker without them). */
  readonly shared?: boolean;
  /** The shared-subscription group (default {@link COMMANDS_SHARE_GROUP}). */
  readonly group?: string;
  readonly logger?: DispatcherLogger;
  /** Called after each ack or status has been handled (metrics, tests). */
  readonly onHandled?: (event: HandledEvent) => void;
}

/** One message handled: an ack with its outcome, or a meter reported online. */
export type HandledEvent =
  | { readonly channel: 'up/ack'; readonly meterId: MeterId; readonly outcome: AckOutcome }
  | { readonly channel: 'up/status'; readonly meterId: MeterId; readonly online: boolean };

/** The filters the dispatcher subscribes to. */
export function commandFilters(shared = true, group = COMMANDS_SHARE_GROUP): string[] {
  const filters = [meterChannelFilter('up/ack'), meterChannelFilter('up/status')];
  return shared ? filters.map((f) => sharedFilter(group, f)) : filters;
}

/**
 * Subscribes and routes messages to the dispatcher; resolves once subscribed. Returns a function that
 * unsubscribes and waits for messages still being handled.
 */
export async function attachCommandMqtt(options: CommandMqttOptions): Promise<() => Promise<void>> {
  const { client, dispatcher, resolveMeter, logger } = options;
  const filters = commandFilters(options.shared ?? true, options.group);
  const inFlight = new Set<Promise<void>>();

  const handle = async (topic: string, payload: Buffer): Promise<void> => {
    const decoded = decodeMessage(topic, payload);
    if (!decoded.ok) {
      if (decoded.reason !== 'bad_topic')
        logger?.warn({ topic, reason: decoded.reason }, 'command channel refused');
      return;
    }
    if (decoded.channel !== 'up/ack' && decoded.channel !== 'up/status') return;
    const meterId = await resolveMeter(decoded.utility, decoded.meterId);
    if (meterId === null) {
      logger?.warn({ topic }, 'command channel from unknown meter');
      return;
    }
    if (decoded.channel === 'up/ack') {
      const outcome = await dispatcher.handleAck(decoded.message, { meterId });
      if (outcome.outcome === 'unknown') {
        logger?.warn({ meterId, commandId: outcome.commandId }, 'ack for unknown command');
      }
      options.onHandled?.({ channel: 'up/ack', meterId, outcome });
    } else {
      const online = decoded.message.state === 'online';
      if (online) await dispatcher.onMeterOnline(meterId);
      options.onHandled?.({ channel: 'up/status', meterId, online });
    }
  };

  const onMessage = (topic: string, payload: Buffer) => {
    const job = handle(topic, payload)
      .catch((error: unknown) => {
        logger?.warn({ topic, err: (error as Error).message }, 'command channel message failed');
      })
      .finally(() => inFlight.delete(job));
    inFlight.add(job);
  };
  client.on('message', onMessage);
  await client.subscribeAsync(filters, { qos: 1 });

  return async () => {
    client.off('message', onMessage);
    await client.unsubscribeAsync(filters);
    await Promise.all([...inFlight]);
  };
}
