/**
 * Rasid's MQTT topic scheme: builders, a strict parser, shared-subscription filters for workers and the
 * ACL predicates the broker applies to meters and gateways.
 *
 *   rasid/v1/<utility>/meters/<meterId>/up/reading    meter → Rasid, QoS 1
 *   rasid/v1/<utility>/meters/<meterId>/up/event      meter → Rasid, QoS 1
 *   rasid/v1/<utility>/meters/<meterId>/up/ack        meter → Rasid, QoS 1
 *   rasid/v1/<utility>/meters/<meterId>/up/status     meter → Rasid, QoS 1, retained, also the last will
 *   rasid/v1/<utility>/meters/<meterId>/down/cmd      Rasid → meter, QoS 1
 *   rasid/v1/<utility>/gateways/<gatewayId>/status    gateway → Rasid, QoS 1, retained, also the last will
 *
 * Pure functions only: no broker, no I/O.
 */

/** First segment of every Rasid topic. */
export const TOPIC_PREFIX = 'rasid';
/** Contract version segment; a breaking change to any payload gets a new one. */
export const CONTRACT_VERSION = 'v1';

/** The channels under one meter's subtree, in the order they appear in the docs. */
export const METER_CHANNELS = ['up/reading', 'up/event', 'up/ack', 'up/status', 'down/cmd'] as const;
export type MeterChannel = (typeof METER_CHANNELS)[number];
/** The channels a meter publishes on. */
export type UpChannel = Extract<MeterChannel, `up/${string}`>;
export const UP_CHANNELS: readonly UpChannel[] = Object.freeze([
  'up/reading',
  'up/event',
  'up/ack',
  'up/status',
]);

/** Utility code: lower-case letters, digits, `-` and `_`, starting with a letter or digit, 1-32 chars. */
export const UTILITY_CODE_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/**
 * Meter id (and gateway id) as it appears in a topic: ASCII letters, digits, `.`, `-` and `_`, starting
 * with a letter or digit, 1-64 chars. No `/`, `+`, `#`, `$`, spaces or control characters can get in.
 */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Raised by the topic builders when given a segment outside the safe charset. */
export class MqttTopicError extends Error {
  override readonly name = 'MqttTopicError';
}

export function isUtilityCode(value: string): boolean {
  return UTILITY_CODE_PATTERN.test(value);
}

export function isDeviceId(value: string): boolean {
  return DEVICE_ID_PATTERN.test(value);
}

function checkUtility(utility: string): void {
  if (!isUtilityCode(utility)) {
    throw new MqttTopicError(`utility code ${JSON.stringify(utility)} is not allowed in a topic`);
  }
}

function checkDevice(kind: 'meter' | 'gateway', id: string): void {
  if (!isDeviceId(id)) throw new MqttTopicError(`${kind} id ${JSON.stringify(id)} is not allowed in a topic`);
}

declare const meterRootBrand: unique symbol;
/** `rasid/v1/<utility>/meters/<meterId>` — produced only by {@link meterTopicRoot}. */
export type MeterTopicRoot = string & { readonly [meterRootBrand]: true };

declare const gatewayRootBrand: unique symbol;
/** `rasid/v1/<utility>/gateways/<gatewayId>` — produced only by {@link gatewayTopicRoot}. */
export type GatewayTopicRoot = string & { readonly [gatewayRootBrand]: true };

/** The subtree one meter owns (no trailing slash). Throws {@link MqttTopicError} on an unsafe segment. */
export function meterTopicRoot(utility: string, meterId: string): MeterTopicRoot {
  checkUtility(utility);
  checkDevice('meter', meterId);
  return `${TOPIC_PREFIX}/${CONTRACT_VERSION}/${utility}/meters/${meterId}` as MeterTopicRoot;
}

/** One meter topic, e.g. `meterTopic('dewa', 'SN1001', 'up/reading')`. */
export function meterTopic(utility: string, meterId: string, channel: MeterChannel): string {
  return `${meterTopicRoot(utility, meterId)}/${channel}`;
}

export function gatewayTopicRoot(utility: string, gatewayId: string): GatewayTopicRoot {
  checkUtility(utility);
  checkDevice('gateway', gatewayId);
  return `${TOPIC_PREFIX}/${CONTRACT_VERSION}/${utility}/gateways/${gatewayId}` as GatewayTopicRoot;
}

/** A gateway's retained status (and last will) topic. */
export function gatewayStatusTopic(utility: string, gatewayId: string): string {
  return `${gatewayTopicRoot(utility, gatewayId)}/status`;
}

export interface MeterTopic {
  utility: string;
  meterId: string;
  channel: MeterChannel;
}

export interface GatewayTopic {
  utility: string;
  gatewayId: string;
}

const CHANNEL_SET: ReadonlySet<string> = new Set(METER_CHANNELS);

function isMeterChannel(value: string): value is MeterChannel {
  return CHANNEL_SET.has(value);
}

/**
 * Parses a concrete meter topic. Returns null for anything that is not exactly
 * `rasid/v1/<utility>/meters/<meterId>/<up|down>/<name>` with safe segments and a known channel
 * (so wildcards, empty levels, extra levels and other versions are all refused).
 */
export function parseTopic(topic: string): MeterTopic | null {
  const parts = topic.split('/');
  if (parts.length !== 7) return null;
  const [prefix, version, utility, meters, meterId, direction, name] = parts;
  if (prefix !== TOPIC_PREFIX || version !== CONTRACT_VERSION || meters !== 'meters') return null;
  if (utility === undefined || !isUtilityCode(utility)) return null;
  if (meterId === undefined || !isDeviceId(meterId)) return null;
  const channel = `${direction}/${name}`;
  if (!isMeterChannel(channel)) return null;
  return { utility, meterId, channel };
}

/** Parses `rasid/v1/<utility>/gateways/<gatewayId>/status`; null for anything else. */
export function parseGatewayTopic(topic: string): GatewayTopic | null {
  const parts = topic.split('/');
  if (parts.length !== 6) return null;
  const [prefix, version, utility, gateways, gatewayId, name] = parts;
  if (
    prefix !== TOPIC_PREFIX ||
    version !== CONTRACT_VERSION ||
    gateways !== 'gateways' ||
    name !== 'status'
  ) {
    return null;
  }
  if (utility === undefined || !isUtilityCode(utility)) return null;
  if (gatewayId === undefined || !isDeviceId(gatewayId)) return null;
  return { utility, gatewayId };
}

// ---- subscriptions for Rasid's own workers ----

/** Shared-subscription group of the ingest workers. */
export const INGEST_SHARE_GROUP = 'rasid-ingest';

/** Filter for one channel of every meter (of one utility, or of all with `'+'`). */
export function meterChannelFilter(channel: MeterChannel, utility = '+'): string {
  if (utility !== '+') checkUtility(utility);
  return `${TOPIC_PREFIX}/${CONTRACT_VERSION}/${utility}/meters/+/${channel}`;
}

/** Filter for every gateway's status (of one utility, or of all with `'+'`). */
export function gatewayStatusFilter(utility = '+'): string {
  if (utility !== '+') checkUtility(utility);
  return `${TOPIC_PREFIX}/${CONTRACT_VERSION}/${utility}/gateways/+/status`;
}

/** `$share/<group>/<filter>`: a shared subscription (MQTT 5 §4.8.2). */
export function sharedFilter(group: string, filter: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(group))
    throw new MqttTopicError(`share group ${JSON.stringify(group)} is not allowed`);
  return `$share/${group}/${filter}`;
}

/**
 * The filters an ingest worker subscribes to, each shared in {@link INGEST_SHARE_GROUP} so that several
 * workers split the load: `$share/rasid-ingest/rasid/v1/+/meters/+/up/reading` and its siblings.
 * Retained status messages are not delivered on a new shared subscription (MQTT 5 shared subscriptions), so a worker that
 * needs the current online/offline picture reads it from the store, not from the broker's retained set.
 */
export function ingestFilters(utility = '+', group = INGEST_SHARE_GROUP): readonly string[] {
  return Object.freeze([
    ...UP_CHANNELS.map((channel) => sharedFilter(group, meterChannelFilter(channel, utility))),
    sharedFilter(group, gatewayStatusFilter(utility)),
  ]);
}

/**
 * MQTT topic matching (MQTT 3.1.1 §4.7): `+` matches one level, a trailing `#` the rest (including the
 * parent level itself); filters starting with a wildcard never match topics starting with `$`. A
 * `$share/<group>/` prefix is removed before matching.
 */
export function topicMatchesFilter(filter: string, topic: string): boolean {
  let f = filter;
  if (f.startsWith('$share/')) {
    const rest = f.indexOf('/', '$share/'.length);
    if (rest < 0) return false;
    f = f.slice(rest + 1);
  }
  const fl = f.split('/');
  const tl = topic.split('/');
  if (topic.startsWith('$') && (fl[0] === '+' || fl[0] === '#')) return false;
  for (let i = 0; i < fl.length; i++) {
    const level = fl[i];
    if (level === '#') return i === fl.length - 1;
    if (i >= tl.length) return false;
    if (level !== '+' && level !== tl[i]) return false;
  }
  return fl.length === tl.length;
}

// ---- ACL predicates (the broker's authorizePublish / authorizeSubscribe call these) ----

function hasWildcard(topic: string): boolean {
  return topic.includes('+') || topic.includes('#');
}

/** A meter may publish only its four `up/*` channels, under its own root, with no wildcards. */
export function meterMayPublish(root: MeterTopicRoot, topic: string): boolean {
  if (hasWildcard(topic) || !topic.startsWith(`${root}/`)) return false;
  const channel = topic.slice(root.length + 1);
  return (UP_CHANNELS as readonly string[]).includes(channel);
}

/** A meter may subscribe only to its own `down/cmd`, exactly (no wildcard, no shared subscription). */
export function meterMaySubscribe(root: MeterTopicRoot, filter: string): boolean {
  return filter === `${root}/down/cmd`;
}

/** The last will a meter sets in CONNECT must be its own `up/status` (retained, `offline`). */
export function meterMaySetWill(root: MeterTopicRoot, topic: string): boolean {
  return topic === `${root}/up/status`;
}

/** Answers whether a gateway serves a given meter (from the store or the gateway's commissioning). */
export type ServesMeter = (utility: string, meterId: string) => boolean;

/**
 * A gateway publishes its own status, and the `up/*` channels of the meters it serves, in its own utility.
 */
export function gatewayMayPublish(root: GatewayTopicRoot, topic: string, serves: ServesMeter): boolean {
  if (topic === `${root}/status`) return true;
  const parsed = parseTopic(topic);
  if (parsed === null || !parsed.channel.startsWith('up/')) return false;
  return (
    root.startsWith(`${TOPIC_PREFIX}/${CONTRACT_VERSION}/${parsed.utility}/gateways/`) &&
    serves(parsed.utility, parsed.meterId)
  );
}

/** A gateway subscribes to `down/cmd` of each meter it serves, one exact filter per meter. */
export function gatewayMaySubscribe(root: GatewayTopicRoot, filter: string, serves: ServesMeter): boolean {
  const parsed = parseTopic(filter);
  if (parsed === null || parsed.channel !== 'down/cmd') return false;
  return (
    root.startsWith(`${TOPIC_PREFIX}/${CONTRACT_VERSION}/${parsed.utility}/gateways/`) &&
    serves(parsed.utility, parsed.meterId)
  );
}

/** The last will a gateway sets must be its own status topic. */
export function gatewayMaySetWill(root: GatewayTopicRoot, topic: string): boolean {
  return topic === `${root}/status`;
}
