/**
 * The broker's in-memory persistence (aedes-persistence) with retained messages found by topic.
 *
 * On every SUBSCRIBE aedes asks the persistence for the retained messages matching each filter, and the
 * memory persistence tests every retained message against it. Every meter keeps a retained status
 * (`up/status`, docs/mqtt.md "Connecting") and subscribes to its own `down/cmd` after connecting, so a
 * fleet connecting from cold cost N² topic tests: at 10,000 meters, 28 % of the server's CPU during the
 * storm (docs/broker.md). A filter without wildcards, as every meter's is, matches at most the message
 * retained on that very topic: it is looked up, not searched. Filters with `+` or `#` keep the scan.
 */
import { Readable } from 'node:stream';
import persistenceModule from 'aedes-persistence';

// A CommonJS module whose types declare an ES default export: at run time the default import is the factory.
const aedesMemoryPersistence = persistenceModule as unknown as typeof persistenceModule.default;
type MemoryPersistence = ReturnType<typeof aedesMemoryPersistence>;
type RetainedPacket = Parameters<MemoryPersistence['storeRetained']>[0];

/** True when an MQTT topic filter has a wildcard level. */
function hasWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}

/** aedes' memory persistence (or `persistence`, one made by it) with retained messages found by topic. */
export function retainedByTopicPersistence(
  persistence: MemoryPersistence = aedesMemoryPersistence(),
): MemoryPersistence {
  const byTopic = new Map<string, RetainedPacket>();
  const store = persistence.storeRetained.bind(persistence);
  const scanAll = persistence.createRetainedStreamCombi.bind(persistence);
  const scanOne = persistence.createRetainedStream.bind(persistence);

  // aedes calls it without a callback and waits for the promise it then returns.
  persistence.storeRetained = ((packet: RetainedPacket, cb?: (error: unknown) => void) => {
    // Only PUBLISH packets are retained. As the memory persistence does, an empty payload clears the topic.
    const { topic, payload } = packet as RetainedPacket & { topic: string; payload: Buffer | string };
    if (payload.length === 0) byTopic.delete(topic);
    else byTopic.set(topic, { ...packet });
    return (store as (p: RetainedPacket, c?: (error: unknown) => void) => unknown)(packet, cb);
  }) as MemoryPersistence['storeRetained'];
  persistence.createRetainedStreamCombi = (filters) => {
    if (filters.some(hasWildcard)) return scanAll(filters);
    return Readable.from(filters.flatMap((topic) => byTopic.get(topic) ?? []));
  };
  persistence.createRetainedStream = (filter) => {
    if (hasWildcard(filter)) return scanOne(filter);
    const packet = byTopic.get(filter);
    return Readable.from(packet === undefined ? [] : [packet]);
  };
  return persistence;
}
