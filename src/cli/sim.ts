/**
 * `rasid sim meter` and `rasid sim fleet`: Rasid's meter simulator (firmware-sim) on the command line.
 *
 * - `sim meter` runs one meter with a face (`--protocol`) and a keypad prompt on stdin: type a 20-digit
 *   token and see it accepted or rejected with the reason and the new credit. Closing stdin or Ctrl-C
 *   stops the meter cleanly (offline status, state saved).
 * - `sim fleet` runs N meters in one process and keeps a one-line summary on stderr. A Modbus or DLMS
 *   fleet can write the configuration of a gateway that serves it (`--gateway-config`).
 *
 * The protocol list comes from `SIM_PROTOCOLS`, so a new face is one more entry there.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { commission, formatReport } from '../../firmware-sim/commission/index.ts';
import { SIM_DLMS_SECURITIES, type SimDlmsSecurity } from '../../firmware-sim/dlms/index.ts';
import {
  DEMO_DLMS_SECRETS,
  type DlmsSettings,
  type NamedMeter,
  newFleetStats,
  openMeter,
  type RunningFace,
  SIM_PROTOCOL_NAMES,
  SIM_PROTOCOLS,
  SimFleet,
  type SimProtocol,
} from '../../firmware-sim/fleet/index.ts';
import {
  type CreditUnit,
  DEMO_VENDING_KEY,
  FileStateStore,
  type MeterKind,
  ScaledClock,
  type SimMeter,
  type SupplyMode,
  type TamperKind,
  type TokenOutcome,
} from '../../firmware-sim/model/index.ts';
import { isDeviceId, isUtilityCode } from '../../protocols/mqtt/index.ts';
import { StsError } from '../../protocols/sts/index.ts';
import { UsageError } from './errors.ts';

type Flags = Readonly<Record<string, unknown>>;

const KINDS: readonly MeterKind[] = ['electricity', 'water'];
const MODES: readonly SupplyMode[] = ['token', 'central'];
const CREDIT_UNITS = Object.freeze({ wh: 'wh', litre: 'litre', currency: 'currency_minor' } as const);

function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return v === undefined ? undefined : String(v);
}

function oneOf<T extends string>(flags: Flags, name: string, allowed: readonly T[], fallback: T): T {
  const v = str(flags, name) ?? fallback;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`--${kebab(name)}: expected one of ${allowed.join(', ')}, got '${v}'`);
  }
  return v as T;
}

function num(
  flags: Flags,
  name: string,
  fallback: number,
  opts: { min?: number; int?: boolean } = {},
): number {
  const raw = str(flags, name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || (opts.int && !Number.isInteger(v)) || (opts.min !== undefined && v < opts.min)) {
    const what = opts.int ? 'an integer' : 'a number';
    throw new UsageError(
      `--${kebab(name)}: expected ${what}${opts.min !== undefined ? ` >= ${opts.min}` : ''}, got '${raw}'`,
    );
  }
  return v;
}

function optNum(flags: Flags, name: string, opts: { min?: number; int?: boolean } = {}): number | undefined {
  return flags[name] === undefined ? undefined : num(flags, name, 0, opts);
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Options every meter takes, for both subcommands. */
function meterOptions(cmd: Command): Command {
  return cmd
    .option('--kind <kind>', `meter kind: ${KINDS.join(' | ')}`, 'electricity')
    .option('--phases <n>', 'electricity: 1 or 3 phases', '1')
    .option(
      '--mode <mode>',
      `token (the meter disconnects at zero credit) | central (only by command)`,
      'token',
    )
    .option('--credit-unit <unit>', 'wh | litre | currency (minor units); default by kind')
    .option('--initial-credit <n>', 'credit of a new meter, in the credit unit')
    .option('--emergency-credit <n>', 'emergency credit allowance, in the credit unit', '0')
    .option('--vending-key <hex>', 'vending key for DKGA02 (default: the public demo key of docs/sts.md)')
    .option('--sgc <digits>', 'supply group code', '123456')
    .option('--protocol <name>', `face: ${SIM_PROTOCOL_NAMES.join(' | ')}`, 'mqtt')
    .option('--broker <url>', 'mqtt: broker URL', 'mqtt://127.0.0.1:1883')
    .option('--utility <code>', 'mqtt: utility code in the topics', 'demo')
    .option('--password <secret>', 'mqtt: password (also from RASID_SIM_PASSWORD)')
    .option('--host <ip>', 'modbus, dlms: address to listen on', '127.0.0.1')
    .option('--unit-id <n>', 'modbus: unit id answered', '1')
    .option('--dlms-framing <f>', 'dlms: wrapper (IEC 62056-47) | hdlc (IEC 62056-46)', 'wrapper')
    .option(
      '--dlms-security <s>',
      `dlms: the read-write association: ${SIM_DLMS_SECURITIES.join(' | ')} (public client 16 reads always)`,
      'none',
    )
    .option(
      '--dlms-password <text>',
      'dlms: LLS password (default: the demo password of docs/dlms-session.md)',
    )
    .option('--dlms-ek <hex>', 'dlms: HLS-GMAC encryption key, 32 hex digits (default: the demo key)')
    .option('--dlms-ak <hex>', 'dlms: HLS-GMAC authentication key, 32 hex digits (default: the demo key)')
    .option('--interval <s>', 'simulated seconds between readings', '900')
    .option('--speed <x>', 'simulated seconds per real second', '1')
    .option('--start <ISO-8601>', 'the instant the simulated clock starts at (default now), e.g. a day ago')
    .option('--seed <n>', 'seed of the consumption curves', '1')
    .option('--tamper-rate <n>', 'random tamper alarms per meter per simulated day', '0')
    .option('--state-dir <dir>', 'keep each meter state in <dir>/<serial>.json across restarts');
}

interface Common {
  kind: MeterKind;
  phases: 1 | 3;
  mode: SupplyMode;
  creditUnit: CreditUnit | undefined;
  protocol: SimProtocol;
  dlms: Omit<DlmsSettings, 'basePort'>;
  clock: ScaledClock;
  intervalS: number;
  seed: number;
  initialCredit: number | undefined;
  emergencyCredit: number;
  tamperRatePerDay: number;
  vendingKey: string | undefined;
  sgc: string;
  utility: string;
  password: string | undefined;
}

function commonFlags(flags: Flags): Common {
  const kind = oneOf(flags, 'kind', KINDS, 'electricity');
  const phases = num(flags, 'phases', 1, { int: true });
  if (phases !== 1 && phases !== 3) throw new UsageError(`--phases: expected 1 or 3, got '${phases}'`);
  const unitFlag = str(flags, 'creditUnit');
  const creditUnit =
    unitFlag === undefined
      ? undefined
      : CREDIT_UNITS[
          oneOf(flags, 'creditUnit', Object.keys(CREDIT_UNITS) as (keyof typeof CREDIT_UNITS)[], 'wh')
        ];
  const speed = num(flags, 'speed', 1);
  if (speed <= 0) throw new UsageError(`--speed: expected a number above 0, got '${speed}'`);
  const startText = str(flags, 'start');
  const startMs = startText === undefined ? undefined : Date.parse(startText);
  if (startMs !== undefined && !Number.isFinite(startMs)) {
    throw new UsageError(`--start: expected an ISO 8601 instant, got '${startText}'`);
  }
  const intervalS = num(flags, 'interval', 900);
  if (intervalS <= 0)
    throw new UsageError(`--interval: expected a number of seconds above 0, got '${intervalS}'`);
  const utility = str(flags, 'utility') ?? 'demo';
  if (!isUtilityCode(utility))
    throw new UsageError(`--utility: '${utility}' is not a utility code (a-z, 0-9, - and _)`);
  const sgc = str(flags, 'sgc') ?? '123456';
  if (!/^[0-9]{6}$/.test(sgc)) throw new UsageError(`--sgc: expected 6 digits, got '${sgc}'`);
  const vendingKey = str(flags, 'vendingKey');
  if (vendingKey !== undefined && !/^[0-9a-fA-F]{16}$/.test(vendingKey)) {
    throw new UsageError('--vending-key: expected 16 hex digits');
  }
  return {
    kind,
    phases,
    dlms: dlmsFlags(flags),
    mode: oneOf(flags, 'mode', MODES, 'token'),
    creditUnit,
    protocol: oneOf(flags, 'protocol', SIM_PROTOCOL_NAMES, 'mqtt'),
    clock: new ScaledClock({ speed, ...(startMs !== undefined ? { startMs } : {}) }),
    intervalS,
    seed: num(flags, 'seed', 1, { int: true }),
    initialCredit: optNum(flags, 'initialCredit'),
    emergencyCredit: num(flags, 'emergencyCredit', 0, { min: 0 }),
    tamperRatePerDay: num(flags, 'tamperRate', 0, { min: 0 }),
    vendingKey,
    sgc,
    utility,
    password: str(flags, 'password') ?? process.env.RASID_SIM_PASSWORD,
  };
}

function dlmsFlags(flags: Flags): Omit<DlmsSettings, 'basePort'> {
  const key = (name: 'dlmsEk' | 'dlmsAk', fallback: Buffer): Buffer => {
    const v = str(flags, name);
    if (v === undefined) return fallback;
    if (!/^[0-9a-fA-F]{32}$/.test(v)) throw new UsageError(`--${kebab(name)}: expected 32 hex digits`);
    return Buffer.from(v, 'hex');
  };
  const password = str(flags, 'dlmsPassword') ?? DEMO_DLMS_SECRETS.password;
  if (password.length === 0 || password.length > 64) {
    throw new UsageError('--dlms-password: expected 1 to 64 characters');
  }
  return {
    host: str(flags, 'host') ?? '127.0.0.1',
    framing: oneOf(flags, 'dlmsFraming', ['wrapper', 'hdlc'] as const, 'wrapper'),
    security: oneOf<SimDlmsSecurity>(flags, 'dlmsSecurity', SIM_DLMS_SECURITIES, 'none'),
    secrets: {
      password,
      encryptionKey: key('dlmsEk', DEMO_DLMS_SECRETS.encryptionKey),
      authenticationKey: key('dlmsAk', DEMO_DLMS_SECRETS.authenticationKey),
    },
  };
}

/** The first port of a server face when none is given: 1502 for Modbus, 4059 (the wrapper's) for DLMS. */
function defaultPort(protocol: SimProtocol): number {
  return protocol === 'dlms' ? 4059 : 1502;
}

/** Registers `rasid sim` with its subcommands. */
export function registerSimCommand(program: Command): void {
  const sim = program
    .command('sim')
    .description(
      'simulated prepaid meters (MQTT, Modbus TCP or DLMS/COSEM) for technicians, demos and load tests',
    );

  meterOptions(
    sim
      .command('meter')
      .description('run one simulated meter with a keypad prompt for tokens on stdin')
      .requiredOption('--serial <id>', 'meter serial (the meter id in topics)')
      .option('--drn <digits>', 'decoder reference number, 11 digits (default: from the serial digits)')
      .option('--decoder-key <hex>', 'decoder key outright, instead of deriving it from the vending key')
      .option('--username <name>', 'mqtt: username (default: the serial)')
      .option('--port <n>', 'modbus, dlms: TCP port (0 picks a free one; default 1502 modbus, 4059 dlms)')
      .option('--no-keypad', 'no keypad prompt; run until interrupted'),
  ).action(async (flags: Flags) => {
    await runMeter(flags);
  });

  meterOptions(
    sim
      .command('fleet')
      .description('run many simulated meters in one process with a live summary on stderr')
      .option('--meters <n>', 'number of meters (required unless --credentials gives them)')
      .option(
        '--credentials <file>',
        'mqtt: the meters, their utility and sign-ins from a file Rasid issued (rasid credentials, docs/import.md)',
      )
      .option('--serial-prefix <text>', 'serial of meter i = prefix + i (6 digits)', 'SIM-')
      .option('--drn-base <n>', 'DRN of meter i = base + i (11 digits)', '10000000000')
      .option('--username-prefix <text>', 'mqtt: username = prefix + serial (no username when not given)')
      .option(
        '--base-port <n>',
        'modbus, dlms: meter i (from 1) listens on base + i - 1 (0 picks free ports; default 1502 modbus, 4059 dlms)',
      )
      .option('--start-rate <n>', 'faces started per second', '200')
      .option('--summary-every <s>', 'seconds between summary lines (default 1 on a terminal, else 5)')
      .option('--duration <s>', 'stop after this many real seconds')
      .option('--until <iso>', 'stop when the simulated clock reaches this instant (ISO 8601)')
      .option(
        '--bulk <serial>',
        'a district (docs/losses.md): this meter of the fleet is the bulk meter of all the others',
      )
      .option('--technical-loss <share>', "with --bulk: the network's own loss, a share of the inflow", '0')
      .option('--bypass <serials>', 'comma-separated serials whose premises bypass part of the meter')
      .option('--bypass-share <share>', 'with --bypass: the share of demand wired around the meter', '0.5')
      .option(
        '--bypass-from <iso>',
        'with --bypass: the simulated instant the bypass starts (default: always)',
      )
      .option(
        '--gateway-config <file>',
        'modbus, dlms: once every meter listens, write a rasid gateway configuration for the fleet',
      )
      .option('--gateway-id <id>', 'gateway id in --gateway-config', 'gw-sim')
      .option('--gateway-username <name>', 'broker username of the gateway in --gateway-config')
      .option('--gateway-password <secret>', 'broker password of the gateway in --gateway-config')
      .option('--gateway-meter-host <ip>', 'address the gateway reaches the meters at (default: --host)'),
  ).action(async (flags: Flags) => {
    await runFleet(flags);
  });

  sim
    .command('commission')
    .description(
      "walk the technician's commissioning of a meter against a running Rasid, with a simulated meter on MQTT",
    )
    .requiredOption('--rasid-url <url>', "Rasid's URL, e.g. http://127.0.0.1:8080")
    .requiredOption('--username <name>', 'operator or technician username')
    .option('--password <secret>', 'their password (or RASID_PASSWORD)')
    .option('--utility <code>', 'utility code', 'demo')
    .requiredOption('--serial <id>', 'meter serial')
    .option('--kind <kind>', `meter kind: ${KINDS.join(' | ')}`, 'electricity')
    .option('--mode <mode>', 'token | central', 'token')
    .option('--iin <digits>', 'STS issuer identification number', '600727')
    .option('--drn <digits>', 'decoder reference number, 11 digits (default: from the serial digits)')
    .option('--sgc <digits>', 'supply group code', '123456')
    .option('--ti <n>', 'tariff index', '1')
    .option('--krn <n>', 'key revision the meter leaves the factory with', '1')
    .option('--kt <n>', 'key type', '2')
    .option('--base-date <date>', 'STS base date: 1993-01-01 | 2014-01-01 | 2035-01-01', '2014-01-01')
    .option('--vending-key <hex>', 'vending key of the current key revision (default: the demo key)')
    .option('--new-krn <n>', 'rotate the meter to this key revision with the key change tokens')
    .option('--new-vending-key <hex>', 'vending key of the new key revision (default: the demo key)')
    .option('--broker <url>', 'broker URL for the meter (default: the one Rasid gives)')
    .option('--initial-credit <n>', "the simulated meter's factory credit (Wh or litres)", '10000')
    .option('--timeout <s>', 'seconds each wait (online, reading, acknowledgement) may take', '30')
    .action(async (flags: Flags) => {
      await runCommission(flags);
    });
}

// ---- sim commission ----

async function runCommission(flags: Flags): Promise<void> {
  const url = str(flags, 'rasidUrl') ?? '';
  if (!/^https?:\/\/[^\s]+$/.test(url))
    throw new UsageError(`--rasid-url: expected http(s)://..., got '${url}'`);
  const password = str(flags, 'password') ?? process.env.RASID_PASSWORD;
  if (!password) throw new UsageError('--password: required (or set RASID_PASSWORD)');
  const serial = str(flags, 'serial') ?? '';
  if (!isDeviceId(serial)) throw new UsageError(`--serial: '${serial}' is not a meter id`);
  const utility = str(flags, 'utility') ?? 'demo';
  if (!isUtilityCode(utility)) throw new UsageError(`--utility: '${utility}' is not a utility code`);
  const drn = str(flags, 'drn') ?? (serial.replace(/\D/g, '').slice(-11) || '0').padStart(11, '0');
  if (!/^[0-9]{11}$/.test(drn)) throw new UsageError(`--drn: expected 11 digits, got '${drn}'`);
  const iin = str(flags, 'iin') ?? '600727';
  if (!/^[0-9]{6}$/.test(iin)) throw new UsageError(`--iin: expected 6 digits, got '${iin}'`);
  const sgc = str(flags, 'sgc') ?? '123456';
  if (!/^[0-9]{6}$/.test(sgc)) throw new UsageError(`--sgc: expected 6 digits, got '${sgc}'`);
  const krn = num(flags, 'krn', 1, { int: true, min: 1 });
  if (krn > 9) throw new UsageError(`--krn: expected 1 to 9, got '${krn}'`);
  const newKrn = optNum(flags, 'newKrn', { int: true, min: 1 });
  if (newKrn !== undefined && (newKrn > 9 || newKrn === krn)) {
    throw new UsageError(`--new-krn: expected 1 to 9 and not --krn, got '${newKrn}'`);
  }
  const kt = num(flags, 'kt', 2, { int: true, min: 0 });
  if (kt > 3) throw new UsageError(`--kt: expected 0 to 3, got '${kt}'`);
  const ti = num(flags, 'ti', 1, { int: true, min: 0 });
  if (ti > 99) throw new UsageError(`--ti: expected 0 to 99, got '${ti}'`);
  const baseDate = oneOf(
    flags,
    'baseDate',
    ['1993-01-01', '2014-01-01', '2035-01-01'] as const,
    '2014-01-01',
  );
  const key = (name: 'vendingKey' | 'newVendingKey'): string => {
    const v = str(flags, name) ?? DEMO_VENDING_KEY;
    if (!/^[0-9a-fA-F]{16}$/.test(v)) throw new UsageError(`--${kebab(name)}: expected 16 hex digits`);
    return v;
  };
  const vendingKeys: Record<number, string> = { [krn]: key('vendingKey') };
  if (newKrn !== undefined) vendingKeys[newKrn] = key('newVendingKey');
  const broker = str(flags, 'broker');
  const out = process.stdout;
  const results = await commission({
    rasidUrl: url,
    utility,
    username: str(flags, 'username') ?? '',
    password,
    serial,
    kind: oneOf(flags, 'kind', KINDS, 'electricity'),
    mode: oneOf(flags, 'mode', MODES, 'token'),
    sts: { iin, drn, sgc: Number(sgc), ti, krn, kt: kt as 0 | 1 | 2 | 3, baseDate },
    vendingKeys,
    ...(newKrn !== undefined ? { newKrn } : {}),
    ...(broker !== undefined ? { brokerUrl: broker } : {}),
    initialCredit: num(flags, 'initialCredit', 10_000, { min: 0 }),
    timeoutMs: num(flags, 'timeout', 30, { min: 1 }) * 1000,
    onStep: (r) =>
      process.stderr.write(`${r.status === 'ok' ? '✓' : r.status === 'failed' ? '✗' : '-'} ${r.step}\n`),
  });
  out.write(formatReport(serial, results, new Date()));
  if (results.some((r) => r.status === 'failed')) process.exitCode = 1;
}

// ---- sim meter ----

async function runMeter(flags: Flags): Promise<void> {
  const c = commonFlags(flags);
  const serial = str(flags, 'serial') ?? '';
  if (!isDeviceId(serial))
    throw new UsageError(`--serial: '${serial}' is not a meter id (letters, digits, . - _)`);
  const drn = str(flags, 'drn') ?? (serial.replace(/\D/g, '').slice(-11) || '0').padStart(11, '0');
  const decoderKey = str(flags, 'decoderKey');
  if (decoderKey !== undefined && !/^[0-9a-fA-F]{16}$/.test(decoderKey)) {
    throw new UsageError('--decoder-key: expected 16 hex digits');
  }
  const stateDir = str(flags, 'stateDir');
  let opened: Awaited<ReturnType<typeof openMeter>>;
  try {
    opened = await openMeter(
      {
        serial,
        kind: c.kind,
        phases: c.phases,
        mode: c.mode,
        ...(c.creditUnit ? { creditUnit: c.creditUnit } : {}),
        sts: {
          drn,
          supplyGroupCode: c.sgc,
          ...(c.vendingKey ? { vendingKey: c.vendingKey } : {}),
          ...(decoderKey ? { decoderKey } : {}),
        },
        seed: c.seed,
        ...(c.initialCredit !== undefined ? { initialCredit: c.initialCredit } : {}),
        emergencyCredit: c.emergencyCredit,
        tamperRatePerDay: c.tamperRatePerDay,
      },
      c.clock,
      stateDir ? new FileStateStore(stateDir) : null,
    );
  } catch (err) {
    if (err instanceof StsError) throw new UsageError(`--drn: ${err.message}`);
    throw err;
  }
  const { meter, saver } = opened;
  const stats = newFleetStats();
  const port = num(flags, 'port', defaultPort(c.protocol), { int: true, min: 0 });
  const face = await SIM_PROTOCOLS[c.protocol].start(meter, {
    index: 0,
    stats,
    broker: {
      url: str(flags, 'broker') ?? 'mqtt://127.0.0.1:1883',
      utility: c.utility,
      username: str(flags, 'username') ?? serial,
      ...(c.password !== undefined ? { password: c.password } : {}),
    },
    modbus: {
      host: str(flags, 'host') ?? '127.0.0.1',
      basePort: port,
      unitId: num(flags, 'unitId', 1, { int: true }),
    },
    dlms: { ...c.dlms, basePort: port },
    intervalS: c.intervalS,
  });
  const out = process.stdout;
  try {
    await face.ready;
  } catch (err) {
    await saver?.flush();
    throw new Error(`${c.protocol} ${face.endpoint}: ${(err as Error).message}`);
  }
  out.write(`meter ${serial} (${describeMeter(meter)}) on ${c.protocol} ${face.endpoint}\n`);
  out.write(`credit ${formatCredit(meter)}, relay ${meter.relay}\n`);
  meter.on('relay', (r) => out.write(`relay ${r.relay} (${r.cause})\n`));
  meter.on('token', (o) => {
    if (o.source !== 'keypad') out.write(`${o.source} token: ${describeOutcome(o, meter)}\n`);
  });

  const timer = setInterval(
    () => {
      face.onSchedule();
      saver?.request();
    },
    Math.max(50, c.clock.toRealMs(c.intervalS * 1000)),
  );
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(timer);
      await face.stop(true);
      saver?.request();
      await saver?.flush();
      out.write(`stopped; credit ${formatCredit(meter)}\n`);
    })();
    return stopping;
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());

  if (flags.keypad === false) {
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await stop();
    return;
  }
  await keypad(meter, face, out);
  await stop();
}

/** The keypad prompt: tokens and a few technician words; ends when stdin closes or on `quit`. */
async function keypad(meter: SimMeter, face: RunningFace, out: NodeJS.WritableStream): Promise<void> {
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: process.stdin.isTTY === true,
  });
  out.write('keypad: type a 20-digit token, or help\n');
  rl.setPrompt('keypad> ');
  rl.prompt();
  for await (const raw of rl) {
    const line = raw.trim();
    if (line === 'quit' || line === 'exit') break;
    if (line !== '') out.write(`${keypadLine(line, meter, face)}\n`);
    rl.prompt();
  }
  rl.close();
}

const ALARMS: readonly TamperKind[] = ['tamper', 'cover_open', 'magnetic'];

function keypadLine(line: string, meter: SimMeter, face: RunningFace): string {
  const [word, arg] = line.split(/\s+/);
  if (/^[0-9][0-9\s-]*$/.test(line)) {
    return describeOutcome(meter.enterToken(line, 'keypad'), meter);
  }
  switch (word) {
    case 'help':
      return [
        '<20 digits>     enter a token (spaces and dashes allowed)',
        'status          credit, relay, registers and flags',
        'reading         take and send a reading now',
        'emergency       take emergency credit',
        `alarm <kind>    raise an alarm: ${ALARMS.join(', ')}`,
        'quit            stop the meter (or close stdin)',
      ].join('\n');
    case 'status': {
      const regs = meter.registers();
      const reg = meter.kind === 'electricity' ? `energy ${regs.energyWh} Wh` : `volume ${regs.volumeL} L`;
      const flags = meter.flags();
      return `credit ${formatCredit(meter)}, relay ${meter.relay}${meter.relay === 'disconnected' ? ` (${meter.disconnectCauses.join(', ')})` : ''}, ${reg}, flags ${flags.length ? flags.join(' ') : 'none'}`;
    }
    case 'reading':
      face.onSchedule();
      return 'reading taken';
    case 'emergency':
      return meter.takeEmergencyCredit()
        ? `emergency credit in use; relay ${meter.relay}`
        : 'no emergency credit available';
    case 'alarm': {
      if (!ALARMS.includes(arg as TamperKind)) return `alarm: expected one of ${ALARMS.join(', ')}`;
      meter.raiseAlarm(arg as TamperKind);
      return `alarm ${arg} raised; relay ${meter.relay}`;
    }
    default:
      return `unknown input '${line}': type help`;
  }
}

function describeMeter(meter: SimMeter): string {
  const kind = meter.kind === 'electricity' ? `electricity ${meter.phases}-phase` : 'water';
  return `${kind}, ${meter.mode} mode`;
}

function formatCredit(meter: SimMeter): string {
  const c = meter.credit;
  if (meter.creditUnit === 'wh') return `${(c / 1000).toFixed(3)} kWh`;
  if (meter.creditUnit === 'litre') return `${c} L`;
  return `${c} (minor units)`;
}

function describeOutcome(o: TokenOutcome, meter: SimMeter): string {
  if (o.accepted) return `accepted: ${o.message}; credit ${formatCredit(meter)}`;
  return `rejected (${o.rejection}): ${o.message}; credit ${formatCredit(meter)}`;
}

// ---- sim fleet ----

/** The meters of a credentials file (`rasid credentials --out`, `POST /api/v1/meters/mqtt-credentials`). */
async function namedMeters(
  file: string,
): Promise<{ utility: string; brokerUrl: string | null; named: NamedMeter[] }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--credentials: ${err instanceof Error ? err.message : String(err)}`);
  }
  const f = parsed as {
    utility?: unknown;
    brokerUrl?: unknown;
    meters?: {
      serial?: unknown;
      username?: unknown;
      password?: unknown;
      drn?: unknown;
      sgc?: unknown;
      kind?: unknown;
      mode?: unknown;
    }[];
  };
  if (typeof f.utility !== 'string' || !Array.isArray(f.meters) || f.meters.length === 0) {
    throw new UsageError(
      '--credentials: expected { utility, meters: [{ serial, username, password, ... }] }',
    );
  }
  const named = f.meters.map((m, i): NamedMeter => {
    if (typeof m.serial !== 'string' || !isDeviceId(m.serial) || typeof m.password !== 'string') {
      throw new UsageError(`--credentials: meter ${i + 1} needs a serial and a password`);
    }
    return {
      serial: m.serial,
      password: m.password,
      ...(typeof m.username === 'string' ? { username: m.username } : {}),
      ...(typeof m.drn === 'string' && /^[0-9]{11}$/.test(m.drn) ? { drn: m.drn } : {}),
      ...(typeof m.sgc === 'number' ? { supplyGroupCode: String(m.sgc).padStart(6, '0') } : {}),
      ...(m.kind === 'electricity' || m.kind === 'water' ? { kind: m.kind } : {}),
      ...(m.mode === 'token' || m.mode === 'central' ? { mode: m.mode } : {}),
    };
  });
  return { utility: f.utility, brokerUrl: typeof f.brokerUrl === 'string' ? f.brokerUrl : null, named };
}

async function runFleet(flags: Flags): Promise<void> {
  const credentialsFile = str(flags, 'credentials');
  const fromFile = credentialsFile === undefined ? null : await namedMeters(credentialsFile);
  if (fromFile === null && flags.meters === undefined) {
    throw new UsageError("required option '--meters <n>' not specified (or give --credentials)");
  }
  const c = commonFlags(
    // The credentials are the utility's: its code comes from the file.
    fromFile === null ? flags : { ...flags, utility: fromFile.utility },
  );
  const meters = fromFile
    ? Math.min(fromFile.named.length, num(flags, 'meters', fromFile.named.length, { int: true, min: 1 }))
    : num(flags, 'meters', 1, { int: true, min: 1 });
  const serialPrefix = str(flags, 'serialPrefix') ?? 'SIM-';
  if (!isDeviceId(`${serialPrefix}000001`))
    throw new UsageError(`--serial-prefix: '${serialPrefix}' does not make a meter id`);
  const drnBase = num(flags, 'drnBase', 10_000_000_000, { int: true, min: 0 });
  if (drnBase + meters > 99_999_999_999)
    throw new UsageError('--drn-base: DRNs would need more than 11 digits');
  const duration = optNum(flags, 'duration', { min: 0 });
  const instant = (name: string): number | undefined => {
    const text = str(flags, name);
    if (text === undefined) return undefined;
    const ms = Date.parse(text);
    if (Number.isNaN(ms))
      throw new UsageError(
        `--${name.replace(/[A-Z]/g, (x) => `-${x.toLowerCase()}`)}: '${text}' is not an ISO 8601 instant`,
      );
    return ms;
  };
  const until = instant('until');
  const bulkSerial = str(flags, 'bulk');
  const technicalLoss = num(flags, 'technicalLoss', 0, { min: 0 });
  if (technicalLoss >= 1) throw new UsageError('--technical-loss: a share below 1');
  const bypassList = str(flags, 'bypass');
  const bypassSerials = new Set(
    (bypassList ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== ''),
  );
  const bypassShare = num(flags, 'bypassShare', 0.5, { min: 0 });
  if (bypassShare > 1) throw new UsageError('--bypass-share: a share from 0 to 1');
  const bypassFrom = instant('bypassFrom');
  const usernamePrefix = str(flags, 'usernamePrefix');
  const gatewayConfigPath = str(flags, 'gatewayConfig');
  if (gatewayConfigPath !== undefined && c.protocol === 'mqtt') {
    throw new UsageError('--gateway-config: an mqtt fleet talks to the broker itself; use modbus or dlms');
  }
  const gatewayId = str(flags, 'gatewayId') ?? 'gw-sim';
  if (!isDeviceId(gatewayId)) throw new UsageError(`--gateway-id: '${gatewayId}' is not a gateway id`);
  const basePort = num(flags, 'basePort', defaultPort(c.protocol), { int: true, min: 0 });
  if (basePort > 0 && basePort + meters - 1 > 65535) {
    throw new UsageError(`--base-port: ${meters} meters from port ${basePort} go past 65535`);
  }
  const fleet = new SimFleet({
    meters,
    protocol: c.protocol,
    kind: c.kind,
    phases: c.phases,
    mode: c.mode,
    ...(c.creditUnit ? { creditUnit: c.creditUnit } : {}),
    clock: c.clock,
    seed: c.seed,
    intervalS: c.intervalS,
    serialPrefix,
    drnBase,
    supplyGroupCode: c.sgc,
    ...(c.vendingKey ? { vendingKey: c.vendingKey } : {}),
    // A fleet starts with some credit so that its relays are closed and readings show consumption.
    initialCredit: c.initialCredit ?? (c.kind === 'electricity' ? 100_000 : 20_000),
    emergencyCredit: c.emergencyCredit,
    tamperRatePerDay: c.tamperRatePerDay,
    broker: {
      url: str(flags, 'broker') ?? fromFile?.brokerUrl ?? 'mqtt://127.0.0.1:1883',
      utility: c.utility,
      ...(usernamePrefix !== undefined ? { usernamePrefix } : {}),
      ...(c.password !== undefined ? { password: c.password } : {}),
    },
    modbus: {
      host: str(flags, 'host') ?? '127.0.0.1',
      basePort,
      unitId: num(flags, 'unitId', 1, { int: true }),
    },
    dlms: { ...c.dlms, basePort },
    ...(str(flags, 'stateDir') ? { stateDir: str(flags, 'stateDir') } : {}),
    startRate: num(flags, 'startRate', 200, { min: 1 }),
    ...(fromFile ? { named: fromFile.named.slice(0, meters) } : {}),
    ...(bulkSerial !== undefined ? { bulkSerial, technicalLoss } : {}),
    ...(bypassSerials.size > 0
      ? {
          bypass: {
            serials: bypassSerials,
            share: bypassShare,
            ...(bypassFrom !== undefined ? { fromMs: bypassFrom } : {}),
          },
        }
      : {}),
  });
  const err = process.stderr;
  const tty = err.isTTY === true;
  const show = (final: boolean): void => {
    const line = fleet.summary();
    if (tty) err.write(`\r\u001b[2K${line}${final ? '\n' : ''}`);
    else err.write(`${line}\n`);
  };
  const every =
    flags.summaryEvery === undefined ? (tty ? 1 : 5) : num(flags, 'summaryEvery', 5, { min: 0.1 });
  const summary = setInterval(() => show(false), every * 1000);
  let stopped = false;
  const done = new Promise<void>((resolve) => {
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (duration !== undefined) setTimeout(stop, duration * 1000).unref();
    if (until !== undefined) {
      const clock = c.clock;
      const watch = setInterval(() => {
        if (clock.now() < until) return;
        clearInterval(watch);
        stop();
      }, 50);
      watch.unref();
    }
  });
  const starting = fleet.start();
  await Promise.race([starting, done]);
  if (!stopped) show(false);
  if (!stopped && gatewayConfigPath !== undefined) {
    const username = str(flags, 'gatewayUsername');
    const password = str(flags, 'gatewayPassword');
    const meterHost = str(flags, 'gatewayMeterHost');
    const config = fleet.gatewayConfig({
      gatewayId,
      utility: c.utility,
      brokerUrl: str(flags, 'broker') ?? 'mqtt://127.0.0.1:1883',
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(meterHost !== undefined ? { meterHost } : {}),
      // The gateway polls as often, in real time, as the meters would report in simulated time.
      pollIntervalS: Math.max(1, Math.round(c.intervalS / c.clock.speed)),
    });
    // Written whole or not at all: a gateway started on the file never reads half of it.
    const temporary = `${gatewayConfigPath}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, gatewayConfigPath);
    err.write(`gateway configuration for ${config.meters.length} meters written to ${gatewayConfigPath}\n`);
  }
  await done;
  clearInterval(summary);
  await fleet.stop(true);
  await starting.catch(() => {});
  show(true);
  // Not one meter could start (no broker, ports taken): a failure for scripts.
  if (fleet.stats.startFailures === meters) process.exitCode = 1;
}
