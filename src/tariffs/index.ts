/**
 * Rasid's tariffs (docs/tariffs.md): what a version is and its one validator (model.ts), the one price
 * function for the vend quote and central-mode consumption (price.ts), and the one tariff-in-force rule
 * shared with SQL (in-force.ts, migration 0018).
 */
export * from './in-force.ts';
export * from './model.ts';
export * from './price.ts';
export * from './versions.ts';
