/**
 * The zod schemas of every payload in Rasid's MQTT contract (version 1). Types are `z.infer` of these
 * schemas; there is no hand-written interface beside them.
 *
 * Readers are tolerant of unknown fields (they are dropped) but strict about the fields they know.
 */
import { z } from 'zod';

/** Payload format version carried in every message as `v`. */
export const PAYLOAD_VERSION = 1;

// ---- shared pieces ----

/** Largest value of a sequence counter: the meter keeps it as an unsigned 32-bit number. */
export const MAX_SEQ = 0xffff_ffff;

/** ISO 8601 date-time with `Z` or an offset, or milliseconds since the Unix epoch (UTC). */
export const TimestampSchema = z.union([
  z.iso.datetime({ offset: true }),
  z.number().int().nonnegative().max(8_640_000_000_000_000),
]);
export type Timestamp = z.infer<typeof TimestampSchema>;

/** Milliseconds since the epoch for either form of {@link Timestamp}. */
export function timestampMs(ts: Timestamp): number {
  return typeof ts === 'number' ? ts : Date.parse(ts);
}

const SeqSchema = z.number().int().nonnegative().max(MAX_SEQ);
const Uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const Int = z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
const Version = z.literal(PAYLOAD_VERSION);
/** Twenty decimal digits, no separators (IEC 62055-41 token as keyed in). */
export const TokenDigitsSchema = z.string().regex(/^[0-9]{20}$/, 'a token is 20 decimal digits');

export const RELAY_STATES = ['connected', 'disconnected'] as const;
export const RelayStateSchema = z.enum(RELAY_STATES);
export type RelayState = z.infer<typeof RelayStateSchema>;

/**
 * Condition flags a meter reports with a reading. The bit numbers are the same in the Modbus status
 * register and in the store's `flags` column, so one table serves all three.
 */
export const READING_FLAG_BITS = Object.freeze({
  /** Any tamper detection latched (terminal cover, magnetic field, reverse flow...). */
  tamper: 0,
  /** Credit below the meter's low-credit threshold. */
  low_credit: 1,
  /** Terminal or main cover open now. */
  cover_open: 2,
  /** Mains supply absent (the meter runs on its battery or super-capacitor). */
  power_fail: 3,
  /** Strong magnetic field near the metrology. */
  magnetic: 4,
  /** Emergency credit is in use. */
  emergency_credit: 5,
  /** The relay or valve did not reach its commanded position. */
  relay_fault: 6,
  /** Backup or main battery low (water meters, the clock battery of electricity meters). */
  battery_low: 7,
  /** The meter's clock is not set or was lost; timestamps come from the reader. */
  clock_invalid: 8,
} as const);
export type ReadingFlag = keyof typeof READING_FLAG_BITS;
export const READING_FLAGS = Object.freeze(Object.keys(READING_FLAG_BITS) as ReadingFlag[]);
export const ReadingFlagSchema = z.enum(READING_FLAGS as [ReadingFlag, ...ReadingFlag[]]);

/** Flags to the bit mask used by the store and the Modbus status register. */
export function flagsToBits(flags: readonly ReadingFlag[]): number {
  let bits = 0;
  for (const flag of flags) bits |= 1 << READING_FLAG_BITS[flag];
  return bits;
}

/** A bit mask back to flag names, in bit order; bits without a name are ignored. */
export function bitsToFlags(bits: number): ReadingFlag[] {
  return READING_FLAGS.filter((flag) => (bits & (1 << READING_FLAG_BITS[flag])) !== 0);
}

/**
 * Why a meter refused a token; the categories of IEC 62055-41 token acceptance. The Modbus token-result
 * register carries the same names as numbers.
 */
export const TOKEN_REJECTIONS = [
  /** The decrypted token failed its authentication (wrong decoder key or mistyped digits). */
  'authentication',
  /** CRC mismatch. */
  'crc',
  /** Not 20 digits, or a value outside 66 bits. */
  'format',
  /** A field out of range for this meter. */
  'range',
  /** Token class/subclass not supported by this meter. */
  'function',
  /** TID older than the oldest one the meter remembers. */
  'old',
  /** TID already used on this meter. */
  'used',
  /** The decoder key has expired (KEN). */
  'key_expired',
  /** Key type does not allow this token (e.g. a key change not allowed). */
  'key_type',
  /** A default (DDTK) key may not accept credit. */
  'ddtk',
  /** The credit register would overflow. */
  'overflow',
] as const;
export const TokenRejectionSchema = z.enum(TOKEN_REJECTIONS);
export type TokenRejection = z.infer<typeof TokenRejectionSchema>;

/** Free-form extra facts about a message: a flat object of strings, numbers, booleans or null. */
const DetailsSchema = z.record(
  z.string().max(64),
  z.union([z.string().max(256), z.number(), z.boolean(), z.null()]),
);

// ---- up/reading ----

export const ReadingSchema = z
  .object({
    v: Version,
    /** Reading counter of this meter (see docs/mqtt.md, "Sequence numbers"). */
    seq: SeqSchema,
    /** When the meter took the reading. */
    ts: TimestampSchema,
    /** Cumulative active energy imported, Wh (electricity). Never decreases except at a register reset. */
    energyWh: Uint.optional(),
    /** Cumulative volume, litres (water). */
    volumeL: Uint.optional(),
    /** Instantaneous active power, W. */
    powerW: Uint.optional(),
    /** Voltage in decivolts (2301 = 230.1 V). */
    voltageDv: Uint.optional(),
    /** Current in milliamperes. */
    currentMa: Uint.optional(),
    /** Credit in the utility currency's minor units; negative while emergency credit is used. */
    creditMinor: Int.optional(),
    /** Credit as energy, Wh (STS electricity meters keep credit in units). */
    creditWh: Int.optional(),
    /** Credit as volume, litres (water meters). */
    creditL: Int.optional(),
    relay: RelayStateSchema.optional(),
    flags: z.array(ReadingFlagSchema).max(READING_FLAGS.length).optional(),
  })
  .refine((r) => r.energyWh !== undefined || r.volumeL !== undefined, {
    message: 'a reading carries energyWh or volumeL',
    path: ['energyWh'],
  })
  .refine((r) => r.flags === undefined || new Set(r.flags).size === r.flags.length, {
    message: 'flags are listed once each',
    path: ['flags'],
  });
export type Reading = z.infer<typeof ReadingSchema>;

// ---- up/event ----

export const EVENT_KINDS = [
  'tamper',
  'low_credit',
  'token_accepted',
  'token_rejected',
  'relay_changed',
  'power_fail',
  'power_restore',
  'cover_open',
  'magnetic',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

const eventBase = { v: Version, seq: SeqSchema, ts: TimestampSchema };

/** The credit registers after (or, for low_credit, at) the event. */
const creditFields = { creditMinor: Int.optional(), creditWh: Int.optional(), creditL: Int.optional() };

export const RELAY_CAUSES = [
  'command',
  'credit_exhausted',
  'credit_restored',
  'keypad',
  'overload',
  'tamper',
] as const;

export const EventSchema = z.discriminatedUnion('kind', [
  z.object({ ...eventBase, kind: z.literal('tamper'), details: DetailsSchema.optional() }),
  z.object({ ...eventBase, kind: z.literal('low_credit'), details: z.object(creditFields).optional() }),
  z.object({
    ...eventBase,
    kind: z.literal('token_accepted'),
    details: z.object({
      /** The token as keyed in or delivered. */
      token: TokenDigitsSchema.optional(),
      /** The token identifier (minutes since the base date), when the meter decodes it. */
      tid: Uint.optional(),
      /** Token class and subclass (IEC 62055-41), when decoded. */
      tokenClass: z.number().int().min(0).max(3).optional(),
      subclass: z.number().int().min(0).max(15).optional(),
      /** Id of the `token` command that delivered it; absent when keyed in at the meter. */
      commandId: z.uuid().optional(),
      ...creditFields,
    }),
  }),
  z.object({
    ...eventBase,
    kind: z.literal('token_rejected'),
    details: z.object({
      code: TokenRejectionSchema,
      token: TokenDigitsSchema.optional(),
      commandId: z.uuid().optional(),
    }),
  }),
  z.object({
    ...eventBase,
    kind: z.literal('relay_changed'),
    details: z.object({
      relay: RelayStateSchema,
      cause: z.enum(RELAY_CAUSES),
      commandId: z.uuid().optional(),
    }),
  }),
  z.object({ ...eventBase, kind: z.literal('power_fail'), details: DetailsSchema.optional() }),
  z.object({ ...eventBase, kind: z.literal('power_restore'), details: DetailsSchema.optional() }),
  z.object({ ...eventBase, kind: z.literal('cover_open'), details: DetailsSchema.optional() }),
  z.object({ ...eventBase, kind: z.literal('magnetic'), details: DetailsSchema.optional() }),
]);
export type MeterEvent = z.infer<typeof EventSchema>;

// ---- up/status (and gateway status) ----

export const StatusSchema = z.object({
  v: Version,
  state: z.enum(['online', 'offline']),
  /** For `online`: when the meter connected. For the last will: set at CONNECT time as well. */
  ts: TimestampSchema,
  firmware: z.string().min(1).max(64).optional(),
  /** Why the meter goes offline when it says so itself (`shutdown`, `reboot`...); absent in the will. */
  reason: z.string().min(1).max(64).optional(),
});
export type Status = z.infer<typeof StatusSchema>;

// ---- down/cmd ----

export const COMMAND_KINDS = [
  'disconnect',
  'reconnect',
  'token',
  'read_now',
  'time_sync',
  'set_emergency_credit',
  'set_low_credit_threshold',
] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

const commandBase = {
  v: Version,
  /** Correlation id: the meter acts on each id at most once and acknowledges it with the same id. */
  id: z.uuid(),
  issuedAt: TimestampSchema,
  /** After this instant the meter must not act; it answers `error` / `expired` instead. */
  expiresAt: TimestampSchema,
};

export const CommandSchema = z
  .discriminatedUnion('kind', [
    z.object({
      ...commandBase,
      kind: z.literal('disconnect'),
      payload: z.object({ reason: z.enum(['credit_exhausted', 'operator', 'tamper', 'test']) }),
    }),
    z.object({
      ...commandBase,
      kind: z.literal('reconnect'),
      payload: z.object({ reason: z.enum(['credit_restored', 'operator', 'test']) }),
    }),
    z.object({ ...commandBase, kind: z.literal('token'), payload: z.object({ token: TokenDigitsSchema }) }),
    z.object({ ...commandBase, kind: z.literal('read_now'), payload: z.object({}) }),
    z.object({ ...commandBase, kind: z.literal('time_sync'), payload: z.object({ time: TimestampSchema }) }),
    z.object({
      ...commandBase,
      kind: z.literal('set_emergency_credit'),
      payload: z.object({
        enabled: z.boolean(),
        /** Emergency credit granted, in the unit the meter keeps credit in. */
        amountMinor: Uint.optional(),
        amountWh: Uint.optional(),
        amountL: Uint.optional(),
      }),
    }),
    z.object({
      ...commandBase,
      kind: z.literal('set_low_credit_threshold'),
      payload: z
        .object({
          thresholdMinor: Uint.optional(),
          thresholdWh: Uint.optional(),
          thresholdL: Uint.optional(),
        })
        .refine(
          (p) => p.thresholdMinor !== undefined || p.thresholdWh !== undefined || p.thresholdL !== undefined,
          {
            message: 'give one threshold',
          },
        ),
    }),
  ])
  .refine((c) => timestampMs(c.expiresAt) > timestampMs(c.issuedAt), {
    message: 'expiresAt must be after issuedAt',
    path: ['expiresAt'],
  });
export type Command = z.infer<typeof CommandSchema>;
/** The payload type of one command kind. */
export type CommandPayload<K extends CommandKind> = Extract<Command, { kind: K }>['payload'];

/** True when `now` (ms since the epoch) is at or past the command's expiry. */
export function isCommandExpired(command: Pick<Command, 'expiresAt'>, nowMs: number): boolean {
  return nowMs >= timestampMs(command.expiresAt);
}

// ---- up/ack ----

export const ACK_ERROR_CODES = [
  /** Received after expiresAt; not acted on. */
  'expired',
  /** The meter does not implement this command kind. */
  'not_supported',
  /** The payload was refused by the meter (out of its range). */
  'bad_payload',
  /** The token was refused; `rejection` says why. */
  'token_rejected',
  /** The relay or valve did not move. */
  'relay_fault',
  /** The meter refused the action in its current state (e.g. reconnect with no credit). */
  'refused',
  /** Any other failure. */
  'internal',
  /**
   * Not done, and not final: nothing reached the meter (no connection, an association refused for a
   * transient reason), or an idempotent command's outcome could not be learnt. Rasid keeps the command
   * queued and sends it again when the meter is back, until it expires (docs/commands.md).
   */
  'unreachable',
  /** The request went out and no answer came: whether the meter acted is not known. Final. */
  'unknown',
] as const;
export const AckErrorCodeSchema = z.enum(ACK_ERROR_CODES);
export type AckErrorCode = z.infer<typeof AckErrorCodeSchema>;

const ackBase = {
  v: Version,
  /** The id of the command being acknowledged. */
  id: z.uuid(),
  /** When the meter finished (or refused) the command. */
  ts: TimestampSchema,
};

export const AckSchema = z.discriminatedUnion('status', [
  z.object({ ...ackBase, status: z.literal('ok'), result: DetailsSchema.optional() }),
  z.object({
    ...ackBase,
    status: z.literal('error'),
    error: z
      .object({
        code: AckErrorCodeSchema,
        message: z.string().max(256).optional(),
        rejection: TokenRejectionSchema.optional(),
      })
      .refine((e) => (e.code === 'token_rejected') === (e.rejection !== undefined), {
        message: 'rejection is given exactly when code is token_rejected',
        path: ['rejection'],
      }),
    result: DetailsSchema.optional(),
  }),
]);
export type Ack = z.infer<typeof AckSchema>;
