import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeMessage, METER_CHANNELS, meterTopic } from '../../../protocols/mqtt/index.ts';

const doc = readFileSync(new URL('../../../docs/mqtt.md', import.meta.url), 'utf8');

describe('docs/mqtt.md', () => {
  const examples = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');

  it('has a JSON example for every channel, each valid on exactly one channel', () => {
    const channelsSeen = new Set<string>();
    expect(examples.length).toBeGreaterThanOrEqual(METER_CHANNELS.length);
    for (const example of examples) {
      const valid = METER_CHANNELS.filter(
        (channel) => decodeMessage(meterTopic('dewa', 'SN-1001', channel), Buffer.from(example)).ok,
      );
      expect(valid, example).toHaveLength(1);
      channelsSeen.add(valid[0] ?? '');
    }
    expect([...channelsSeen].sort()).toEqual([...METER_CHANNELS].sort());
  });

  it('shows mosquitto_pub payloads the contract accepts', () => {
    const pubs = [...doc.matchAll(/-t (\S+) \\?\n?\s*-m '([^']+)'/g)];
    expect(pubs.length).toBeGreaterThanOrEqual(2);
    for (const [, topic, payload] of pubs) {
      expect(decodeMessage(topic ?? '', Buffer.from(payload ?? '')).ok, topic).toBe(true);
    }
  });
});
