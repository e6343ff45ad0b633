/** Rasid's durable ingest: readings, events and status from the broker hook into the store. */
export * from './batcher.ts';
export * from './ingest.ts';
export * from './metrics.ts';
export * from './rows.ts';
export * from './sql.ts';
export * from './store.ts';
export * from './writer.ts';
