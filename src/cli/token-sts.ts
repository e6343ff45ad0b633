/**
 * `rasid token sts <kind>`: offline STS (IEC 62055-41) tools for technicians and vendors, on top of the
 * pure codec in protocols/sts. Every kind is one function of its flags (`runStsRequest`), shared by the
 * single-command form and `--batch`, where each stdin line is a JSON object with `kind` and the flags'
 * names in camelCase.
 */
import { randomInt } from 'node:crypto';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import {
  CREDIT_TYPE_BY_UTILITY,
  type DecodedToken,
  type DecoderKey,
  dateFromTid,
  decodeToken,
  deriveDecoderKey,
  type EncodedToken,
  type EncryptionAlgorithm,
  encodeKeyChange,
  encodeToken,
  formatStsToken,
  isBaseDate,
  type KeyParameters,
  type KeyType,
  type MeterPan,
  meterPanFromParts,
  parseMeterPan,
  type RegisterTokenType,
  StsError,
  StsKey,
  TOKEN_TYPES,
  tidFromDate,
} from '../../protocols/sts/index.ts';
import { UsageError } from './errors.ts';

/** The kinds of `rasid token sts`. */
export const STS_KINDS = Object.freeze([
  'decoder-key',
  'credit',
  'max-power',
  'clear-credit',
  'tariff-rate',
  'key-change',
  'clear-tamper',
  'phase-unbalance',
  'water-factor',
  'test',
  'decode',
] as const);
export type StsKind = (typeof STS_KINDS)[number];

/** Flags as commander gives them (camelCase) or as a batch line carries them. */
type Flags = Readonly<Record<string, unknown>>;

/** Every flag name a request may carry, camelCase. */
const KNOWN_FLAGS = new Set([
  'kind',
  'iin',
  'drn',
  'pan',
  'sgc',
  'ti',
  'krn',
  'kt',
  'vendingKey',
  'decoderKey',
  'ea',
  'baseDate',
  'issuedAt',
  'rnd',
  'amount',
  'utility',
  'watts',
  'register',
  'rate',
  'factor',
  'newTi',
  'newKrn',
  'newKt',
  'newKen',
  'rollover',
  'newSgc',
  'newVendingKey',
  'newDecoderKey',
  'subclass',
  'control',
  'manufacturer',
  'token',
  'json',
]);

function kebab(name: string): string {
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

function text(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new UsageError(`${kebab(name)}: expected a string or number`);
}

function required(flags: Flags, name: string, why: string): string {
  const v = text(flags, name);
  if (v === undefined || v === '') throw new UsageError(`${kebab(name)} is required ${why}`);
  return v;
}

function integer(flags: Flags, name: string, min: number, max: number, fallback?: number): number {
  const v = text(flags, name);
  if (v === undefined) {
    if (fallback === undefined) throw new UsageError(`${kebab(name)} is required`);
    return fallback;
  }
  if (!/^[0-9]+$/.test(v))
    throw new UsageError(`${kebab(name)}: expected an integer ${min}..${max}, got '${v}'`);
  const n = Number(v);
  if (n < min || n > max)
    throw new UsageError(`${kebab(name)}: expected an integer ${min}..${max}, got '${v}'`);
  return n;
}

function bool(flags: Flags, name: string): boolean {
  const v = flags[name];
  if (v === undefined || v === false) return false;
  if (v === true) return true;
  throw new UsageError(`${kebab(name)}: expected true or false`);
}

function keyFlag(flags: Flags, name: string): StsKey | undefined {
  const v = text(flags, name);
  if (v === undefined) return undefined;
  if (!/^[0-9a-fA-F]{16}$/.test(v))
    throw new UsageError(`${kebab(name)}: expected 16 hex digits, got '${v}'`);
  return StsKey.fromHex(v);
}

function meterPan(flags: Flags): MeterPan {
  const pan = text(flags, 'pan');
  if (pan !== undefined) {
    if (flags.iin !== undefined || flags.drn !== undefined)
      throw new UsageError('give either --pan or --iin with --drn, not both');
    return parseMeterPan(pan);
  }
  return meterPanFromParts(required(flags, 'iin', '(or --pan)'), required(flags, 'drn', '(or --pan)'));
}

function tariffIndex(flags: Flags, name: string, fallback?: number): number {
  const v = text(flags, name);
  if (v === undefined && fallback !== undefined) return fallback;
  return integer(flags, name, 0, 99);
}

function keyParameters(flags: Flags): KeyParameters {
  return {
    pan: meterPan(flags),
    keyType: integer(flags, 'kt', 0, 3) as KeyType,
    supplyGroupCode: required(flags, 'sgc', 'to derive the decoder key'),
    tariffIndex: tariffIndex(flags, 'ti'),
    keyRevision: integer(flags, 'krn', 1, 9),
  };
}

interface MeterKey {
  readonly key: DecoderKey;
  readonly params?: KeyParameters;
  readonly vendingKey?: StsKey;
}

function meterKey(flags: Flags): MeterKey {
  const dk = keyFlag(flags, 'decoderKey');
  if (dk) {
    if (flags.vendingKey !== undefined)
      throw new UsageError('give either --decoder-key or --vending-key, not both');
    return { key: dk };
  }
  const vendingKey = keyFlag(flags, 'vendingKey');
  if (!vendingKey) throw new UsageError('--vending-key (with the meter flags) or --decoder-key is required');
  const params = keyParameters(flags);
  return { key: deriveDecoderKey(vendingKey, params), params, vendingKey };
}

function algorithm(flags: Flags): EncryptionAlgorithm {
  const v = text(flags, 'ea') ?? '07';
  if (v === '07' || v === '7') return 'EA07';
  if (v === '09' || v === '9') return 'EA09';
  throw new UsageError(`--ea: expected 07 or 09, got '${v}'`);
}

function baseDate(flags: Flags): 1993 | 2014 | 2035 {
  const v = Number(text(flags, 'baseDate') ?? '2014');
  if (!isBaseDate(v))
    throw new UsageError(`--base-date: expected 1993, 2014 or 2035, got '${text(flags, 'baseDate')}'`);
  return v;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

function issuedAt(flags: Flags): number {
  const v = text(flags, 'issuedAt');
  if (v === undefined) return Date.now();
  const m = ISO_UTC.exec(v);
  // A time without a zone is read as UTC, never as the machine's local time.
  const ms = m ? Date.parse(m[1] ? v : v.includes('T') ? `${v}Z` : `${v}T00:00:00Z`) : Number.NaN;
  if (!Number.isFinite(ms)) throw new UsageError(`--issued-at: expected an ISO-8601 UTC time, got '${v}'`);
  return ms;
}

/** Parses a decimal amount into tenths, rounding any finer part up (never credits less than asked). */
function amountTenths(flags: Flags): number {
  const v = required(flags, 'amount', 'for a credit token');
  const m = /^([0-9]+)(?:\.([0-9]+))?$/.exec(v);
  if (!m) throw new UsageError(`--amount: expected a decimal number such as 12.5, got '${v}'`);
  const whole = Number(m[1]);
  const frac = m[2] ?? '';
  const tenth = Number(frac.slice(0, 1) || '0');
  const finer = /[1-9]/.test(frac.slice(1)) ? 1 : 0;
  const tenths = whole * 10 + tenth + finer;
  if (!Number.isSafeInteger(tenths)) throw new UsageError(`--amount: '${v}' is too large`);
  return tenths;
}

const hex64 = (v: bigint) => v.toString(16).padStart(16, '0');
const hex16 = (v: number) => v.toString(16).padStart(4, '0');

function tokenOutput(
  kind: string,
  encoded: EncodedToken,
  key: DecoderKey | undefined,
  extra: Record<string, unknown>,
) {
  const def = TOKEN_TYPES[encoded.type];
  return {
    kind,
    token: encoded.token,
    type: encoded.type,
    tokenClass: encoded.tokenClass,
    subclass: encoded.subclass,
    decoderKey: key?.toHex() ?? null,
    dataBlock: hex64(encoded.dataBlock),
    ...(encoded.field !== undefined ? { field: hex16(encoded.field) } : {}),
    ...(encoded.value !== undefined ? { value: encoded.value / (def.scale ?? 1), unit: def.unit } : {}),
    ...extra,
  };
}

function registerToken(
  kind: string,
  flags: Flags,
  type: RegisterTokenType,
  value: number,
  extra: Record<string, unknown> = {},
) {
  const { key } = meterKey(flags);
  const base = baseDate(flags);
  const at = issuedAt(flags);
  const tid = tidFromDate(at, base);
  const rnd = integer(flags, 'rnd', 0, 15, randomInt(16));
  const encoded = encodeToken({ type, rnd, tid, value }, { key, algorithm: algorithm(flags) });
  return tokenOutput(kind, encoded, key, {
    tid,
    issuedAt: dateFromTid(tid, base).toISOString(),
    baseDate: base,
    rnd,
    ...extra,
  });
}

function decodedOutput(d: DecodedToken, key: DecoderKey | undefined) {
  const common = {
    kind: 'decode',
    token: d.token,
    type: d.type,
    tokenClass: d.tokenClass,
    subclass: d.subclass,
    decoderKey: key?.toHex() ?? null,
    dataBlock: hex64(d.dataBlock),
  };
  switch (d.layout) {
    case 'register':
      return {
        ...common,
        tid: d.tid,
        issuedAt: d.issuedAt.toISOString(),
        rnd: d.rnd,
        field: hex16(d.field),
        value: d.value / d.scale,
        unit: d.unit,
      };
    case 'test-36':
    case 'test-28':
      return { ...common, control: d.control.toString(16), manufacturer: d.manufacturer };
    case 'key-change-1':
      return {
        ...common,
        kenHigh: d.kenHigh,
        keyRevision: d.keyRevision,
        rollover: d.rollover,
        keyType: d.keyType,
        newKeyHigh: d.newKeyHigh.toString(16).padStart(8, '0'),
      };
    case 'key-change-2':
      return {
        ...common,
        kenLow: d.kenLow,
        tariffIndex: d.tariffIndex,
        newKeyLow: d.newKeyLow.toString(16).padStart(8, '0'),
      };
  }
}

/** Runs one request of `kind`; returns the JSON-ready result. Throws `UsageError` on bad input. */
export function runStsRequest(kind: string, flags: Flags): Record<string, unknown> {
  for (const name of Object.keys(flags)) {
    if (!KNOWN_FLAGS.has(name)) throw new UsageError(`unknown field '${name}'`);
  }
  try {
    return runKind(kind, flags);
  } catch (err) {
    if (err instanceof StsError) throw new UsageError(err.message);
    throw err;
  }
}

function runKind(kind: string, flags: Flags): Record<string, unknown> {
  switch (kind as StsKind) {
    case 'decoder-key': {
      const vendingKey = keyFlag(flags, 'vendingKey');
      if (!vendingKey) throw new UsageError('--vending-key is required');
      const params = keyParameters(flags);
      return {
        kind,
        decoderKey: deriveDecoderKey(vendingKey, params).toHex(),
        pan: params.pan.pan,
        keyType: params.keyType,
        sgc: params.supplyGroupCode,
        ti: params.tariffIndex,
        krn: params.keyRevision,
      };
    }
    case 'credit': {
      const utility = text(flags, 'utility') ?? 'electricity';
      const type = CREDIT_TYPE_BY_UTILITY[utility];
      if (!type) {
        throw new UsageError(
          `--utility: expected one of ${Object.keys(CREDIT_TYPE_BY_UTILITY).join(', ')}, got '${utility}'`,
        );
      }
      const tenths = amountTenths(flags);
      return registerToken(kind, flags, type, tenths, { requested: tenths / 10 });
    }
    case 'max-power':
      return registerToken(kind, flags, 'max-power-limit', integer(flags, 'watts', 0, 18_201_624));
    case 'phase-unbalance':
      return registerToken(kind, flags, 'max-phase-unbalance', integer(flags, 'watts', 0, 18_201_624));
    case 'clear-credit': {
      const reg = text(flags, 'register') ?? 'all';
      const value = reg === 'all' ? 0xffff : integer(flags, 'register', 0, 0xfffe);
      return registerToken(kind, flags, 'clear-credit', value);
    }
    case 'tariff-rate':
      return registerToken(kind, flags, 'tariff-rate', integer(flags, 'rate', 0, 0xffff));
    case 'water-factor':
      return registerToken(kind, flags, 'water-factor', integer(flags, 'factor', 0, 0xffff));
    case 'clear-tamper':
      return registerToken(kind, flags, 'clear-tamper', 0);
    case 'key-change':
      return keyChange(flags);
    case 'test': {
      const subclass = integer(flags, 'subclass', 0, 1, 0);
      const bits = subclass === 0 ? 36n : 28n;
      const controlText = text(flags, 'control');
      if (controlText !== undefined && !/^(0x)?[0-9a-fA-F]{1,9}$/.test(controlText)) {
        throw new UsageError(`--control: expected a hex bit mask, got '${controlText}'`);
      }
      const control =
        controlText === undefined ? (1n << bits) - 1n : BigInt(`0x${controlText.replace(/^0x/, '')}`);
      if (control >> bits !== 0n)
        throw new UsageError(`--control: more than ${bits} bits for subclass ${subclass}`);
      const manufacturer = integer(flags, 'manufacturer', 0, subclass === 0 ? 0xff : 0xffff, 0);
      const encoded = encodeToken({
        type: subclass === 0 ? 'test-display-1' : 'test-display-2',
        control,
        manufacturer,
      });
      return tokenOutput('test', encoded, undefined, { control: control.toString(16), manufacturer });
    }
    case 'decode': {
      const raw = required(flags, 'token', 'to decode');
      const hasKey = flags.decoderKey !== undefined || flags.vendingKey !== undefined;
      const key = hasKey ? meterKey(flags).key : undefined;
      const result = decodeToken(raw, { key, algorithm: algorithm(flags), baseDate: baseDate(flags) });
      if (!result.ok) {
        if (!key && result.code === 'authentication') {
          throw new UsageError(
            'this token is encrypted: give --decoder-key or --vending-key with the meter flags',
          );
        }
        throw new UsageError(`token refused (${result.code}): ${result.message}`);
      }
      return decodedOutput(result.token, key);
    }
    default:
      throw new UsageError(`unknown kind '${kind}' (one of: ${STS_KINDS.join(', ')})`);
  }
}

function keyChange(flags: Flags): Record<string, unknown> {
  const old = meterKey(flags);
  const params = old.params;
  const newTi = tariffIndex(flags, 'newTi', params?.tariffIndex);
  const newKrn = integer(flags, 'newKrn', 1, 9, params?.keyRevision);
  const newKt = integer(flags, 'newKt', 0, 3, params?.keyType) as KeyType;
  const newKen = integer(flags, 'newKen', 0, 255, 255);
  const rollover = bool(flags, 'rollover');
  let newKey = keyFlag(flags, 'newDecoderKey');
  if (!newKey) {
    const vk = keyFlag(flags, 'newVendingKey') ?? old.vendingKey;
    if (!vk)
      throw new UsageError(
        '--new-vending-key (or --vending-key, or --new-decoder-key) is required for key-change',
      );
    const pan = params?.pan ?? meterPan(flags);
    const sgc = text(flags, 'newSgc') ?? params?.supplyGroupCode ?? required(flags, 'sgc', 'for the new key');
    newKey = deriveDecoderKey(vk, {
      pan,
      keyType: newKt,
      supplyGroupCode: sgc,
      tariffIndex: newTi,
      keyRevision: newKrn,
    });
  }
  const pair = encodeKeyChange(
    { newKey, keyExpiry: newKen, keyRevision: newKrn, keyType: newKt, tariffIndex: newTi, rollover },
    old.key,
    algorithm(flags),
  );
  return {
    kind: 'key-change',
    tokens: pair.map((t) => t.token),
    decoderKey: old.key.toHex(),
    newDecoderKey: newKey.toHex(),
    dataBlocks: pair.map((t) => hex64(t.dataBlock)),
    newKrn,
    newKt,
    newTi,
    newKen,
    rollover,
  };
}

/** The human form of a result. */
function human(result: Record<string, unknown>): string {
  if (Array.isArray(result.tokens)) {
    return `${(result.tokens as string[]).map((t, i) => `${i + 1}: ${formatStsToken(t as never)}`).join('\n')}\n`;
  }
  if (result.kind === 'decoder-key') return `${String(result.decoderKey)}\n`;
  if (result.kind === 'decode') {
    return `${Object.entries(result)
      .filter(([k]) => k !== 'kind')
      .map(([k, v]) => `${k}: ${String(v)}`)
      .join('\n')}\n`;
  }
  return `${formatStsToken(result.token as never)}\n`;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function write(line: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(line)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

/** Lines above which the batch shows a progress bar on stderr. */
const PROGRESS_THRESHOLD = 1000;

async function runBatch(): Promise<void> {
  const lines = (await readStdin()).split(/\r?\n/);
  const requests = lines.map((text, i) => ({ text: text.trim(), line: i + 1 })).filter((l) => l.text !== '');
  const bar =
    requests.length >= PROGRESS_THRESHOLD
      ? new SingleBar({
          stream: process.stderr,
          format: 'tokens {bar} {value}/{total} ({eta}s left)',
          hideCursor: true,
        })
      : undefined;
  bar?.start(requests.length, 0);
  let failed = 0;
  let out = '';
  for (const [i, { text, line }] of requests.entries()) {
    let result: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new UsageError('expected a JSON object');
      const flags = parsed as Record<string, unknown>;
      if (typeof flags.kind !== 'string') throw new UsageError("'kind' is required");
      result = { line, ...runStsRequest(flags.kind, flags) };
    } catch (err) {
      if (!(err instanceof UsageError) && !(err instanceof SyntaxError)) throw err;
      failed++;
      result = { line, error: err.message };
    }
    out += `${JSON.stringify(result)}\n`;
    if (out.length > 65_536) {
      await write(out);
      out = '';
    }
    if ((i & 255) === 0) bar?.update(i);
  }
  await write(out);
  bar?.update(requests.length);
  bar?.stop();
  if (failed > 0) process.exitCode = 1;
}

function addMeterFlags(cmd: Command): Command {
  return cmd
    .option('--iin <digits>', 'issuer identification number (6 digits, e.g. 600727; or 4 legacy)')
    .option(
      '--drn <digits>',
      'decoder reference number / IAIN (11 digits for a 6-digit IIN), check digit optional',
    )
    .option('--pan <digits>', 'meter PAN instead of --iin/--drn: 17 digits, or 18 with the Luhn check digit')
    .option('--sgc <digits>', 'supply group code, 6 digits')
    .option('--ti <nn>', 'tariff index, 2 digits')
    .option('--krn <n>', 'key revision number, 1..9')
    .option('--kt <n>', 'key type: 0 init, 1 default, 2 unique, 3 common')
    .option('--vending-key <hex>', 'DES vending key, 16 hex digits (DKGA02)')
    .option(
      '--decoder-key <hex>',
      'decoder key, 16 hex digits (instead of --vending-key and the meter flags)',
    )
    .option('--ea <07|09>', 'encryption algorithm: 07 (STA) or 09 (DES)', '07')
    .option('--base-date <year>', 'TID base date: 1993, 2014 or 2035', '2014')
    .option('--json', 'print one JSON object');
}

function addTokenFlags(cmd: Command): Command {
  return addMeterFlags(cmd)
    .option('--issued-at <iso>', 'issue time, ISO-8601 UTC (default: now)')
    .option('--rnd <n>', 'random number 0..15 (default: random)');
}

function emit(result: Record<string, unknown>, json: boolean): void {
  process.stdout.write(json ? `${JSON.stringify(result)}\n` : human(result));
}

export function registerTokenStsCommand(token: Command): void {
  const sts = token
    .command('sts')
    .description('STS (IEC 62055-41) tokens: decoder keys, credit and management tokens, decoding')
    .argument('[kind]', `one of: ${STS_KINDS.join(', ')}`)
    .option(
      '--batch',
      'read one JSON request per line on stdin ({"kind":"credit",...camelCase flags}); one JSON line out per request',
    )
    .action(async (kind: string | undefined, opts: { batch?: boolean }) => {
      if (kind !== undefined)
        throw new UsageError(`unknown kind '${kind}' (one of: ${STS_KINDS.join(', ')})`);
      if (!opts.batch) throw new UsageError(`choose a kind (${STS_KINDS.join(', ')}) or --batch`);
      await runBatch();
    });

  const simple = (name: StsKind, description: string, extra: (cmd: Command) => Command = (c) => c) => {
    const cmd = extra(addTokenFlags(sts.command(name).description(description)));
    cmd.action((opts: Record<string, unknown>) => {
      const { json, ...flags } = opts;
      emit(runStsRequest(name, flags), json === true);
    });
  };

  addMeterFlags(sts.command('decoder-key').description('derive the decoder key with DKGA02')).action(
    (opts: Record<string, unknown>) => {
      const { json, ...flags } = opts;
      emit(runStsRequest('decoder-key', flags), json === true);
    },
  );
  simple('credit', 'credit transfer token (class 0)', (c) =>
    c
      .option('--amount <decimal>', 'amount in the unit of --utility (kWh, kL, m3...), rounded up to tenths')
      .option(
        '--utility <name>',
        'electricity, water, gas, time or currency (also water-currency...)',
        'electricity',
      ),
  );
  simple('max-power', 'set maximum power limit (class 2/0)', (c) =>
    c.option('--watts <n>', 'limit in watts'),
  );
  simple('clear-credit', 'clear credit (class 2/1)', (c) =>
    c.option('--register <all|N>', 'register to clear', 'all'),
  );
  simple('tariff-rate', 'set tariff rate (class 2/2)', (c) => c.option('--rate <n>', 'rate, 0..65535'));
  simple('clear-tamper', 'clear tamper condition (class 2/5)');
  simple('phase-unbalance', 'set maximum phase power unbalance limit (class 2/6)', (c) =>
    c.option('--watts <n>', 'limit in watts'),
  );
  simple('water-factor', 'set water meter factor (class 2/7)', (c) =>
    c.option('--factor <n>', 'factor, 0..65535'),
  );
  addMeterFlags(
    sts.command('key-change').description('the two key change tokens (class 2/3 and 2/4), with the old key'),
  )
    .option('--new-ti <nn>', 'new tariff index (default: --ti)')
    .option('--new-krn <n>', 'new key revision number (default: --krn)')
    .option('--new-kt <n>', 'new key type (default: --kt)')
    .option('--new-ken <n>', 'new key expiry number, 0..255', '255')
    .option('--rollover', 'ask the meter to clear its TID memory (move to a new base date)')
    .option('--new-sgc <digits>', 'new supply group code (default: --sgc)')
    .option('--new-vending-key <hex>', 'vending key of the new key (default: --vending-key)')
    .option('--new-decoder-key <hex>', 'the new decoder key itself, instead of deriving it')
    .action((opts: Record<string, unknown>) => {
      const { json, ...flags } = opts;
      emit(runStsRequest('key-change', flags), json === true);
    });
  sts
    .command('test')
    .description('meter test / display token (class 1, not encrypted)')
    .option(
      '--subclass <0|1>',
      '0: 36-bit control, 8-bit manufacturer; 1: 28-bit control, 16-bit manufacturer',
      '0',
    )
    .option('--control <hex>', 'control bit mask in hex (default: every test/display)')
    .option('--manufacturer <n>', 'manufacturer code', '0')
    .option('--json', 'print one JSON object')
    .action((opts: Record<string, unknown>) => {
      const { json, ...flags } = opts;
      emit(runStsRequest('test', flags), json === true);
    });
  addMeterFlags(sts.command('decode').description('decode a token with the meter flags or --decoder-key'))
    .argument('<token>', '20-digit token, dashes or spaces allowed')
    .action((tokenText: string, opts: Record<string, unknown>) => {
      const { json, ...flags } = opts;
      emit(runStsRequest('decode', { ...flags, token: tokenText }), json === true);
    });
}
