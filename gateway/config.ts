/**
 * The gateway's configuration: one JSON file, parsed once at the edge by {@link loadConfig}. The types are
 * `z.infer` of the schema; the result is deep-frozen and carries each meter's resolved profile.
 *
 * Secrets (broker password, LLS password, HLS keys) are either given inline or as `{ "env": "NAME" }`,
 * read from the environment passed to `loadConfig`.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { isDeviceId, isUtilityCode } from '../protocols/mqtt/index.ts';
import { GatewayConfigError } from './errors.ts';
import {
  CREDIT_FIELDS,
  type CreditField,
  type DlmsProfile,
  DlmsProfileSchema,
  dlmsPrepaidProfile,
  METER_KINDS,
  type ModbusProfile,
  ModbusProfileSchema,
  rasidModbusProfile,
} from './profiles.ts';

/** A secret given inline or named by an environment variable. */
const SecretSchema = z.union([
  z.string().min(1),
  z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/) }),
]);
type Secret = z.infer<typeof SecretSchema>;

const hex = (bytes: number, what: string) =>
  z
    .string()
    .regex(
      new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`),
      `${what} is ${bytes} bytes written as ${bytes * 2} hex digits`,
    );

const HostSchema = z.string().min(1).max(253);
const PortSchema = z.number().int().min(1).max(65535);

const TcpConnectionSchema = z.object({
  type: z.literal('tcp'),
  host: HostSchema,
  /** TCP port; Modbus TCP's is 502, the DLMS wrapper's 4059. */
  port: PortSchema,
});

/** Modbus RTU on a serial port (modbus-serial's buffered RTU port; needs the optional `serialport`). */
const SerialConnectionSchema = z.object({
  type: z.literal('serial'),
  path: z.string().min(1),
  baudRate: z.number().int().positive().default(9600),
  parity: z.enum(['none', 'even', 'odd']).default('none'),
  dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
  stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
});

/** Per-meter timing; each falls back to the gateway-wide `polling` value. */
const TimingSchema = {
  /** Seconds between two readings of this meter. */
  pollIntervalS: z.number().positive().max(86_400).optional(),
  /** Milliseconds one operation (connect, read, command) may take before it counts as failed. */
  timeoutMs: z.number().int().positive().max(600_000).optional(),
};

const MeterBaseSchema = {
  id: z
    .string()
    .refine(isDeviceId, 'a meter id is 1-64 of A-Z a-z 0-9 . - _, starting with a letter or digit'),
  kind: z.enum(METER_KINDS).default('electricity'),
  ...TimingSchema,
};

const ModbusMeterSchema = z.object({
  ...MeterBaseSchema,
  protocol: z.literal('modbus'),
  connection: z.discriminatedUnion('type', [TcpConnectionSchema, SerialConnectionSchema]),
  /** Modbus unit id (slave address). */
  unitId: z.number().int().min(0).max(255).default(1),
  profile: z.union([z.literal('rasid-modbus'), ModbusProfileSchema]).default('rasid-modbus'),
});

const DlmsSecuritySchema = z.discriminatedUnion('mechanism', [
  z.object({ mechanism: z.literal('none') }),
  z.object({ mechanism: z.literal('lls'), password: SecretSchema }),
  z.object({
    mechanism: z.literal('hls-gmac'),
    /** AES-128 authentication key (AK). */
    authenticationKey: SecretSchema,
    /** AES-128 global unicast encryption key (GUEK). */
    encryptionKey: SecretSchema,
    /** The gateway's (client's) system title, 8 bytes. */
    systemTitle: hex(8, 'systemTitle'),
  }),
]);

const DlmsTransportSchema = z.discriminatedUnion('framing', [
  z.object({
    framing: z.literal('wrapper'),
    /** Client wPort (the client SAP); default by security: 16 none, 17 LLS, 1 HLS-GMAC. */
    clientWPort: z.number().int().min(0).max(65535).optional(),
    /** Server wPort (the logical device): 1 management logical device. */
    serverWPort: z.number().int().min(0).max(65535).default(1),
  }),
  z.object({
    framing: z.literal('hdlc'),
    /** Client HDLC address (the client SAP); default by security: 16 none, 17 LLS, 1 HLS-GMAC. */
    clientAddress: z.number().int().min(0).max(127).optional(),
    serverLogical: z.number().int().min(0).max(16383).default(1),
    serverPhysical: z.number().int().min(0).max(16383).optional(),
  }),
]);

const DlmsMeterSchema = z.object({
  ...MeterBaseSchema,
  protocol: z.literal('dlms'),
  connection: TcpConnectionSchema,
  transport: DlmsTransportSchema.default({ framing: 'wrapper', serverWPort: 1 }),
  security: DlmsSecuritySchema.default({ mechanism: 'none' }),
  /** The reading field the meter's credit goes to (the built-in profile's credit object). */
  creditField: z.enum(CREDIT_FIELDS).default('creditWh'),
  profile: z.union([z.literal('dlms-prepaid'), DlmsProfileSchema]).default('dlms-prepaid'),
});

/** One meter of the configuration: also what Rasid's gateway route hands a gateway (src/api/routes/gateways.ts). */
export const MeterSchema = z.discriminatedUnion('protocol', [ModbusMeterSchema, DlmsMeterSchema]);

export const GatewayConfigSchema = z
  .object({
    /** The gateway's id: its MQTT client id and the segment of its status topic. */
    gatewayId: z
      .string()
      .refine(isDeviceId, 'a gateway id is 1-64 of A-Z a-z 0-9 . - _, starting with a letter or digit'),
    /** The utility code of the topic root `rasid/v1/<utility>/`. */
    utility: z.string().refine(isUtilityCode, 'a utility code is 1-32 of a-z 0-9 - _'),
    broker: z.object({
      /** mqtt://host:1883 or mqtts://host:8883. */
      url: z.string().regex(/^(mqtts?|wss?|tcp|ssl):\/\//, 'a broker url starts with mqtt:// or mqtts://'),
      username: z.string().min(1).optional(),
      password: SecretSchema.optional(),
      /** Seconds between keep-alive pings (docs/mqtt.md asks for 60 to 300). */
      keepaliveS: z.number().int().min(10).max(65535).default(120),
      /** Milliseconds between reconnection attempts to the broker. */
      reconnectMs: z.number().int().positive().default(2000),
      /** Keep the session (and the commands queued in it) across reconnections. */
      persistentSession: z.boolean().default(true),
    }),
    polling: z
      .object({
        /** Seconds between two readings of a meter (15 minutes is usual). */
        intervalS: z.number().positive().max(86_400).default(900),
        /** Each wait is the interval times a random factor in [1 − jitter, 1 + jitter]. */
        jitter: z.number().min(0).max(0.5).default(0.1),
        /** At most this many meters are being read at the same time. */
        concurrency: z.number().int().min(1).max(1024).default(16),
        /** Milliseconds one operation may take. */
        timeoutMs: z.number().int().positive().max(600_000).default(10_000),
        /** First wait after a failure, in milliseconds; it doubles after each failure in a row. */
        backoffInitialMs: z.number().int().positive().default(1000),
        /** Longest wait between attempts at a failing meter, in milliseconds. */
        backoffMaxMs: z.number().int().positive().default(300_000),
        /**
         * Seconds between two link checks of a meter between polls (a cheap read, or a reconnection when
         * it is offline), so that its online status is never older than this (docs/gateway.md).
         */
        linkCheckS: z.number().positive().max(3600).default(60),
      })
      .default({
        intervalS: 900,
        jitter: 0.1,
        concurrency: 16,
        timeoutMs: 10_000,
        backoffInitialMs: 1000,
        backoffMaxMs: 300_000,
        linkCheckS: 60,
      }),
    /** Command ids remembered per gateway so that a repeated command is not done twice. */
    commandMemory: z.number().int().min(16).max(1_000_000).default(4096),
    /** Prometheus metrics endpoint (GET /metrics); absent: no listener. */
    metrics: z
      .object({ host: HostSchema.default('127.0.0.1'), port: z.number().int().min(0).max(65535) })
      .optional(),
    meters: z.array(MeterSchema),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.meters.forEach((meter, i) => {
      if (seen.has(meter.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['meters', i, 'id'],
          message: `meter ${meter.id} is listed twice`,
        });
      }
      seen.add(meter.id);
    });
    if (config.polling.backoffMaxMs < config.polling.backoffInitialMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['polling', 'backoffMaxMs'],
        message: 'backoffMaxMs must be at least backoffInitialMs',
      });
    }
  });

type RawConfig = z.infer<typeof GatewayConfigSchema>;
type RawMeter = RawConfig['meters'][number];

/** What the drivers need to reach one meter, with secrets resolved and the profile expanded. */
export type ModbusMeterConfig = Omit<
  Extract<RawMeter, { protocol: 'modbus' }>,
  'profile' | 'pollIntervalS' | 'timeoutMs'
> & {
  readonly profile: ModbusProfile;
  readonly pollIntervalS: number;
  readonly timeoutMs: number;
};

export type DlmsSecurity =
  | { readonly mechanism: 'none' }
  | { readonly mechanism: 'lls'; readonly password: string }
  | {
      readonly mechanism: 'hls-gmac';
      readonly authenticationKey: Buffer;
      readonly encryptionKey: Buffer;
      readonly systemTitle: Buffer;
    };

export type DlmsMeterConfig = Omit<
  Extract<RawMeter, { protocol: 'dlms' }>,
  'profile' | 'security' | 'pollIntervalS' | 'timeoutMs'
> & {
  readonly profile: DlmsProfile;
  readonly security: DlmsSecurity;
  readonly pollIntervalS: number;
  readonly timeoutMs: number;
};

export type MeterConfig = ModbusMeterConfig | DlmsMeterConfig;

export type GatewayConfig = Omit<RawConfig, 'meters' | 'broker'> & {
  readonly broker: Omit<RawConfig['broker'], 'password'> & { readonly password?: string };
  readonly meters: readonly MeterConfig[];
};

export type Environment = Readonly<Record<string, string | undefined>>;

function resolveSecret(secret: Secret, where: string, env: Environment): string {
  if (typeof secret === 'string') return secret;
  const value = env[secret.env];
  if (value === undefined || value === '') {
    throw new GatewayConfigError(`${where}: environment variable ${secret.env} is not set`);
  }
  return value;
}

function key(secret: Secret, where: string, env: Environment): Buffer {
  const text = resolveSecret(secret, where, env);
  if (!/^[0-9a-fA-F]{32}$/.test(text))
    throw new GatewayConfigError(`${where}: an AES-128 key is 32 hex digits`);
  return Buffer.from(text, 'hex');
}

function resolveMeter(meter: RawMeter, i: number, raw: RawConfig, env: Environment): MeterConfig {
  const timing = {
    pollIntervalS: meter.pollIntervalS ?? raw.polling.intervalS,
    timeoutMs: meter.timeoutMs ?? raw.polling.timeoutMs,
  };
  if (meter.protocol === 'modbus') {
    const profile = meter.profile === 'rasid-modbus' ? rasidModbusProfile(meter.kind) : meter.profile;
    return { ...meter, ...timing, profile };
  }
  const where = `meters.${i}.security`;
  const s = meter.security;
  const security: DlmsSecurity =
    s.mechanism === 'none'
      ? s
      : s.mechanism === 'lls'
        ? { mechanism: 'lls', password: resolveSecret(s.password, `${where}.password`, env) }
        : {
            mechanism: 'hls-gmac',
            authenticationKey: key(s.authenticationKey, `${where}.authenticationKey`, env),
            encryptionKey: key(s.encryptionKey, `${where}.encryptionKey`, env),
            systemTitle: Buffer.from(s.systemTitle, 'hex'),
          };
  const profile =
    meter.profile === 'dlms-prepaid'
      ? dlmsPrepaidProfile(meter.kind, meter.creditField as CreditField)
      : meter.profile;
  return { ...meter, ...timing, security, profile };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * Validates a configuration object (as parsed from JSON) and resolves its secrets and profiles. Throws a
 * `ZodError` for a shape that is wrong and a {@link GatewayConfigError} for a secret that is missing or
 * an empty meter list (unless `allowNoMeters`).
 */
export function loadConfig(
  source: unknown,
  env: Environment = {},
  options: { readonly allowNoMeters?: boolean } = {},
): GatewayConfig {
  const raw = GatewayConfigSchema.parse(source);
  // A file lists its meters; a gateway whose meters come from Rasid may have none yet.
  if (raw.meters.length === 0 && !options.allowNoMeters) {
    throw new GatewayConfigError('meters: list at least one meter');
  }
  const { password, ...broker } = raw.broker;
  const config: GatewayConfig = {
    ...raw,
    broker: {
      ...broker,
      ...(password === undefined ? {} : { password: resolveSecret(password, 'broker.password', env) }),
    },
    meters: raw.meters.map((meter, i) => resolveMeter(meter, i, raw, env)),
  };
  return deepFreeze(config);
}

/** Reads and validates a JSON configuration file. */
export async function loadConfigFile(path: string, env: Environment = {}): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new GatewayConfigError(
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new GatewayConfigError(`${path} is not JSON: ${(err as Error).message}`);
  }
  return loadConfig(json, env);
}
