/**
 * The first-run setup code. A fresh install (no utility yet) started with the api role makes a one-time
 * code and prints it once on standard error, beside the address of the first-run screen (as Grafana and
 * Jenkins do); only its SHA-256 is stored (`setup_codes`, migration 0010). The web app's first-run screen
 * sends it with the first utility and admin (POST /api/v1/setup); it is spent on use, and a new start
 * replaces a code that was never used. Once a utility exists, no code is made and the route answers 409.
 */
import { randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import { secretDigest } from '../api/auth.ts';
import type { Database } from '../store/schema.ts';

/** 16 characters from an alphabet without look-alikes, in groups of four: ABCD-EFGH-JKLM-NPQR. */
export function newSetupCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  let out = '';
  for (let i = 0; i < 16; i++) {
    if (i > 0 && i % 4 === 0) out += '-';
    out += alphabet[randomInt(alphabet.length)];
  }
  return out;
}

/** The code as typed: upper case, without spaces or dashes. */
export function normaliseSetupCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '');
}

export async function installIsSetUp(db: Kysely<Database>): Promise<boolean> {
  return (await db.selectFrom('utilities').select('id').limit(1).executeTakeFirst()) !== undefined;
}

/** A new code for an install without a utility (replacing any unspent one); null once one exists. */
export async function issueSetupCode(db: Kysely<Database>): Promise<string | null> {
  if (await installIsSetUp(db)) return null;
  const code = newSetupCode();
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('setup_codes').where('used_at', 'is', null).execute();
    await trx
      .insertInto('setup_codes')
      .values({ code_hash: secretDigest(normaliseSetupCode(code)), used_at: null })
      .execute();
  });
  return code;
}

/** Spends the code if it is the current unspent one; false otherwise (wrong, spent, or none). */
export async function spendSetupCode(db: Kysely<Database>, code: string): Promise<boolean> {
  const spent = await db
    .updateTable('setup_codes')
    .set({ used_at: new Date() })
    .where('code_hash', '=', secretDigest(normaliseSetupCode(code)))
    .where('used_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return spent !== undefined;
}
