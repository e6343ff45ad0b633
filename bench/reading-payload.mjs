// The reading every simulated meter of the ingest benchmark sends (the MQTT contract's up/reading, ~120 B).
export function readingPayload(seq, ts) {
  return Buffer.from(
    JSON.stringify({
      v: 1,
      seq,
      ts,
      energyWh: 100_000 + seq,
      powerW: 1200,
      voltageDv: 2301,
      currentMa: 5210,
      creditWh: 50_000,
    }),
  );
}
