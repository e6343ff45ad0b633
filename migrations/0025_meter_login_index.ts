import { type Kysely, sql } from 'kysely';

/**
 * A meter logs in to the broker with its serial when it has no `mqtt_username` (src/broker/store-credentials.ts):
 * without an index on the serial alone (the unique key is (utility_id, serial)) each look-up and each move of
 * its secret to the keyed hash read every meter, and a connect storm of 10,000 meters read the table 20,000 times.
 */
const UP: readonly string[] = [
  'create index meters_serial_login on meters (serial) where mqtt_username is null',
];

const DOWN: readonly string[] = ['drop index if exists meters_serial_login'];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of DOWN) await sql.raw(statement).execute(db);
}
