/**
 * The one topic → payload map of Rasid's MQTT contract, and the codec built on it: `decodeMessage` for
 * whatever arrives on a meter topic, `encode*` for what Rasid or a meter sends.
 */
import type { z } from 'zod';
import { AckSchema, CommandSchema, EventSchema, ReadingSchema, StatusSchema } from './schemas.ts';
import { type MeterChannel, meterTopic, parseGatewayTopic, parseTopic } from './topics.ts';

/** Largest payload Rasid accepts on any contract topic, in bytes (a reading is ~150-300 B). */
export const MAX_PAYLOAD_BYTES = 4096;

export interface ChannelSpec {
  /** `up`: meter (or gateway) → Rasid; `down`: Rasid → meter. */
  readonly direction: 'up' | 'down';
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  readonly schema: z.ZodType;
}

/** Channel → schema, QoS and retain flag. The only place these facts are written. */
export const MQTT_CONTRACT = Object.freeze({
  'up/reading': { direction: 'up', qos: 1, retain: false, schema: ReadingSchema },
  'up/event': { direction: 'up', qos: 1, retain: false, schema: EventSchema },
  'up/ack': { direction: 'up', qos: 1, retain: false, schema: AckSchema },
  'up/status': { direction: 'up', qos: 1, retain: true, schema: StatusSchema },
  'down/cmd': { direction: 'down', qos: 1, retain: false, schema: CommandSchema },
} as const) satisfies Readonly<Record<MeterChannel, ChannelSpec>>;

/** A gateway's own status uses the meter status payload, retained, QoS 1. */
export const GATEWAY_STATUS_SPEC = Object.freeze({
  direction: 'up',
  qos: 1,
  retain: true,
  schema: StatusSchema,
} as const) satisfies ChannelSpec;

/** The payload type carried on one channel. */
export type ContractMessage<C extends MeterChannel> = z.infer<(typeof MQTT_CONTRACT)[C]['schema']>;

/** Stable refusal codes, used as a metrics label. */
export const DECODE_FAILURE_REASONS = ['bad_topic', 'too_large', 'bad_json', 'bad_schema'] as const;
export type DecodeFailureReason = (typeof DECODE_FAILURE_REASONS)[number];

export type DecodedMessage = {
  [C in MeterChannel]: {
    ok: true;
    utility: string;
    meterId: string;
    channel: C;
    message: ContractMessage<C>;
  };
}[MeterChannel];

export interface DecodeFailure {
  ok: false;
  reason: DecodeFailureReason;
  /** Human-readable and safe to log: never contains the payload itself. */
  detail: string;
}

export type DecodeResult = DecodedMessage | DecodeFailure;

const utf8 = new TextDecoder('utf-8', { fatal: true });

type JsonResult = { ok: true; value: unknown } | DecodeFailure;

function parseJson(payload: Uint8Array): JsonResult {
  if (payload.byteLength > MAX_PAYLOAD_BYTES) {
    return { ok: false, reason: 'too_large', detail: `${payload.byteLength} bytes > ${MAX_PAYLOAD_BYTES}` };
  }
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return { ok: false, reason: 'bad_json', detail: 'payload is not valid UTF-8' };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, reason: 'bad_json', detail: (err as Error).message };
  }
}

/** The first few zod issues as `path: message`, for logs. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

/**
 * Decodes one message received on a meter topic. Never throws: anything wrong is a `{ ok: false }` with a
 * stable `reason`. Checks, in order: the topic, the size, UTF-8 and JSON, the channel's schema.
 */
export function decodeMessage(topic: string, payload: Uint8Array): DecodeResult {
  const parsed = parseTopic(topic);
  if (parsed === null) return { ok: false, reason: 'bad_topic', detail: 'not a Rasid v1 meter topic' };
  const json = parseJson(payload);
  if (!json.ok) return json;
  const result = MQTT_CONTRACT[parsed.channel].schema.safeParse(json.value);
  if (!result.success) return { ok: false, reason: 'bad_schema', detail: describeIssues(result.error) };
  return { ok: true, ...parsed, message: result.data } as DecodedMessage;
}

export type DecodedGatewayStatus =
  | { ok: true; utility: string; gatewayId: string; message: ContractMessage<'up/status'> }
  | DecodeFailure;

/** Decodes a message on `rasid/v1/<utility>/gateways/<gatewayId>/status`; never throws. */
export function decodeGatewayStatus(topic: string, payload: Uint8Array): DecodedGatewayStatus {
  const parsed = parseGatewayTopic(topic);
  if (parsed === null)
    return { ok: false, reason: 'bad_topic', detail: 'not a Rasid v1 gateway status topic' };
  const json = parseJson(payload);
  if (!json.ok) return json;
  const result = GATEWAY_STATUS_SPEC.schema.safeParse(json.value);
  if (!result.success) return { ok: false, reason: 'bad_schema', detail: describeIssues(result.error) };
  return { ok: true, ...parsed, message: result.data };
}

/** Raised by the encoders when a message does not satisfy its own schema or is too large. */
export class MqttEncodeError extends Error {
  override readonly name = 'MqttEncodeError';
}

/**
 * Validates and serialises one message for a channel. Throws {@link MqttEncodeError}: sending a message
 * the contract refuses is a bug in the sender, not a runtime condition.
 */
export function encodeMessage<C extends MeterChannel>(channel: C, message: ContractMessage<C>): Buffer {
  const result = MQTT_CONTRACT[channel].schema.safeParse(message);
  if (!result.success) throw new MqttEncodeError(`${channel}: ${describeIssues(result.error)}`);
  const bytes = Buffer.from(JSON.stringify(result.data), 'utf8');
  if (bytes.byteLength > MAX_PAYLOAD_BYTES) {
    throw new MqttEncodeError(`${channel}: ${bytes.byteLength} bytes > ${MAX_PAYLOAD_BYTES}`);
  }
  return bytes;
}

export const encodeReading = (m: ContractMessage<'up/reading'>): Buffer => encodeMessage('up/reading', m);
export const encodeEvent = (m: ContractMessage<'up/event'>): Buffer => encodeMessage('up/event', m);
export const encodeAck = (m: ContractMessage<'up/ack'>): Buffer => encodeMessage('up/ack', m);
export const encodeStatus = (m: ContractMessage<'up/status'>): Buffer => encodeMessage('up/status', m);
export const encodeCommand = (m: ContractMessage<'down/cmd'>): Buffer => encodeMessage('down/cmd', m);

/** Everything an MQTT client needs to publish one message: topic, bytes, QoS and retain flag. */
export interface OutgoingMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

/** Builds the topic and payload of one message with the channel's QoS and retain flag. */
export function outgoing<C extends MeterChannel>(
  utility: string,
  meterId: string,
  channel: C,
  message: ContractMessage<C>,
): OutgoingMessage {
  const spec = MQTT_CONTRACT[channel];
  return {
    topic: meterTopic(utility, meterId, channel),
    payload: encodeMessage(channel, message),
    qos: spec.qos,
    retain: spec.retain,
  };
}
