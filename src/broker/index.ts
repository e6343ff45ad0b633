/** Rasid's embedded MQTT broker: aedes with per-meter credentials, topic ACLs and the ingest hook. */
export * from './acl.ts';
export * from './broker.ts';
export * from './credentials.ts';
export * from './emitter.ts';

export * from './store-credentials.ts';
