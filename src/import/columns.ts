/**
 * The columns of each import, by header name (docs/import.md), and the zod schema that turns one row's text
 * cells into typed values. A failed cell is reported with the column's header name.
 */
import { z } from 'zod';
import { METER_PROTOCOL_NAMES } from '../meters/protocols.ts';
import { type StsParameters, StsParams } from '../meters/registration.ts';

export const IMPORT_KINDS = ['customers', 'accounts', 'meters', 'deaths'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

export interface ColumnSpec {
  readonly name: string;
  readonly required: boolean;
  /** What the cell holds, for docs and templates. */
  readonly description: string;
  /** A value for the template's example row. */
  readonly example: string;
}

const col = (name: string, required: boolean, description: string, example: string): ColumnSpec => ({
  name,
  required,
  description,
  example,
});

export const COLUMNS: Readonly<Record<ImportKind, readonly ColumnSpec[]>> = Object.freeze({
  customers: [
    col('national_id', true, 'national id (civil number): the natural key', '12345678'),
    col('name', true, 'full name as the billing system writes it', 'Salim Al Harthy'),
    col('name_ar', false, 'the name in Arabic', 'سالم الحارثي'),
    col('phone', false, 'E.164 mobile number', '+96891234567'),
    col('email', false, 'email address', 'salim@example.om'),
    col('language', false, 'ar or en (default ar): the language of messages', 'ar'),
  ],
  accounts: [
    col('account_number', true, 'account number, 3 to 32 letters, digits or -: the natural key', 'A-000123'),
    col('national_id', true, "the holder's national id (a customer imported or created before)", '12345678'),
    col('address', true, 'the premise supplied', 'Way 2817, House 12, Al Khuwair'),
    col('area', false, 'area or district of the premise', 'Bawshar'),
    col('tariff_code', false, 'code of a tariff of the utility', 'RES'),
    col('subsidy_eligible', false, 'true/false, yes/no or 1/0 (default false)', 'false'),
  ],
  meters: [
    col('serial', true, 'meter serial, 3 to 40 letters, digits, . _ -: the natural key', 'MTR-000123'),
    col('kind', true, 'electricity or water', 'electricity'),
    col('protocol', true, 'mqtt, dlms or modbus', 'mqtt'),
    col('mode', true, 'token (STS keypad) or central (credit kept by Rasid)', 'token'),
    col('account_number', false, 'the account it supplies (imported or created before)', 'A-000123'),
    col('sts_iin', false, 'STS issuer identification number, 6 digits', '600727'),
    col('sts_drn', false, 'STS decoder reference number (meter number), 11 or 13 digits', '01234567890'),
    col('sts_sgc', false, 'STS supply group code, up to 6 digits', '123456'),
    col('sts_ti', false, 'STS tariff index, 0 to 99', '01'),
    col('sts_krn', false, 'STS key revision number, 1 to 9', '1'),
    col('sts_kt', false, 'STS key type, 0 to 3', '2'),
    col('sts_ea', false, 'STS encryption algorithm: 7 (STA) or 11 (MISTY1)', '07'),
    col('sts_base_date', false, 'STS base date: 1993, 2014 or 2035 (or 1993-01-01 ...)', '2014'),
    col('sts_ken', false, 'STS key expiry number, 0 to 255 (default 255)', '255'),
    col('role', false, "customer (default) or bulk: a district's bulk meter (docs/losses.md)", 'customer'),
    col('district', false, 'code of the district the meter belongs to (created before)', 'D-NORTH'),
  ],
  deaths: [
    col('national_id', true, "the deceased's national id (a customer of the utility)", '12345678'),
    col('date_of_death', true, 'the date of death, YYYY-MM-DD', '2026-11-30'),
    col('evidence_ref', true, "the civil registry's reference of the death record", 'CR-2026-000123'),
  ],
});

/** The column that holds each import's natural key. */
export const NATURAL_KEY: Readonly<Record<ImportKind, string>> = Object.freeze({
  customers: 'national_id',
  accounts: 'account_number',
  meters: 'serial',
  deaths: 'national_id',
});

const blank = (v: string) => v.trim() === '';
const required = (max: number) => z.string().trim().min(1, 'required').max(max, `at most ${max} characters`);
const optional = <T extends z.ZodType>(inner: T) =>
  z.string().transform((v, ctx): z.output<T> | null => {
    if (blank(v)) return null;
    const r = inner.safeParse(v.trim());
    if (r.success) return r.data;
    for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
    return z.NEVER;
  });
const choice = <T extends string>(values: readonly [T, ...T[]], fallback?: T) =>
  z.string().transform((v, ctx): T => {
    const t = v.trim().toLowerCase();
    if (t === '' && fallback !== undefined) return fallback;
    if ((values as readonly string[]).includes(t)) return t as T;
    ctx.addIssue({
      code: 'custom',
      message: t === '' ? `required: one of ${values.join(', ')}` : `expected one of ${values.join(', ')}`,
    });
    return z.NEVER;
  });
const YES = new Set(['true', 'yes', 'y', '1', 'نعم']);
const NO = new Set(['false', 'no', 'n', '0', 'لا', '']);
const yesNo = z.string().transform((v, ctx) => {
  const t = v.trim().toLowerCase();
  if (YES.has(t)) return true;
  if (NO.has(t)) return false;
  ctx.addIssue({ code: 'custom', message: 'expected true or false (yes/no, 1/0)' });
  return z.NEVER;
});

export const CustomerRow = z.object({
  national_id: required(40),
  name: required(200),
  name_ar: optional(z.string().max(200, 'at most 200 characters')),
  phone: optional(z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'an E.164 number such as +96891234567')),
  email: optional(z.email('not an email address').max(254)),
  language: choice(['ar', 'en'], 'ar'),
});

const TARIFF_CODE = /^[A-Za-z0-9_-]{1,32}$/;
const ACCOUNT_NUMBER = /^[A-Za-z0-9-]{3,32}$/;

export const AccountRow = z.object({
  account_number: required(32).regex(ACCOUNT_NUMBER, 'letters, digits and - (3 to 32)'),
  national_id: required(40),
  address: required(500),
  area: optional(z.string().max(200, 'at most 200 characters')),
  tariff_code: optional(z.string().regex(TARIFF_CODE, 'letters, digits, - and _ (1 to 32)')),
  subsidy_eligible: yesNo,
});

const STS_COLUMNS = {
  iin: 'sts_iin',
  drn: 'sts_drn',
  sgc: 'sts_sgc',
  ti: 'sts_ti',
  krn: 'sts_krn',
  kt: 'sts_kt',
  ea: 'sts_ea',
  baseDate: 'sts_base_date',
  ken: 'sts_ken',
} as const;

const BASE_DATES: Readonly<Record<string, string>> = {
  '1993': '1993-01-01',
  '2014': '2014-01-01',
  '2035': '2035-01-01',
};

export interface CellProblem {
  readonly column: string;
  readonly reason: string;
}

/**
 * The STS cells of a meter row as {@link StsParams} (the schema `POST /api/v1/meters` takes): all of them or
 * none (sts_ken may be left out), or the problems found.
 */
export function stsOfCells(
  cells: Readonly<Record<string, string>>,
): { sts: StsParameters | null } | { problems: CellProblem[] } {
  const given = Object.values(STS_COLUMNS).filter((c) => !blank(cells[c] ?? ''));
  if (given.length === 0) return { sts: null };
  const int = (c: string): number | string => {
    const t = (cells[c] ?? '').trim();
    return /^[0-9]{1,7}$/.test(t) ? Number(t) : t;
  };
  const base = (cells.sts_base_date ?? '').trim();
  const candidate = {
    iin: (cells.sts_iin ?? '').trim(),
    drn: (cells.sts_drn ?? '').trim(),
    sgc: int('sts_sgc'),
    ti: int('sts_ti'),
    krn: int('sts_krn'),
    kt: int('sts_kt'),
    ea: int('sts_ea'),
    baseDate: BASE_DATES[base] ?? base,
    ...(blank(cells.sts_ken ?? '') ? {} : { ken: int('sts_ken') }),
  };
  const r = StsParams.safeParse(candidate);
  if (r.success) return { sts: r.data };
  return {
    problems: r.error.issues.map((issue) => {
      const column = STS_COLUMNS[issue.path[0] as keyof typeof STS_COLUMNS] ?? 'sts';
      const empty = blank(cells[column] ?? '');
      return { column, reason: empty ? 'required when any sts_ column is given' : issue.message };
    }),
  };
}

export const MeterRow = z.object({
  serial: required(40).regex(/^[A-Za-z0-9._-]{3,40}$/, 'letters, digits, . _ - (3 to 40)'),
  kind: choice(['electricity', 'water']),
  protocol: choice(METER_PROTOCOL_NAMES),
  mode: choice(['token', 'central']),
  account_number: optional(z.string().regex(ACCOUNT_NUMBER, 'letters, digits and - (3 to 32)')),
  role: choice(['customer', 'bulk'], 'customer'),
  district: optional(z.string().regex(/^[A-Za-z0-9._-]{1,40}$/, 'a district code')),
});

export const DeathRow = z.object({
  national_id: required(40),
  date_of_death: required(10).pipe(z.iso.date('a date, YYYY-MM-DD')),
  evidence_ref: required(200),
});

export type CustomerInput = z.output<typeof CustomerRow>;
export type AccountInput = z.output<typeof AccountRow>;
export type MeterInput = z.output<typeof MeterRow> & { sts: StsParameters | null };
export type DeathInput = z.output<typeof DeathRow>;

export const ROW_SCHEMAS = {
  customers: CustomerRow,
  accounts: AccountRow,
  meters: MeterRow,
  deaths: DeathRow,
} as const;

/** The template of an import: its header row and one example row. */
export function template(kind: ImportKind): { headers: string[]; example: string[] } {
  return { headers: COLUMNS[kind].map((c) => c.name), example: COLUMNS[kind].map((c) => c.example) };
}
