/**
 * The port between the command dispatcher and the meters (docs/style.md practice 8): one method, `publish`, with
 * the real adapter (mqtt.js, QoS 1 on the meter's `down/cmd`) and an in-memory one side by side.
 */
import type { MqttClient } from 'mqtt';
import { type Command, encodeCommand, MQTT_CONTRACT, meterTopic } from '../../protocols/mqtt/index.ts';
import type { MeterId } from '../store/schema.ts';

/** Where a command goes: the store's meter id and the topic segments (utility code, meter serial). */
export interface CommandTarget {
  readonly meterId: MeterId;
  readonly utilityCode: string;
  readonly serial: string;
}

/**
 * Delivers one command to one meter. Resolves when the transport has taken responsibility for it (for
 * MQTT QoS 1: the broker's PUBACK); rejects when it could not. It never decides retries: the dispatcher does.
 */
export interface CommandTransport {
  publish(target: CommandTarget, command: Command): Promise<void>;
}

/** Publishes on `rasid/v1/<utility>/meters/<serial>/down/cmd` at QoS 1 (the contract's QoS) through mqtt.js. */
export class MqttCommandTransport implements CommandTransport {
  readonly #client: MqttClient;

  constructor(options: { client: MqttClient }) {
    this.#client = options.client;
  }

  async publish(target: CommandTarget, command: Command): Promise<void> {
    const spec = MQTT_CONTRACT['down/cmd'];
    await this.#client.publishAsync(
      meterTopic(target.utilityCode, target.serial, 'down/cmd'),
      encodeCommand(command),
      { qos: spec.qos, retain: spec.retain },
    );
  }
}

/** A published command as the in-memory transport keeps it. */
export interface PublishedCommand {
  readonly target: CommandTarget;
  readonly command: Command;
}

/**
 * The in-memory transport for tests and the single-process demo: it keeps what was published, in order,
 * and can be told to refuse (a broker that is down) or to treat a meter as unreachable.
 */
export class MemoryCommandTransport implements CommandTransport {
  readonly published: PublishedCommand[] = [];
  /** While true, every publish rejects. */
  failing = false;
  readonly #listeners = new Set<(published: PublishedCommand) => void>();

  async publish(target: CommandTarget, command: Command): Promise<void> {
    if (this.failing) throw new Error('transport unavailable');
    const entry = { target, command };
    this.published.push(entry);
    for (const listener of this.#listeners) listener(entry);
  }

  /** Calls `listener` for every command published from now on; returns the unsubscribe function. */
  onPublish(listener: (published: PublishedCommand) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The commands published to one meter, oldest first. */
  to(meterId: MeterId): Command[] {
    return this.published.filter((p) => p.target.meterId === meterId).map((p) => p.command);
  }
}
