import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  bitsToFlags,
  type CommandKind,
  type ContractMessage,
  DECODE_FAILURE_REASONS,
  decodeGatewayStatus,
  decodeMessage,
  encodeAck,
  encodeCommand,
  encodeEvent,
  encodeMessage,
  encodeReading,
  encodeStatus,
  flagsToBits,
  isCommandExpired,
  MAX_PAYLOAD_BYTES,
  MAX_SEQ,
  METER_CHANNELS,
  type MeterChannel,
  MQTT_CONTRACT,
  MqttEncodeError,
  meterTopic,
  outgoing,
  READING_FLAG_BITS,
  READING_FLAGS,
  type ReadingFlag,
  timestampMs,
} from '../../../protocols/mqtt/index.ts';

const ID = '3f2c8a4e-6b1d-4c2a-9e7f-0a1b2c3d4e5f';

interface Vector<C extends MeterChannel = MeterChannel> {
  name: string;
  channel: C;
  value: ContractMessage<C>;
  bytes: string;
}

/** Each message with its exact bytes on the wire (keys in the schema's order). */
const VECTORS: Vector[] = [
  {
    name: 'electricity reading, ISO time, credit in minor units',
    channel: 'up/reading',
    value: {
      v: 1,
      seq: 41,
      ts: '2026-11-23T08:15:00Z',
      energyWh: 1234567,
      powerW: 1500,
      voltageDv: 2301,
      currentMa: 6520,
      creditMinor: 12500,
      relay: 'connected',
      flags: [],
    },
    bytes:
      '{"v":1,"seq":41,"ts":"2026-11-23T08:15:00Z","energyWh":1234567,"powerW":1500,"voltageDv":2301,' +
      '"currentMa":6520,"creditMinor":12500,"relay":"connected","flags":[]}',
  },
  {
    name: 'water reading, epoch ms, credit in litres, flags',
    channel: 'up/reading',
    value: {
      v: 1,
      seq: MAX_SEQ,
      ts: 1795421700000,
      volumeL: 88123,
      creditL: -40,
      relay: 'disconnected',
      flags: ['low_credit', 'emergency_credit'],
    },
    bytes:
      '{"v":1,"seq":4294967295,"ts":1795421700000,"volumeL":88123,"creditL":-40,"relay":"disconnected",' +
      '"flags":["low_credit","emergency_credit"]}',
  },
  {
    name: 'token rejected event',
    channel: 'up/event',
    value: {
      v: 1,
      seq: 7,
      ts: '2026-11-23T08:16:00+04:00',
      kind: 'token_rejected',
      details: { code: 'used', token: '56475309907536216817' },
    },
    bytes:
      '{"v":1,"seq":7,"ts":"2026-11-23T08:16:00+04:00","kind":"token_rejected",' +
      '"details":{"code":"used","token":"56475309907536216817"}}',
  },
  {
    name: 'token accepted event with the command id',
    channel: 'up/event',
    value: {
      v: 1,
      seq: 8,
      ts: 1795421760000,
      kind: 'token_accepted',
      details: { tid: 17282304, commandId: ID, creditWh: 250000 },
    },
    bytes: `{"v":1,"seq":8,"ts":1795421760000,"kind":"token_accepted","details":{"tid":17282304,"commandId":"${ID}","creditWh":250000}}`,
  },
  {
    name: 'relay changed event',
    channel: 'up/event',
    value: {
      v: 1,
      seq: 9,
      ts: 1795421760000,
      kind: 'relay_changed',
      details: { relay: 'disconnected', cause: 'credit_exhausted' },
    },
    bytes:
      '{"v":1,"seq":9,"ts":1795421760000,"kind":"relay_changed","details":{"relay":"disconnected","cause":"credit_exhausted"}}',
  },
  {
    name: 'tamper event with free details',
    channel: 'up/event',
    value: {
      v: 1,
      seq: 10,
      ts: 1795421760000,
      kind: 'tamper',
      details: { source: 'terminal_cover', count: 2 },
    },
    bytes:
      '{"v":1,"seq":10,"ts":1795421760000,"kind":"tamper","details":{"source":"terminal_cover","count":2}}',
  },
  {
    name: 'power fail event without details',
    channel: 'up/event',
    value: { v: 1, seq: 11, ts: 1795421760000, kind: 'power_fail' },
    bytes: '{"v":1,"seq":11,"ts":1795421760000,"kind":"power_fail"}',
  },
  {
    name: 'ack ok with a result',
    channel: 'up/ack',
    value: { v: 1, id: ID, ts: '2026-11-23T08:17:00Z', status: 'ok', result: { relay: 'disconnected' } },
    bytes: `{"v":1,"id":"${ID}","ts":"2026-11-23T08:17:00Z","status":"ok","result":{"relay":"disconnected"}}`,
  },
  {
    name: 'ack error for a rejected token',
    channel: 'up/ack',
    value: {
      v: 1,
      id: ID,
      ts: 1795421820000,
      status: 'error',
      error: { code: 'token_rejected', message: 'TID already used', rejection: 'used' },
    },
    bytes: `{"v":1,"id":"${ID}","ts":1795421820000,"status":"error","error":{"code":"token_rejected","message":"TID already used","rejection":"used"}}`,
  },
  {
    name: 'status online',
    channel: 'up/status',
    value: { v: 1, state: 'online', ts: '2026-11-23T08:00:00Z', firmware: 'rsd-em1 2.4.1' },
    bytes: '{"v":1,"state":"online","ts":"2026-11-23T08:00:00Z","firmware":"rsd-em1 2.4.1"}',
  },
  {
    name: 'status offline (the last will)',
    channel: 'up/status',
    value: { v: 1, state: 'offline', ts: '2026-11-23T08:00:00Z' },
    bytes: '{"v":1,"state":"offline","ts":"2026-11-23T08:00:00Z"}',
  },
  {
    name: 'token command',
    channel: 'down/cmd',
    value: {
      v: 1,
      id: ID,
      issuedAt: '2026-11-23T08:20:00Z',
      expiresAt: '2026-11-24T08:20:00Z',
      kind: 'token',
      payload: { token: '56475309907536216817' },
    },
    bytes: `{"v":1,"id":"${ID}","issuedAt":"2026-11-23T08:20:00Z","expiresAt":"2026-11-24T08:20:00Z","kind":"token","payload":{"token":"56475309907536216817"}}`,
  },
  {
    name: 'disconnect command',
    channel: 'down/cmd',
    value: {
      v: 1,
      id: ID,
      issuedAt: 1795422000000,
      expiresAt: 1795425600000,
      kind: 'disconnect',
      payload: { reason: 'credit_exhausted' },
    },
    bytes: `{"v":1,"id":"${ID}","issuedAt":1795422000000,"expiresAt":1795425600000,"kind":"disconnect","payload":{"reason":"credit_exhausted"}}`,
  },
  {
    name: 'read-now command',
    channel: 'down/cmd',
    value: { v: 1, id: ID, issuedAt: 1795422000000, expiresAt: 1795422060000, kind: 'read_now', payload: {} },
    bytes: `{"v":1,"id":"${ID}","issuedAt":1795422000000,"expiresAt":1795422060000,"kind":"read_now","payload":{}}`,
  },
  {
    name: 'time sync command',
    channel: 'down/cmd',
    value: {
      v: 1,
      id: ID,
      issuedAt: 1795422000000,
      expiresAt: 1795422060000,
      kind: 'time_sync',
      payload: { time: 1795422000000 },
    },
    bytes: `{"v":1,"id":"${ID}","issuedAt":1795422000000,"expiresAt":1795422060000,"kind":"time_sync","payload":{"time":1795422000000}}`,
  },
  {
    name: 'emergency credit command',
    channel: 'down/cmd',
    value: {
      v: 1,
      id: ID,
      issuedAt: 1795422000000,
      expiresAt: 1795422060000,
      kind: 'set_emergency_credit',
      payload: { enabled: true, amountMinor: 500 },
    },
    bytes: `{"v":1,"id":"${ID}","issuedAt":1795422000000,"expiresAt":1795422060000,"kind":"set_emergency_credit","payload":{"enabled":true,"amountMinor":500}}`,
  },
];

describe('round trip: message <-> bytes', () => {
  it('encodes each vector to its bytes and decodes the bytes to the vector', () => {
    for (const { name, channel, value, bytes } of VECTORS) {
      expect(encodeMessage(channel, value).toString('utf8'), name).toBe(bytes);
      const topic = meterTopic('dewa', 'SN-1001', channel);
      expect(decodeMessage(topic, Buffer.from(bytes, 'utf8')), name).toEqual({
        ok: true,
        utility: 'dewa',
        meterId: 'SN-1001',
        channel,
        message: value,
      });
    }
  });

  it('covers every channel', () => {
    expect(new Set(VECTORS.map((v) => v.channel))).toEqual(new Set(METER_CHANNELS));
  });

  it('has typed helpers that agree with encodeMessage', () => {
    const pick = <C extends MeterChannel>(channel: C) =>
      VECTORS.find((v) => v.channel === channel)?.value as ContractMessage<C>;
    expect(encodeReading(pick('up/reading'))).toEqual(encodeMessage('up/reading', pick('up/reading')));
    expect(encodeEvent(pick('up/event'))).toEqual(encodeMessage('up/event', pick('up/event')));
    expect(encodeAck(pick('up/ack'))).toEqual(encodeMessage('up/ack', pick('up/ack')));
    expect(encodeStatus(pick('up/status'))).toEqual(encodeMessage('up/status', pick('up/status')));
    expect(encodeCommand(pick('down/cmd'))).toEqual(encodeMessage('down/cmd', pick('down/cmd')));
  });

  it('drops unknown fields and keeps the known ones', () => {
    const topic = meterTopic('dewa', 'SN1', 'up/reading');
    const result = decodeMessage(topic, Buffer.from('{"v":1,"seq":1,"ts":0,"energyWh":5,"vendorX":"y"}'));
    expect(result).toMatchObject({ ok: true, message: { v: 1, seq: 1, ts: 0, energyWh: 5 } });
    expect(result.ok && 'vendorX' in result.message).toBe(false);
  });

  it('narrows the message type by channel', () => {
    const result = decodeMessage(
      meterTopic('dewa', 'SN1', 'down/cmd'),
      Buffer.from(VECTORS[11]?.bytes ?? ''),
    );
    expect(result.ok).toBe(true);
    if (result.ok && result.channel === 'down/cmd') {
      expectTypeOf(result.message.kind).toEqualTypeOf<CommandKind>();
      expect(result.message.kind).toBe('token');
    }
  });
});

describe('decodeMessage refusals', () => {
  const reading = meterTopic('dewa', 'SN1', 'up/reading');
  const cmd = meterTopic('dewa', 'SN1', 'down/cmd');
  const ack = meterTopic('dewa', 'SN1', 'up/ack');
  const event = meterTopic('dewa', 'SN1', 'up/event');
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));

  const cases: [string, string, Buffer, (typeof DECODE_FAILURE_REASONS)[number]][] = [
    ['topic of another version', 'rasid/v2/dewa/meters/SN1/up/reading', json({}), 'bad_topic'],
    ['wildcard topic', 'rasid/v1/dewa/meters/+/up/reading', json({}), 'bad_topic'],
    ['payload one byte over the limit', reading, Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20), 'too_large'],
    ['not JSON', reading, Buffer.from('{"v":1,'), 'bad_json'],
    ['empty payload', reading, Buffer.alloc(0), 'bad_json'],
    ['invalid UTF-8', reading, Buffer.from([0x7b, 0xff, 0x7d]), 'bad_json'],
    ['JSON null', reading, Buffer.from('null'), 'bad_schema'],
    ['version 2', reading, json({ v: 2, seq: 1, ts: 0, energyWh: 1 }), 'bad_schema'],
    ['no cumulative register', reading, json({ v: 1, seq: 1, ts: 0, powerW: 1 }), 'bad_schema'],
    ['negative energy', reading, json({ v: 1, seq: 1, ts: 0, energyWh: -1 }), 'bad_schema'],
    ['fractional energy', reading, json({ v: 1, seq: 1, ts: 0, energyWh: 1.5 }), 'bad_schema'],
    ['energy as a string', reading, json({ v: 1, seq: 1, ts: 0, energyWh: '1' }), 'bad_schema'],
    ['seq beyond 32 bits', reading, json({ v: 1, seq: MAX_SEQ + 1, ts: 0, energyWh: 1 }), 'bad_schema'],
    ['negative seq', reading, json({ v: 1, seq: -1, ts: 0, energyWh: 1 }), 'bad_schema'],
    [
      'local time without offset',
      reading,
      json({ v: 1, seq: 1, ts: '2026-11-23 08:00', energyWh: 1 }),
      'bad_schema',
    ],
    ['unknown relay state', reading, json({ v: 1, seq: 1, ts: 0, energyWh: 1, relay: 'on' }), 'bad_schema'],
    ['unknown flag', reading, json({ v: 1, seq: 1, ts: 0, energyWh: 1, flags: ['smoke'] }), 'bad_schema'],
    [
      'repeated flag',
      reading,
      json({ v: 1, seq: 1, ts: 0, energyWh: 1, flags: ['tamper', 'tamper'] }),
      'bad_schema',
    ],
    ['unknown event kind', event, json({ v: 1, seq: 1, ts: 0, kind: 'fire' }), 'bad_schema'],
    [
      'token rejected without a code',
      event,
      json({ v: 1, seq: 1, ts: 0, kind: 'token_rejected', details: {} }),
      'bad_schema',
    ],
    [
      'token rejected with an unknown code',
      event,
      json({ v: 1, seq: 1, ts: 0, kind: 'token_rejected', details: { code: 'late' } }),
      'bad_schema',
    ],
    [
      'command id not a uuid',
      cmd,
      json({ v: 1, id: '42', issuedAt: 0, expiresAt: 1, kind: 'read_now', payload: {} }),
      'bad_schema',
    ],
    [
      'command expiring before it is issued',
      cmd,
      json({ v: 1, id: ID, issuedAt: 10, expiresAt: 10, kind: 'read_now', payload: {} }),
      'bad_schema',
    ],
    [
      'token of 19 digits',
      cmd,
      json({
        v: 1,
        id: ID,
        issuedAt: 0,
        expiresAt: 1,
        kind: 'token',
        payload: { token: '1234567890123456789' },
      }),
      'bad_schema',
    ],
    [
      'unknown command',
      cmd,
      json({ v: 1, id: ID, issuedAt: 0, expiresAt: 1, kind: 'explode', payload: {} }),
      'bad_schema',
    ],
    [
      'threshold command with no threshold',
      cmd,
      json({ v: 1, id: ID, issuedAt: 0, expiresAt: 1, kind: 'set_low_credit_threshold', payload: {} }),
      'bad_schema',
    ],
    [
      'ack token_rejected without the rejection',
      ack,
      json({ v: 1, id: ID, ts: 0, status: 'error', error: { code: 'token_rejected' } }),
      'bad_schema',
    ],
    [
      'ack rejection with another code',
      ack,
      json({ v: 1, id: ID, ts: 0, status: 'error', error: { code: 'expired', rejection: 'used' } }),
      'bad_schema',
    ],
    ['ack error without an error', ack, json({ v: 1, id: ID, ts: 0, status: 'error' }), 'bad_schema'],
    ['ack with an unknown status', ack, json({ v: 1, id: ID, ts: 0, status: 'maybe' }), 'bad_schema'],
  ];

  it.each(cases)('%s -> %s', (_name, topic, payload, reason) => {
    const result = decodeMessage(topic, payload);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(reason);
      expect(DECODE_FAILURE_REASONS).toContain(result.reason);
      expect(result.detail.length).toBeGreaterThan(0);
    }
  });

  it('names the field in a bad_schema detail', () => {
    const result = decodeMessage(reading, json({ v: 1, seq: 1, ts: 0, energyWh: -1 }));
    expect(result).toMatchObject({ ok: false, reason: 'bad_schema' });
    expect(!result.ok && result.detail).toMatch(/^energyWh: /);
  });

  it('accepts a payload of exactly the limit', () => {
    const base = '{"v":1,"seq":1,"ts":0,"energyWh":1}';
    const padded = Buffer.from(base + ' '.repeat(MAX_PAYLOAD_BYTES - base.length));
    expect(padded.byteLength).toBe(MAX_PAYLOAD_BYTES);
    expect(decodeMessage(reading, padded).ok).toBe(true);
  });

  it('never throws on arbitrary bytes', () => {
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 500; i++) {
      const bytes = Buffer.alloc(next() % 64);
      for (let j = 0; j < bytes.length; j++) bytes[j] = next() % 256;
      const result = decodeMessage(reading, bytes);
      expect(result.ok === false && DECODE_FAILURE_REASONS.includes(result.reason)).toBe(true);
    }
  });
});

describe('encoders', () => {
  it('refuse a message the contract refuses', () => {
    expect(() => encodeReading({ v: 1, seq: -1, ts: 0, energyWh: 1 })).toThrow(MqttEncodeError);
    expect(() =>
      encodeCommand({ v: 1, id: ID, issuedAt: 5, expiresAt: 1, kind: 'read_now', payload: {} }),
    ).toThrow(/expiresAt/);
  });

  it('refuse a message over the size limit', () => {
    const result: Record<string, string> = {};
    for (let i = 0; i < 40; i++) result[`key${i}`] = 'x'.repeat(200);
    expect(() => encodeAck({ v: 1, id: ID, ts: 0, status: 'ok', result })).toThrow(/bytes > 4096/);
  });

  it('give topic, QoS and retain from the contract map', () => {
    const status = outgoing('dewa', 'SN1', 'up/status', { v: 1, state: 'online', ts: 0 });
    expect(status).toEqual({
      topic: 'rasid/v1/dewa/meters/SN1/up/status',
      payload: Buffer.from('{"v":1,"state":"online","ts":0}'),
      qos: 1,
      retain: true,
    });
    const reading = outgoing('dewa', 'SN1', 'up/reading', { v: 1, seq: 0, ts: 0, volumeL: 0 });
    expect(reading.qos).toBe(1);
    expect(reading.retain).toBe(false);
  });
});

describe('contract map', () => {
  it('has one frozen entry per channel, QoS 1 everywhere, only status retained', () => {
    expect(Object.isFrozen(MQTT_CONTRACT)).toBe(true);
    expect(Object.keys(MQTT_CONTRACT)).toEqual([...METER_CHANNELS]);
    for (const channel of METER_CHANNELS) {
      expect(MQTT_CONTRACT[channel].qos).toBe(1);
      expect(MQTT_CONTRACT[channel].retain).toBe(channel === 'up/status');
      expect(MQTT_CONTRACT[channel].direction).toBe(channel.startsWith('up/') ? 'up' : 'down');
    }
  });

  it('decodes gateway status', () => {
    const payload = Buffer.from('{"v":1,"state":"offline","ts":0}');
    expect(decodeGatewayStatus('rasid/v1/dewa/gateways/gw-1/status', payload)).toEqual({
      ok: true,
      utility: 'dewa',
      gatewayId: 'gw-1',
      message: { v: 1, state: 'offline', ts: 0 },
    });
    expect(decodeGatewayStatus('rasid/v1/dewa/meters/gw-1/up/status', payload)).toMatchObject({
      reason: 'bad_topic',
    });
    expect(decodeGatewayStatus('rasid/v1/dewa/gateways/gw-1/status', Buffer.from('{'))).toMatchObject({
      reason: 'bad_json',
    });
    expect(decodeGatewayStatus('rasid/v1/dewa/gateways/gw-1/status', Buffer.from('{}'))).toMatchObject({
      reason: 'bad_schema',
    });
  });
});

describe('helpers', () => {
  it('round-trip flags and their bit mask', () => {
    const table: { value: ReadingFlag[]; bits: number }[] = [
      { value: [], bits: 0 },
      { value: ['tamper'], bits: 0b1 },
      { value: ['low_credit', 'power_fail'], bits: 0b1010 },
      { value: ['clock_invalid'], bits: 0x100 },
      { value: [...READING_FLAGS], bits: 0x1ff },
    ];
    for (const { value, bits } of table) {
      expect(flagsToBits(value)).toBe(bits);
      expect(bitsToFlags(bits)).toEqual(value);
    }
    expect(bitsToFlags(0x8001)).toEqual(['tamper']);
    expect(new Set(Object.values(READING_FLAG_BITS)).size).toBe(READING_FLAGS.length);
  });

  it('read both timestamp forms and command expiry', () => {
    expect(timestampMs('2026-11-23T08:00:00+04:00')).toBe(Date.UTC(2026, 10, 23, 4));
    expect(timestampMs(1795420800000)).toBe(1795420800000);
    const command = { expiresAt: '2026-11-23T08:00:00Z' };
    expect(isCommandExpired(command, Date.UTC(2026, 10, 23, 7, 59, 59, 999))).toBe(false);
    expect(isCommandExpired(command, Date.UTC(2026, 10, 23, 8))).toBe(true);
  });
});
