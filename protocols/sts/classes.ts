/**
 * Token classes and subclasses as frozen data. IEC 62055-41 token classes (sts.md §2.9); the codec reads
 * this table instead of branching on numbers.
 */

/** How the 44-bit payload of a subclass is laid out. */
export type TokenLayout =
  /** RND (4) ‖ TID (24) ‖ value (16): class 0 and the class 2 register tokens. */
  | 'register'
  /** control (36) ‖ manufacturer code (8): class 1 subclass 0. */
  | 'test-36'
  /** control (28) ‖ manufacturer code (16): class 1 subclass 1. */
  | 'test-28'
  /** KENHO (4) ‖ KRN (4) ‖ RO (1) ‖ reserved (1) ‖ KT (2) ‖ NKHO (32): class 2 subclass 3. */
  | 'key-change-1'
  /** KENLO (4) ‖ TI (8, binary) ‖ NKLO (32): class 2 subclass 4. */
  | 'key-change-2';

/** How a register token's 16-bit value field is encoded. */
export type ValueEncoding =
  /** Exponent/mantissa (sts.md §2.4) of an integer amount. */
  | 'amount'
  /** The 16-bit integer as is. */
  | 'raw';

export interface TokenTypeDefinition {
  readonly tokenClass: 0 | 1 | 2;
  readonly subclass: number;
  readonly layout: TokenLayout;
  /** Class 1 is sent in the clear; classes 0 and 2 are encrypted with the meter's current key. */
  readonly encrypted: boolean;
  /** Register tokens only: encoding of the value field. */
  readonly encoding?: ValueEncoding;
  /** Register tokens only: the value is counted in 1/scale of `unit` (10 for credit in tenths). */
  readonly scale?: 1 | 10;
  /** Register tokens only: unit of the value once divided by `scale`. */
  readonly unit?: string;
  readonly description: string;
}

const credit = (subclass: number, unit: string, description: string): TokenTypeDefinition =>
  Object.freeze({
    tokenClass: 0,
    subclass,
    layout: 'register',
    encrypted: true,
    encoding: 'amount',
    scale: 10,
    unit,
    description,
  });

const management = (
  subclass: number,
  layout: TokenLayout,
  description: string,
  value?: { encoding: ValueEncoding; unit: string },
): TokenTypeDefinition =>
  Object.freeze({
    tokenClass: 2,
    subclass,
    layout,
    encrypted: true,
    ...(value ? { encoding: value.encoding, scale: 1 as const, unit: value.unit } : {}),
    description,
  });

/** Class 0 credit transfer token types. */
export type CreditTokenType =
  | 'electricity-credit'
  | 'water-credit'
  | 'gas-credit'
  | 'time-credit'
  | 'electricity-currency-credit'
  | 'water-currency-credit'
  | 'gas-currency-credit'
  | 'time-currency-credit';
/** Token types with the RND ‖ TID ‖ value layout (credit and the class 2 registers). */
export type RegisterTokenType =
  | CreditTokenType
  | 'max-power-limit'
  | 'clear-credit'
  | 'tariff-rate'
  | 'clear-tamper'
  | 'max-phase-unbalance'
  | 'water-factor';
export type TokenTypeName =
  | RegisterTokenType
  | 'test-display-1'
  | 'test-display-2'
  | 'key-change-1'
  | 'key-change-2';

/** Every token type Rasid encodes and decodes, by name. */
export const TOKEN_TYPES: Readonly<Record<TokenTypeName, TokenTypeDefinition>> = Object.freeze({
  // Class 0: credit transfer, value in tenths of the unit.
  'electricity-credit': credit(0, 'kWh', 'transfer electricity credit'),
  'water-credit': credit(1, 'kL', 'transfer water credit'),
  'gas-credit': credit(2, 'm3', 'transfer gas credit'),
  'time-credit': credit(3, 'time-unit', 'transfer time credit'),
  'electricity-currency-credit': credit(4, 'currency-unit', 'transfer electricity currency credit'),
  'water-currency-credit': credit(5, 'currency-unit', 'transfer water currency credit'),
  'gas-currency-credit': credit(6, 'currency-unit', 'transfer gas currency credit'),
  'time-currency-credit': credit(7, 'currency-unit', 'transfer time currency credit'),
  // Class 1: meter test / display, not encrypted, no TID.
  'test-display-1': Object.freeze({
    tokenClass: 1,
    subclass: 0,
    layout: 'test-36',
    encrypted: false,
    description: 'initiate meter test/display (36-bit control, 8-bit manufacturer code)',
  }),
  'test-display-2': Object.freeze({
    tokenClass: 1,
    subclass: 1,
    layout: 'test-28',
    encrypted: false,
    description: 'initiate meter test/display (28-bit control, 16-bit manufacturer code)',
  }),
  // Class 2: meter management, encrypted with the meter's current decoder key.
  'max-power-limit': management(0, 'register', 'set maximum power limit', { encoding: 'amount', unit: 'W' }),
  'clear-credit': management(1, 'register', 'clear credit (register FFFF = all registers)', {
    encoding: 'raw',
    unit: 'register',
  }),
  'tariff-rate': management(2, 'register', 'set tariff rate', { encoding: 'raw', unit: 'rate' }),
  'key-change-1': management(3, 'key-change-1', 'set decoder key, 1st section'),
  'key-change-2': management(4, 'key-change-2', 'set decoder key, 2nd section'),
  'clear-tamper': management(5, 'register', 'clear tamper condition', { encoding: 'raw', unit: 'pad' }),
  'max-phase-unbalance': management(6, 'register', 'set maximum phase power unbalance limit', {
    encoding: 'amount',
    unit: 'W',
  }),
  'water-factor': management(7, 'register', 'set water meter factor', { encoding: 'raw', unit: 'factor' }),
});

const BY_CODE: ReadonlyMap<number, TokenTypeName> = new Map(
  (Object.keys(TOKEN_TYPES) as TokenTypeName[]).map((name) => {
    const d: TokenTypeDefinition = TOKEN_TYPES[name];
    return [d.tokenClass * 16 + d.subclass, name] as const;
  }),
);

/** The token type of a class/subclass pair, or undefined when Rasid does not implement it. */
export function tokenTypeOf(tokenClass: number, subclass: number): TokenTypeName | undefined {
  return BY_CODE.get(tokenClass * 16 + subclass);
}

/** The class 0 credit type of a utility name (`currency` = electricity currency). */
export const CREDIT_TYPE_BY_UTILITY: Readonly<Record<string, CreditTokenType>> = Object.freeze({
  electricity: 'electricity-credit',
  water: 'water-credit',
  gas: 'gas-credit',
  time: 'time-credit',
  currency: 'electricity-currency-credit',
  'electricity-currency': 'electricity-currency-credit',
  'water-currency': 'water-currency-credit',
  'gas-currency': 'gas-currency-credit',
  'time-currency': 'time-currency-credit',
});
