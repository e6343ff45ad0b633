/**
 * The protocols a meter speaks to Rasid: the one list that the store's type, the API's and the import's
 * schemas, the gateway's driver table and the simulator's faces follow (docs/architecture.md, "Adding a meter
 * protocol"). A meter on `broker` talks MQTT to Rasid's broker itself; a meter on `gateway` is read and
 * commanded by `rasid gateway`, which needs a driver for it (gateway/gateway.ts `DRIVERS`).
 */
export const METER_PROTOCOLS = {
  mqtt: { reachedBy: 'broker' },
  dlms: { reachedBy: 'gateway' },
  modbus: { reachedBy: 'gateway' },
} as const satisfies Record<string, { readonly reachedBy: 'broker' | 'gateway' }>;

export type MeterProtocol = keyof typeof METER_PROTOCOLS;

/** The protocols a gateway serves: each needs a driver. */
export type GatewayProtocol = {
  [P in MeterProtocol]: (typeof METER_PROTOCOLS)[P]['reachedBy'] extends 'gateway' ? P : never;
}[MeterProtocol];

/** Every protocol's name, for schemas (`z.enum(METER_PROTOCOL_NAMES)`). */
export const METER_PROTOCOL_NAMES = Object.keys(METER_PROTOCOLS) as [MeterProtocol, ...MeterProtocol[]];
