/**
 * Creating a tariff version for the API: {@link createTariffVersion} in its own transaction, with its
 * refusals as Rasid's coded errors (`tariff_invalid` with every issue, `validation_failed` for a kind that
 * does not match the code's, `conflict` for an effective date before the latest version's).
 */
import { RasidError } from '../errors.ts';
import type { Queryable } from '../store/ledger.ts';
import type { Tariff } from '../store/schema.ts';
import { TariffError } from './model.ts';
import { createTariffVersion, type NewVersion, VersionError } from './versions.ts';

/** Writes the next version of a tariff code (version 1 for a new code) with its audit row; returns it. */
export async function createTariff(db: Queryable, v: NewVersion): Promise<Tariff> {
  return db.transaction().execute(async (trx) => {
    try {
      return await createTariffVersion(trx, v);
    } catch (err) {
      if (err instanceof TariffError) {
        throw new RasidError('tariff_invalid', err.message, { issues: err.issues });
      }
      if (err instanceof VersionError) {
        throw new RasidError(err.code === 'kind_mismatch' ? 'validation_failed' : 'conflict', err.message);
      }
      throw err;
    }
  });
}
