/**
 * The parts every Rasid role shares, built in order (docs/style.md practice 9): the store (migrated at start),
 * the key store under the master key, the token engine and vending, and the payment provider.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { HostedPageProvider } from '../payments/hpp.ts';
import type { PaymentProvider } from '../payments/provider.ts';
import { PaymentRegistry } from '../payments/registry.ts';
import { StripeProvider } from '../payments/stripe.ts';
import { LocalStripe } from '../payments/stripe-local.ts';
import { ThawaniProvider } from '../payments/thawani.ts';
import { createDatabase, type Store } from '../store/db.ts';
import { createKeyStore, type KeyStore } from '../store/keystore.ts';
import { migrateToLatest } from '../store/migrate.ts';
import { ManagementTokens } from '../vending/management.ts';
import { VendingService } from '../vending/service.ts';
import { TokenEngine } from '../vending/tokens.ts';

export interface Core {
  readonly config: Config;
  readonly store: Store;
  readonly keys: KeyStore;
  readonly vending: VendingService;
  readonly management: ManagementTokens;
  /** The payment providers configured, by name; each utility uses one (docs/payments.md). */
  readonly payments: PaymentRegistry;
  /** The local Stripe-compatible server when no Stripe key is configured (development and demo only). */
  readonly localStripe: LocalStripe | null;
  close(): Promise<void>;
}

/** The master key from config, or in development one generated once into DATA_DIR (never in production). */
export async function masterKey(config: Config, log: Logger): Promise<Buffer> {
  if (config.vendingMasterKey) return config.vendingMasterKey;
  const file = join(config.dataDir, 'master.key');
  try {
    return Buffer.from((await readFile(file, 'utf8')).trim(), 'hex');
  } catch {
    await mkdir(config.dataDir, { recursive: true });
    const key = randomBytes(32);
    await writeFile(file, key.toString('hex'), { mode: 0o600, flag: 'wx' });
    log.warn({ file }, 'VENDING_MASTER_KEY is not set: generated a development master key');
    return key;
  }
}

export interface CoreOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly now?: () => Date;
}

export async function openCore({ config, log, now }: CoreOptions): Promise<Core> {
  const store = await createDatabase({
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    dataDir: config.dataDir,
    sharedBuffersMb: config.pgliteSharedBuffersMb,
    poolSize: config.dbPoolSize,
    onPoolError: (err) => log.error({ err }, 'database pool error'),
  });
  const migrated = await migrateToLatest(store.db);
  if (migrated.error !== undefined) {
    await store.close();
    throw new Error(
      `migrations failed: ${migrated.error instanceof Error ? migrated.error.message : String(migrated.error)}`,
    );
  }
  log.info(
    { dialect: store.dialect, timescale: store.timescale, applied: migrated.results.length },
    'store ready',
  );
  const keys = createKeyStore({ db: store.db, masterKey: await masterKey(config, log) });
  const tokens = new TokenEngine({ keys });
  const management = new ManagementTokens({ db: store.db, tokens, keys, ...(now ? { now } : {}) });
  const vending = new VendingService({
    db: store.db,
    tokens,
    reversalWindowMs: config.reversalWindowMs,
    ...(now ? { now } : {}),
  });
  let localStripe: LocalStripe | null = null;
  const providers: PaymentProvider[] = [];
  const t = config.thawani;
  if (t.secretKey && t.publishableKey && t.webhookSecret) {
    providers.push(
      new ThawaniProvider({
        secretKey: t.secretKey,
        publishableKey: t.publishableKey,
        webhookSecret: t.webhookSecret,
        apiBase: t.apiBase,
        ...(now ? { now } : {}),
      }),
    );
  }
  const h = config.hpp;
  if (h.paymentUrl && h.merchantId && h.secret) {
    const base = (config.publicUrl ?? `http://${config.host}:${config.port}`).replace(/\/$/, '');
    providers.push(
      new HostedPageProvider({
        paymentUrl: h.paymentUrl,
        merchantId: h.merchantId,
        secret: h.secret,
        callbackUrl: h.callbackUrl ?? `${base}/api/v1/payments/hpp/webhook`,
        ...(now ? { now } : {}),
      }),
    );
  }
  if (config.stripe.secretKey && config.stripe.webhookSecret) {
    providers.unshift(
      new StripeProvider({
        secretKey: config.stripe.secretKey,
        webhookSecret: config.stripe.webhookSecret,
        ...(config.stripe.apiBase ? { apiBase: config.stripe.apiBase } : {}),
      }),
    );
  } else if (config.nodeEnv === 'production') {
    if (providers.length === 0) {
      throw new Error(
        'a payment provider (STRIPE_SECRET_KEY, THAWANI_SECRET_KEY or HPP_PAYMENT_URL) is required in production',
      );
    }
  } else {
    const webhookSecret = `whsec_local_${randomBytes(16).toString('hex')}`;
    localStripe = new LocalStripe({ webhookSecret });
    const apiBase = await localStripe.start();
    providers.unshift(new StripeProvider({ secretKey: 'sk_test_local', webhookSecret, apiBase }));
    log.warn({ apiBase }, 'STRIPE_SECRET_KEY is not set: online payments use the local test payment server');
  }
  const payments = new PaymentRegistry(providers, config.paymentProvider);
  log.info({ providers: payments.names(), default: payments.defaultName }, 'payment providers');
  return {
    config,
    store,
    keys,
    vending,
    management,
    payments,
    localStripe,
    async close() {
      await localStripe?.stop();
      await store.close();
    },
  };
}
