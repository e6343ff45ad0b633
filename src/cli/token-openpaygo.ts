import { type Command, Option } from 'commander';
import {
  type DecodedToken,
  decodeToken,
  type GeneratedToken,
  generateToken,
  OpenPaygoError,
  type OpenPaygoField,
  type TokenType,
} from '../../protocols/openpaygo/index.ts';
import { EXIT, UsageError } from './errors.ts';

/**
 * The highest count the CLI walks the chain to. Generating or decoding costs one SipHash per count, so this
 * bounds one call to well under a second; real devices sit far below it.
 */
const MAX_CLI_COUNT = 1_000_000;

/** `--type` values and the token type each one means. */
const TYPE_FLAGS: Readonly<Record<string, TokenType>> = Object.freeze({
  'add-time': 'add-time',
  'set-time': 'set-time',
  disable: 'disable-payg',
  'disable-payg': 'disable-payg',
  'counter-sync': 'counter-sync',
});

/** The CLI flag behind each input the codec can refuse. */
const FLAG_OF_FIELD: Readonly<Record<OpenPaygoField, string>> = Object.freeze({
  key: '--key',
  startingCode: '--starting-code',
  count: '--count',
  lastCount: '--last-count',
  usedCounts: '--used-counts',
  type: '--type',
  value: '--value',
  valueDivider: '--value-divider',
  token: '--token',
});

interface GenerateFlags {
  key: string;
  startingCode: string;
  count: string;
  type: string;
  value?: string;
  valueDivider?: string;
  extended?: boolean;
  restrictedDigits?: boolean;
  json?: boolean;
}

interface DecodeFlags {
  key: string;
  startingCode: string;
  token: string;
  lastCount: string;
  usedCounts?: string;
  valueDivider?: string;
  restrictedDigits?: boolean;
  json?: boolean;
}

const INTEGER = /^-?[0-9]+$/;
const DECIMAL = /^[0-9]+(\.[0-9]+)?$/;

function parseInteger(flag: string, text: string, min: number, max: number): number {
  const n = Number(text.trim());
  if (!INTEGER.test(text.trim()) || n < min || n > max) {
    throw new UsageError(`${flag}: expected an integer from ${min} to ${max}, got '${text}'`);
  }
  return n;
}

function parseDecimal(flag: string, text: string): number {
  if (!DECIMAL.test(text.trim())) throw new UsageError(`${flag}: expected a decimal number, got '${text}'`);
  return Number(text.trim());
}

/** `--used-counts=1,2,-3`: a comma-separated list of integers, possibly empty. */
function parseUsedCounts(text: string | undefined): number[] {
  if (text === undefined || text.trim() === '') return [];
  return text.split(',').map((part) => parseInteger('--used-counts', part, -MAX_CLI_COUNT, MAX_CLI_COUNT));
}

/** The token as typed, with the spaces and dashes people group digits with removed. */
function normaliseToken(text: string): string {
  return text.replace(/[\s-]/g, '');
}

/** Runs a codec call, turning a refused input into a one-line usage error naming the flag. */
function withFlags<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    if (err instanceof OpenPaygoError) throw new UsageError(`${FLAG_OF_FIELD[err.field]}: ${err.reason}`);
    throw err;
  }
}

/** Digits in groups of three, the way tokens are read out and typed. */
function groupDigits(token: string): string {
  return token.replace(/(\d{3})(?=\d)/g, '$1 ');
}

function printLines(rows: ReadonlyArray<readonly [string, string]>): void {
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  process.stdout.write(rows.map(([label, value]) => `${label.padEnd(width)}${value}\n`).join(''));
}

function printGenerated(result: GeneratedToken, value: number | null, json: boolean): void {
  if (json) {
    process.stdout.write(
      `${JSON.stringify({
        token: result.token,
        newCount: result.newCount,
        type: result.type,
        format: result.format,
        value,
        rawValue: result.rawValue,
      })}\n`,
    );
    return;
  }
  printLines([
    ['token', groupDigits(result.token)],
    ['newCount', String(result.newCount)],
    ['type', result.type],
    ['value', value === null ? '-' : String(value)],
  ]);
}

function printDecoded(result: DecodedToken, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  if (result.status !== 'valid') {
    printLines([['status', result.status]]);
    return;
  }
  printLines([
    ['status', result.status],
    ['type', result.type],
    ['value', result.value === null ? '-' : String(result.value)],
    ['count', String(result.count)],
    ['lastCount', String(result.lastCount)],
    ['usedCounts', result.usedCounts.join(',')],
  ]);
}

function runGenerate(flags: GenerateFlags): void {
  const type = TYPE_FLAGS[flags.type];
  if (type === undefined) throw new UsageError(`--type: unknown token type '${flags.type}'`);
  const valueDivider =
    flags.valueDivider === undefined ? 1 : parseDecimal('--value-divider', flags.valueDivider);
  const result = withFlags(() =>
    generateToken({
      key: flags.key,
      startingCode: parseInteger('--starting-code', flags.startingCode, 0, 999_999_999_999),
      count: parseInteger('--count', flags.count, 0, MAX_CLI_COUNT),
      type,
      value: flags.value === undefined ? undefined : parseDecimal('--value', flags.value),
      valueDivider,
      extended: flags.extended ?? false,
      restrictedDigitSet: flags.restrictedDigits ?? false,
    }),
  );
  const value = type === 'add-time' || type === 'set-time' ? result.rawValue / valueDivider : null;
  printGenerated(result, value, flags.json ?? false);
}

function runDecode(flags: DecodeFlags): void {
  const result = withFlags(() =>
    decodeToken({
      token: normaliseToken(flags.token),
      key: flags.key,
      startingCode: parseInteger('--starting-code', flags.startingCode, 0, 999_999_999_999),
      lastCount: parseInteger('--last-count', flags.lastCount, -MAX_CLI_COUNT, MAX_CLI_COUNT),
      usedCounts: parseUsedCounts(flags.usedCounts),
      valueDivider:
        flags.valueDivider === undefined ? 1 : parseDecimal('--value-divider', flags.valueDivider),
      restrictedDigitSet: flags.restrictedDigits ?? false,
    }),
  );
  printDecoded(result, flags.json ?? false);
  // A refused token is an answer, not a usage mistake: exit 1 so scripts can test for acceptance.
  if (result.status !== 'valid') process.exitCode = EXIT.failure;
}

export function registerTokenOpenPaygoCommand(token: Command): void {
  const openpaygo = token
    .command('openpaygo')
    .description('OpenPAYGO Token: generate and decode pay-as-you-go keypad tokens (EnAccess reference)');

  openpaygo
    .command('generate')
    .description('generate the next token for a device and print it with its new count')
    .requiredOption('--key <hex>', "the device's secret key, 32 hexadecimal characters")
    .requiredOption('--starting-code <n>', "the device's starting code")
    .requiredOption('--count <n>', 'the count of the last token generated for the device')
    .addOption(
      new Option('--type <type>', 'token type').choices(Object.keys(TYPE_FLAGS)).makeOptionMandatory(),
    )
    .option('--value <n>', 'add-time / set-time: days (or days × value divider)')
    .option('--value-divider <n>', 'value units per day agreed with the device', '1')
    .option('--extended', '12-digit extended token (values up to 999999)')
    .option('--restricted-digits', 'write the token with the digits 1-4 only')
    .option('--json', 'print one JSON object')
    .action((flags: GenerateFlags) => runGenerate(flags));

  openpaygo
    .command('decode')
    .description('decode a token as the device would; prints value, type, count and the updated used counts')
    .requiredOption('--key <hex>', "the device's secret key, 32 hexadecimal characters")
    .requiredOption('--starting-code <n>', "the device's starting code")
    .requiredOption('--token <digits>', 'the token as typed (spaces and dashes are ignored)')
    .requiredOption('--last-count <n>', "the device's count (highest accepted count)")
    .option('--used-counts <list>', 'the counts the device has used, comma-separated (may be negative)')
    .option('--value-divider <n>', 'value units per day agreed with the server', '1')
    .option('--restricted-digits', 'the token is written with the digits 1-4 only')
    .option('--json', 'print one JSON object')
    .action((flags: DecodeFlags) => runDecode(flags));
}
