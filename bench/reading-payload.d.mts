/** The reading every simulated meter of the ingest benchmark sends (see reading-payload.mjs). */
export function readingPayload(seq: number, ts: number): Buffer;
