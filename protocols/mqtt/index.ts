/** Rasid's MQTT contract: topics, ACL predicates, payload schemas and the message codec. */
export * from './contract.ts';
export * from './schemas.ts';
export * from './topics.ts';
