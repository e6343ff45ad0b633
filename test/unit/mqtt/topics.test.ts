import { describe, expect, it } from 'vitest';
import {
  gatewayMayPublish,
  gatewayMaySetWill,
  gatewayMaySubscribe,
  gatewayStatusFilter,
  gatewayStatusTopic,
  gatewayTopicRoot,
  INGEST_SHARE_GROUP,
  ingestFilters,
  METER_CHANNELS,
  MqttTopicError,
  meterChannelFilter,
  meterMayPublish,
  meterMaySetWill,
  meterMaySubscribe,
  meterTopic,
  meterTopicRoot,
  parseGatewayTopic,
  parseTopic,
  sharedFilter,
  topicMatchesFilter,
} from '../../../protocols/mqtt/index.ts';

describe('topic builders and parser', () => {
  it('build every meter channel under the versioned root and parse it back', () => {
    const table = [
      ['up/reading', 'rasid/v1/dewa/meters/SN-1001/up/reading'],
      ['up/event', 'rasid/v1/dewa/meters/SN-1001/up/event'],
      ['up/ack', 'rasid/v1/dewa/meters/SN-1001/up/ack'],
      ['up/status', 'rasid/v1/dewa/meters/SN-1001/up/status'],
      ['down/cmd', 'rasid/v1/dewa/meters/SN-1001/down/cmd'],
    ] as const;
    expect(table.map(([channel]) => channel)).toEqual([...METER_CHANNELS]);
    for (const [channel, topic] of table) {
      expect(meterTopic('dewa', 'SN-1001', channel)).toBe(topic);
      expect(parseTopic(topic)).toEqual({ utility: 'dewa', meterId: 'SN-1001', channel });
    }
  });

  it('accept the edges of the safe charset', () => {
    const longId = `A${'b'.repeat(63)}`;
    expect(parseTopic(`rasid/v1/a/meters/${longId}/up/reading`)?.meterId).toBe(longId);
    expect(parseTopic(`rasid/v1/${'u'.repeat(32)}/meters/0/up/ack`)?.utility).toBe('u'.repeat(32));
    expect(meterTopicRoot('water_co-2', '04.123_x-Y')).toBe('rasid/v1/water_co-2/meters/04.123_x-Y');
  });

  it.each([
    ['a slash in the meter id', 'dewa', 'SN/1'],
    ['a single-level wildcard', 'dewa', '+'],
    ['a multi-level wildcard', 'dewa', '#'],
    ['an empty meter id', 'dewa', ''],
    ['a $ topic prefix', 'dewa', '$SYS'],
    ['a space', 'dewa', 'SN 1'],
    ['a non-ASCII letter', 'dewa', 'SNé'],
    ['a NUL', 'dewa', 'SN\u00001'],
    ['a dot-dot start', 'dewa', '..'],
    ['65 characters', 'dewa', 'a'.repeat(65)],
    ['an upper-case utility', 'DEWA', 'SN1'],
    ['a wildcard utility', '+', 'SN1'],
    ['a 33-character utility', 'u'.repeat(33), 'SN1'],
  ])('refuse %s', (_label, utility, meterId) => {
    expect(() => meterTopic(utility, meterId, 'up/reading')).toThrow(MqttTopicError);
    expect(parseTopic(`rasid/v1/${utility}/meters/${meterId}/up/reading`)).toBeNull();
  });

  it.each([
    'rasid/v2/dewa/meters/SN1/up/reading',
    'other/v1/dewa/meters/SN1/up/reading',
    'rasid/v1/dewa/gateways/SN1/up/reading',
    'rasid/v1/dewa/meters/SN1/up/reading/extra',
    'rasid/v1/dewa/meters/SN1/up',
    'rasid/v1/dewa/meters/SN1/up/',
    '/rasid/v1/dewa/meters/SN1/up/reading',
    'rasid/v1/dewa/meters/SN1/up/unknown',
    'rasid/v1/dewa/meters/SN1/down/reading',
    'rasid/v1/dewa/meters/SN1/up/+',
    'rasid/v1/dewa/meters/+/up/reading',
    'rasid/v1/dewa/meters/#',
    '',
  ])('parseTopic refuses %j', (topic) => {
    expect(parseTopic(topic)).toBeNull();
  });

  it('build and parse gateway status topics', () => {
    expect(gatewayStatusTopic('dewa', 'gw-7')).toBe('rasid/v1/dewa/gateways/gw-7/status');
    expect(parseGatewayTopic('rasid/v1/dewa/gateways/gw-7/status')).toEqual({
      utility: 'dewa',
      gatewayId: 'gw-7',
    });
    expect(parseGatewayTopic('rasid/v1/dewa/gateways/gw-7/other')).toBeNull();
    expect(parseGatewayTopic('rasid/v1/dewa/gateways/+/status')).toBeNull();
    expect(parseGatewayTopic('rasid/v1/dewa/meters/gw-7/status')).toBeNull();
    expect(parseGatewayTopic('rasid/v2/dewa/gateways/gw-7/status')).toBeNull();
    expect(parseGatewayTopic('rasid/v1/DEWA/gateways/gw-7/status')).toBeNull();
    expect(parseGatewayTopic('rasid/v1/dewa/gateways/gw 7/status')).toBeNull();
    expect(parseGatewayTopic('rasid/v1/dewa/gateways/gw-7/status/x')).toBeNull();
    expect(() => gatewayStatusTopic('dewa', 'gw/7')).toThrow(MqttTopicError);
  });
});

describe('subscriptions', () => {
  it('give the ingest workers shared filters', () => {
    expect(INGEST_SHARE_GROUP).toBe('rasid-ingest');
    expect(ingestFilters()).toEqual([
      '$share/rasid-ingest/rasid/v1/+/meters/+/up/reading',
      '$share/rasid-ingest/rasid/v1/+/meters/+/up/event',
      '$share/rasid-ingest/rasid/v1/+/meters/+/up/ack',
      '$share/rasid-ingest/rasid/v1/+/meters/+/up/status',
      '$share/rasid-ingest/rasid/v1/+/gateways/+/status',
    ]);
    expect(ingestFilters('dewa')[0]).toBe('$share/rasid-ingest/rasid/v1/dewa/meters/+/up/reading');
    expect(meterChannelFilter('down/cmd', 'dewa')).toBe('rasid/v1/dewa/meters/+/down/cmd');
    expect(gatewayStatusFilter()).toBe('rasid/v1/+/gateways/+/status');
    expect(() => sharedFilter('bad/group', 'x')).toThrow(MqttTopicError);
    expect(() => meterChannelFilter('up/reading', 'Bad')).toThrow(MqttTopicError);
  });

  it('each ingest filter matches its own channel of any meter and nothing else', () => {
    const filters = ingestFilters();
    const topics = [
      meterTopic('dewa', 'SN1', 'up/reading'),
      meterTopic('sewa', 'SN2', 'up/event'),
      meterTopic('dewa', 'SN3', 'up/ack'),
      meterTopic('dewa', 'SN4', 'up/status'),
      gatewayStatusTopic('dewa', 'gw-1'),
    ];
    filters.forEach((filter, i) => {
      topics.forEach((topic, j) => {
        expect(topicMatchesFilter(filter, topic), `${filter} vs ${topic}`).toBe(i === j);
      });
      expect(topicMatchesFilter(filter, meterTopic('dewa', 'SN1', 'down/cmd'))).toBe(false);
    });
  });

  it.each([
    ['a/b/c', 'a/b/c', true],
    ['a/+/c', 'a/b/c', true],
    ['a/+', 'a/b/c', false],
    ['a/#', 'a/b/c', true],
    ['a/#', 'a', true],
    ['#', 'a/b', true],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['a/#/c', 'a/b/c', false],
    ['$share/g/a/+', 'a/b', true],
    ['$share/g', 'a', false],
  ])('topicMatchesFilter(%j, %j) is %s', (filter, topic, expected) => {
    expect(topicMatchesFilter(filter, topic)).toBe(expected);
  });
});

describe('ACL', () => {
  const root = meterTopicRoot('dewa', 'SN1');

  it.each([
    ['rasid/v1/dewa/meters/SN1/up/reading', true],
    ['rasid/v1/dewa/meters/SN1/up/event', true],
    ['rasid/v1/dewa/meters/SN1/up/ack', true],
    ['rasid/v1/dewa/meters/SN1/up/status', true],
    ['rasid/v1/dewa/meters/SN1/down/cmd', false],
    ['rasid/v1/dewa/meters/SN2/up/reading', false],
    ['rasid/v1/dewa/meters/SN10/up/reading', false],
    ['rasid/v1/sewa/meters/SN1/up/reading', false],
    ['rasid/v1/dewa/meters/SN1/up/reading/x', false],
    ['rasid/v1/dewa/meters/SN1/up/+', false],
    ['rasid/v1/dewa/meters/SN1/up/#', false],
    ['rasid/v1/dewa/meters/SN1', false],
  ])('meter SN1 may publish %j: %s', (topic, allowed) => {
    expect(meterMayPublish(root, topic)).toBe(allowed);
  });

  it.each([
    ['rasid/v1/dewa/meters/SN1/down/cmd', true],
    ['rasid/v1/dewa/meters/SN1/down/#', false],
    ['rasid/v1/dewa/meters/SN1/#', false],
    ['rasid/v1/dewa/meters/+/down/cmd', false],
    ['rasid/v1/dewa/meters/SN2/down/cmd', false],
    ['$share/x/rasid/v1/dewa/meters/SN1/down/cmd', false],
    ['rasid/v1/dewa/meters/SN1/up/reading', false],
  ])('meter SN1 may subscribe %j: %s', (filter, allowed) => {
    expect(meterMaySubscribe(root, filter)).toBe(allowed);
  });

  it('lets a meter set only its own status as its last will', () => {
    expect(meterMaySetWill(root, 'rasid/v1/dewa/meters/SN1/up/status')).toBe(true);
    expect(meterMaySetWill(root, 'rasid/v1/dewa/meters/SN2/up/status')).toBe(false);
    expect(meterMaySetWill(root, 'rasid/v1/dewa/meters/SN1/up/reading')).toBe(false);
  });

  it('lets a gateway publish and subscribe for the meters it serves, in its utility only', () => {
    const gw = gatewayTopicRoot('dewa', 'gw-1');
    const serves = (utility: string, meterId: string) =>
      meterId === 'SN1' || (utility === 'sewa' && meterId === 'SN9');
    expect(gatewayMayPublish(gw, 'rasid/v1/dewa/gateways/gw-1/status', serves)).toBe(true);
    expect(gatewayMayPublish(gw, 'rasid/v1/dewa/gateways/gw-2/status', serves)).toBe(false);
    expect(gatewayMayPublish(gw, 'rasid/v1/dewa/meters/SN1/up/reading', serves)).toBe(true);
    expect(gatewayMayPublish(gw, 'rasid/v1/dewa/meters/SN2/up/reading', serves)).toBe(false);
    expect(gatewayMayPublish(gw, 'rasid/v1/dewa/meters/SN1/down/cmd', serves)).toBe(false);
    expect(gatewayMayPublish(gw, 'rasid/v1/sewa/meters/SN9/up/reading', serves)).toBe(false);
    expect(gatewayMaySubscribe(gw, 'rasid/v1/dewa/meters/SN1/down/cmd', serves)).toBe(true);
    expect(gatewayMaySubscribe(gw, 'rasid/v1/dewa/meters/+/down/cmd', serves)).toBe(false);
    expect(gatewayMaySubscribe(gw, 'rasid/v1/dewa/meters/SN2/down/cmd', serves)).toBe(false);
    expect(gatewayMaySubscribe(gw, 'rasid/v1/dewa/meters/SN1/up/reading', serves)).toBe(false);
    expect(gatewayMaySetWill(gw, 'rasid/v1/dewa/gateways/gw-1/status')).toBe(true);
    expect(gatewayMaySetWill(gw, 'rasid/v1/dewa/meters/SN1/up/status')).toBe(false);
  });
});
