/**
 * Topic ACLs per role, from the MQTT contract's predicates (protocols/mqtt/topics.ts). Pure functions:
 * the broker's hooks call them.
 */
import {
  gatewayMayPublish,
  gatewayMaySetWill,
  gatewayMaySubscribe,
  meterMayPublish,
  meterMaySetWill,
  meterMaySubscribe,
} from '../../protocols/mqtt/index.ts';
import type { Principal } from './credentials.ts';

/** `$SYS/...` belongs to the broker itself; nobody publishes there. */
const SYS_PREFIX = '$SYS/';

export function mayPublish(principal: Principal, topic: string): boolean {
  if (topic.startsWith(SYS_PREFIX)) return false;
  switch (principal.role) {
    case 'meter':
      return meterMayPublish(principal.root, topic);
    case 'gateway':
      return gatewayMayPublish(principal.root, topic, principal.serves);
    case 'service':
      return true;
  }
}

export function maySubscribe(principal: Principal, filter: string): boolean {
  switch (principal.role) {
    case 'meter':
      return meterMaySubscribe(principal.root, filter);
    case 'gateway':
      return gatewayMaySubscribe(principal.root, filter, principal.serves);
    case 'service':
      return true;
  }
}

/** The last will set in CONNECT: a meter's or gateway's own status topic only. */
export function maySetWill(principal: Principal, topic: string): boolean {
  switch (principal.role) {
    case 'meter':
      return meterMaySetWill(principal.root, topic);
    case 'gateway':
      return gatewayMaySetWill(principal.root, topic);
    case 'service':
      return !topic.startsWith(SYS_PREFIX);
  }
}
