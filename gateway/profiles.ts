/**
 * Meter profiles: which registers (Modbus) or COSEM objects (DLMS) give which field of the MQTT contract's
 * reading, and which objects carry the commands. Two are built in:
 *
 * - `rasid-modbus`: Rasid's register map (docs/modbus-map.md), the reading block read in one FC 04 request.
 * - `dlms-prepaid`: a standard DLMS prepaid meter (energy 1.0.1.8.0.255, power 1.0.1.7.0.255, voltage
 *   1.0.32.7.0.255, credit class 112 at 0.0.19.10.0.255, disconnect control 0.0.96.3.10.255, token gateway
 *   0.0.19.40.0.255, clock 0.0.1.0.0.255, load profile 1.0.99.1.0.255 with energy and power columns).
 *
 * A configuration may give its own profile object instead of a name; the schemas below check it.
 */
import { z } from 'zod';
import { obis } from '../protocols/dlms/index.ts';
import { REGISTER_NAMES, REGISTERS, type RegisterName } from '../protocols/modbus/index.ts';

export const METER_KINDS = ['electricity', 'water'] as const;
export type GatewayMeterKind = (typeof METER_KINDS)[number];

/** The reading's credit fields, one per unit a meter may keep credit in. */
export const CREDIT_FIELDS = ['creditMinor', 'creditWh', 'creditL'] as const;
export type CreditField = (typeof CREDIT_FIELDS)[number];

// ---- Modbus ----

const RegisterNameSchema = z.enum(REGISTER_NAMES as [RegisterName, ...RegisterName[]]);

/** Reading fields a Modbus profile can fill, each from one register of Rasid's map. */
export const MODBUS_READING_FIELDS = [
  'energyWh',
  'volumeL',
  'powerW',
  'voltageDv',
  'currentMa',
  'credit',
  'creditUnit',
  'relay',
  'flags',
  'seq',
  'clock',
] as const;
export type ModbusReadingField = (typeof MODBUS_READING_FIELDS)[number];

export const ModbusProfileSchema = z
  .object({
    protocol: z.literal('modbus'),
    /**
     * Reading field → register name. `credit` goes to the credit field `creditUnit`'s register names (or
     * `fixedCreditField` when the meter has no such register); `seq` is the meter's reading counter (the
     * gateway numbers readings itself without one); `clock` (seconds since the epoch) gives `ts`.
     */
    fields: z.partialRecord(z.enum(MODBUS_READING_FIELDS), RegisterNameSchema),
    fixedCreditField: z.enum(CREDIT_FIELDS).optional(),
    /** Coil that switches the relay or valve (1 connect, 0 disconnect); absent: not supported. */
    relayCoil: RegisterNameSchema.optional(),
    /** Whether the token registers 200..211 of Rasid's map are there. */
    tokens: z.boolean().default(false),
    /** Whether clock_set (holding 212..213) is there. */
    clockSet: z.boolean().default(false),
  })
  .superRefine((profile, ctx) => {
    for (const [field, name] of Object.entries(profile.fields)) {
      const def = REGISTERS[name as RegisterName];
      if (def.access === 'w') {
        ctx.addIssue({ code: 'custom', path: ['fields', field], message: `register ${name} is write-only` });
      }
      if (def.table === 'coil' || def.table === 'discrete') {
        ctx.addIssue({
          code: 'custom',
          path: ['fields', field],
          message: `register ${name} is a bit; a reading field needs input or holding registers`,
        });
      }
    }
    if (profile.relayCoil !== undefined && REGISTERS[profile.relayCoil].table !== 'coil') {
      ctx.addIssue({ code: 'custom', path: ['relayCoil'], message: `${profile.relayCoil} is not a coil` });
    }
    if (profile.fields.energyWh === undefined && profile.fields.volumeL === undefined) {
      ctx.addIssue({ code: 'custom', path: ['fields'], message: 'map energyWh or volumeL' });
    }
  });
export type ModbusProfile = z.infer<typeof ModbusProfileSchema>;

/** Rasid's own map: everything from the reading block, the coil, the token and clock registers. */
export function rasidModbusProfile(kind: GatewayMeterKind): ModbusProfile {
  const measured: ModbusProfile['fields'] =
    kind === 'electricity'
      ? { energyWh: 'energy', powerW: 'power', voltageDv: 'voltage', currentMa: 'current' }
      : { volumeL: 'volume' };
  return {
    protocol: 'modbus',
    fields: {
      ...measured,
      credit: 'credit',
      creditUnit: 'credit_unit',
      relay: 'relay_state',
      flags: 'status',
      seq: 'sequence',
      clock: 'clock',
    },
    relayCoil: 'relay_control',
    tokens: true,
    clockSet: true,
  };
}

// ---- DLMS ----

const ObisSchema = z.string().transform((text, ctx) => {
  try {
    return obis(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** One COSEM attribute: OBIS logical name, interface class and attribute index. */
export const CosemAttributeSchema = z.object({
  obis: ObisSchema,
  /** Interface class; 3 (Register) by default, whose scaler_unit (attribute 3) the gateway applies. */
  classId: z.number().int().min(1).max(65535).default(3),
  attribute: z.number().int().min(1).max(127).default(2),
  /** Extra power of ten applied to the raw value (for Data or Credit objects that carry no scaler). */
  scale: z.number().int().min(-9).max(9).default(0),
});
export type CosemAttribute = z.infer<typeof CosemAttributeSchema>;

/** Reading fields a DLMS profile can fill. */
export const DLMS_READING_FIELDS = [
  'energyWh',
  'volumeL',
  'powerW',
  'voltageDv',
  'currentMa',
  'creditMinor',
  'creditWh',
  'creditL',
  'relay',
  'clock',
] as const;
export type DlmsReadingField = (typeof DLMS_READING_FIELDS)[number];

/**
 * Power of ten from a Register's SI value to the contract field's unit: energy in Wh, power in W, voltage
 * in decivolts (V × 10), current in mA (A × 1000), volume in litres (m³ × 1000).
 */
export const DLMS_FIELD_EXPONENT: Readonly<Partial<Record<DlmsReadingField, number>>> = Object.freeze({
  energyWh: 0,
  powerW: 0,
  voltageDv: 1,
  currentMa: 3,
  volumeL: 3,
});

/** Reading fields a load profile column can give. */
export const LOAD_PROFILE_FIELDS = ['energyWh', 'volumeL', 'powerW'] as const;
export type LoadProfileField = (typeof LOAD_PROFILE_FIELDS)[number];

/**
 * The meter's load profile (Profile generic, class 7): the gateway reads it for the time a meter was out
 * of reach (selective access by time range on its clock column) and publishes the missed intervals as
 * readings with their own timestamps. `columns` names the capture objects that give each reading field;
 * a Register column is scaled by that register's scaler_unit.
 */
export const LoadProfileSchema = z.object({
  obis: ObisSchema,
  columns: z
    .partialRecord(z.enum(LOAD_PROFILE_FIELDS), CosemAttributeSchema)
    .refine((c) => Object.keys(c).length > 0, { message: 'map at least one column' }),
});
export type LoadProfile = z.infer<typeof LoadProfileSchema>;

export const DlmsProfileSchema = z
  .object({
    protocol: z.literal('dlms'),
    fields: z.partialRecord(z.enum(DLMS_READING_FIELDS), CosemAttributeSchema),
    /** Where the missed intervals are read back from after an outage; absent: no backfill. */
    loadProfile: LoadProfileSchema.optional(),
    /** Disconnect control (class 70): methods 1 remote_disconnect and 2 remote_reconnect. */
    disconnectControl: ObisSchema.optional(),
    /** Token gateway (class 115): method 1 enter(token), attribute 6 token_status. */
    tokenGateway: ObisSchema.optional(),
    /** Clock (class 8): time sync is SET attribute 2. */
    clock: ObisSchema.optional(),
  })
  .superRefine((profile, ctx) => {
    if (profile.fields.energyWh === undefined && profile.fields.volumeL === undefined) {
      ctx.addIssue({ code: 'custom', path: ['fields'], message: 'map energyWh or volumeL' });
    }
  });
export type DlmsProfile = z.infer<typeof DlmsProfileSchema>;

const register = (code: string) => ({ obis: obis(code), classId: 3, attribute: 2, scale: 0 });

/** The standard DLMS prepaid profile, with credit in the field the meter keeps it in. */
export function dlmsPrepaidProfile(kind: GatewayMeterKind, creditField: CreditField): DlmsProfile {
  const measured: DlmsProfile['fields'] =
    kind === 'electricity'
      ? {
          energyWh: register('1.0.1.8.0.255'),
          powerW: register('1.0.1.7.0.255'),
          voltageDv: register('1.0.32.7.0.255'),
        }
      : { volumeL: register('8.0.1.0.0.255') };
  return {
    protocol: 'dlms',
    fields: {
      ...measured,
      [creditField]: { obis: obis('0.0.19.10.0.255'), classId: 112, attribute: 2, scale: 0 },
      relay: { obis: obis('0.0.96.3.10.255'), classId: 70, attribute: 2, scale: 0 },
      clock: { obis: obis('0.0.1.0.0.255'), classId: 8, attribute: 2, scale: 0 },
    },
    disconnectControl: obis('0.0.96.3.10.255'),
    tokenGateway: obis('0.0.19.40.0.255'),
    clock: obis('0.0.1.0.0.255'),
    // Load profile 1 (1.0.99.1.0.255): clock, energy import, average power per capture period.
    ...(kind === 'electricity'
      ? {
          loadProfile: {
            obis: obis('1.0.99.1.0.255'),
            columns: { energyWh: register('1.0.1.8.0.255'), powerW: register('1.0.1.7.0.255') },
          },
        }
      : {}),
  };
}

/** Names of the built-in profiles, usable as `profile` in a meter's configuration. */
export const BUILT_IN_PROFILES = Object.freeze({
  'rasid-modbus': 'modbus',
  'dlms-prepaid': 'dlms',
} as const);
export type BuiltInProfileName = keyof typeof BUILT_IN_PROFILES;
