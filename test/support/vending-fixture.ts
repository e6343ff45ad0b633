/**
 * A vending world on a fresh store: one JOD utility (exponent 3, Friday/Saturday weekend), a token-mode STS
 * meter on base date 2014 whose vending key is in the key store, a standard and a subsidised two-block
 * tariff, and a vendor with a float. Returns the parts tests assert on.
 */
import { randomBytes } from 'node:crypto';
import { deriveDecoderKey, meterPanFromParts, StsKey } from '../../protocols/sts/index.ts';
import type { Store } from '../../src/store/db.ts';
import { createKeyStore, type KeyStore } from '../../src/store/keystore.ts';
import { jsonText, minorUnits, type TariffBlock, type UtilityId } from '../../src/store/schema.ts';
import { VendingService } from '../../src/vending/service.ts';
import { TokenEngine } from '../../src/vending/tokens.ts';
import { type Seed, seedBasics } from './db.ts';

export const VENDING_KEY_HEX = 'abababababababab';
export const METER_DRN = '01234567890';

export interface VendingWorld extends Seed {
  readonly keys: KeyStore;
  readonly service: VendingService;
  readonly masterKey: Buffer;
  /** The meter's decoder key computed independently of Rasid's vending code. */
  readonly decoderKey: StsKey;
  /** Advances the injected clock. */
  setNow(at: Date): void;
}

export const STANDARD_BLOCKS: TariffBlock[] = [
  { upToUnits: 160_000, priceMinorPerUnit: 33 },
  { upToUnits: null, priceMinorPerUnit: 72 },
];

export async function tariff(
  db: Store['db'],
  utilityId: UtilityId,
  opts: {
    code?: string;
    subsidised?: boolean;
    blocks?: TariffBlock[];
    taxBp?: number;
    debtBp?: number;
    fixed?: bigint;
  } = {},
): Promise<void> {
  await db
    .insertInto('tariffs')
    .values({
      utility_id: utilityId,
      code: opts.code ?? 'RES',
      name: opts.subsidised ? 'Residential (subsidised)' : 'Residential',
      kind: 'electricity',
      subsidised: opts.subsidised ?? false,
      version: 1,
      effective_from: new Date('2020-01-01T00:00:00Z'),
      currency: 'JOD',
      fixed_monthly_minor: minorUnits(opts.fixed ?? 500n),
      tax_rate_bp: opts.taxBp ?? 1600,
      debt_recovery_bp: opts.debtBp ?? 2000,
      min_purchase_minor: minorUnits(1000n),
      unit: 'Wh',
      price_per_units: 1000,
      blocks: jsonText(opts.blocks ?? STANDARD_BLOCKS),
      tou: null,
    })
    .execute();
}

/**
 * Seeds the vending data (utility, customer, account with 3.000 JOD of debt, STS meter on base 2014 with its
 * vending key in `keys`, the standard tariff, vendor with 20.000 JOD of float) into a migrated database.
 */
export async function seedVending(db: Store['db'], keys: KeyStore, code = 'jo'): Promise<Seed> {
  const store = { db };
  const seed = await seedBasics(store.db, code);
  const keyId = await keys.put({
    utilityId: seed.utilityId,
    sgc: 123456,
    krn: 1,
    key: Buffer.from(VENDING_KEY_HEX, 'hex'),
    label: 'test VUDK',
  });
  await store.db
    .updateTable('meters')
    .set({ sts_base_date: '2014-01-01', vending_key_id: keyId, sts_drn: METER_DRN })
    .where('id', '=', seed.meterId)
    .execute();
  // The seeded account is subsidy-eligible; give this world both variants so the subsidised one applies.
  await tariff(store.db, seed.utilityId);
  await store.db
    .updateTable('accounts')
    .set({ debt_minor: minorUnits(3000n) })
    .where('id', '=', seed.accountId)
    .execute();
  await store.db
    .insertInto('vendor_ledger')
    .values({
      utility_id: seed.utilityId,
      vendor_id: seed.vendorId,
      kind: 'float_topup',
      amount_minor: minorUnits(20_000n),
      ref: 'opening float',
    })
    .execute();
  return seed;
}

export async function vendingWorld(
  store: Store,
  opts: { now?: Date; code?: string; random?: () => number } = {},
): Promise<VendingWorld> {
  const masterKey = randomBytes(32);
  const keys = createKeyStore({ db: store.db, masterKey });
  const seed = await seedVending(store.db, keys, opts.code ?? 'jo');
  let now = opts.now ?? new Date('2026-11-10T09:30:00Z');
  const service = new VendingService({
    db: store.db,
    tokens: new TokenEngine({ keys, random: opts.random ?? (() => 7) }),
    now: () => now,
  });
  const decoderKey = deriveDecoderKey(StsKey.fromHex(VENDING_KEY_HEX), {
    pan: meterPanFromParts('600727', METER_DRN),
    keyType: 2,
    supplyGroupCode: '123456',
    tariffIndex: 1,
    keyRevision: 1,
  });
  return {
    ...seed,
    keys,
    service,
    masterKey,
    decoderKey,
    setNow(at: Date) {
      now = at;
    },
  };
}
