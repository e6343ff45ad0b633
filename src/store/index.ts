export { createDatabase, type DatabaseOptions, openPglite, type Store, type StoreDialect } from './db.ts';
export {
  createKeyStore,
  type KeyStore,
  KeyStoreError,
  SecretKey,
  type VendingKey,
  type VendingKeyInput,
} from './keystore.ts';
export { accountBalance, type Queryable, vendorFloat } from './ledger.ts';
export {
  appliedMigrations,
  FolderMigrationProvider,
  listMigrationFiles,
  MIGRATIONS_DIR,
  type MigrationOutcome,
  migrateToLatest,
  migrationsFingerprint,
  storeFeatures,
} from './migrate.ts';
export * from './schema.ts';
