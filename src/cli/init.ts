/**
 * `rasid init`: a utility and its first admin on the configured store (PGlite in DATA_DIR, or
 * DATABASE_URL), migrating first. The admin's password comes from RASID_ADMIN_PASSWORD, from standard input
 * when it is not a terminal, or is asked for (twice, not echoed) on a terminal; it is never printed. A
 * second `init` with the same code changes nothing and exits 1.
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { UsageError } from './errors.ts';

interface InitFlags {
  utility?: string;
  name?: string;
  nameAr?: string;
  currency?: string;
  timezone?: string;
  country?: string;
  taxRate: string;
  weekend: string;
  admin?: string;
}

/** Reads all of a non-terminal standard input; the password is its first line. */
async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return (Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '').trim();
}

/** Asks on the terminal without echoing what is typed. */
function ask(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const out = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WriteStream };
    let asked = false;
    out._writeToOutput = (s: string) => {
      if (!asked) {
        process.stderr.write(s);
        asked = true;
      }
    };
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}

async function adminPassword(): Promise<string> {
  const fromEnv = process.env.RASID_ADMIN_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (!process.stdin.isTTY) return readStdinLine();
  const first = await ask('Password for the admin: ');
  const again = await ask('The same password again: ');
  if (first !== again) throw new UsageError('the two passwords differ');
  return first;
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`--${flag}: required`);
  return value;
}

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description(
      'create a utility and its first admin on the configured store (PGlite in DATA_DIR, or DATABASE_URL), migrating first',
    )
    .option('--utility <code>', 'the utility code staff sign in with, e.g. muscat-power (required)')
    .option('--name <name>', "the utility's name (required)")
    .option('--name-ar <name>', "the utility's name in Arabic")
    .option('--currency <ISO-4217>', 'currency, e.g. OMR; its exponent follows (OMR, BHD, KWD: 3) (required)')
    .option('--timezone <IANA>', 'time zone of the times people read, e.g. Asia/Muscat (required)')
    .option('--country <CC>', 'ISO 3166 country code, e.g. OM')
    .option('--tax-rate <pct>', 'tax rate in percent, e.g. 5', '0')
    .option('--weekend <days>', 'weekend days, no disconnections, e.g. fri,sat', 'fri,sat')
    .option('--admin <username>', "the first admin's username (required)")
    .addHelpText(
      'after',
      [
        '',
        "The admin's password: RASID_ADMIN_PASSWORD, else standard input when it is not a terminal,",
        'else asked for on the terminal. At least 10 characters.',
        '',
        'Example:',
        '  RASID_ADMIN_PASSWORD=… rasid init --utility muscat-power --name "Muscat Power" \\',
        '    --name-ar "كهرباء مسقط" --currency OMR --timezone Asia/Muscat --country OM --tax-rate 5 --admin admin',
      ].join('\n'),
    )
    .action(async (flags: InitFlags) => {
      const { NewUtilityInput, createUtility, UtilityExistsError } = await import('../utilities/create.ts');
      const taxRatePct = Number(flags.taxRate);
      if (!Number.isFinite(taxRatePct))
        throw new UsageError(`--tax-rate: expected a percent, got '${flags.taxRate}'`);
      const weekend = flags.weekend
        .split(',')
        .map((d) => d.trim().toLowerCase())
        .filter((d) => d !== '');
      const fields = {
        code: required(flags.utility, 'utility'),
        name: required(flags.name, 'name'),
        ...(flags.nameAr !== undefined ? { nameAr: flags.nameAr } : {}),
        currency: required(flags.currency, 'currency'),
        timezone: required(flags.timezone, 'timezone'),
        ...(flags.country !== undefined ? { country: flags.country } : {}),
        taxRatePct,
        weekend,
        admin: required(flags.admin, 'admin'),
      };
      // Everything but the password is checked before asking for it.
      const checked = NewUtilityInput.omit({ password: true }).safeParse(fields);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        const flag = { code: 'utility', taxRatePct: 'tax-rate', nameAr: 'name-ar' }[String(issue?.path[0])];
        throw new UsageError(`--${flag ?? String(issue?.path[0])}: ${issue?.message ?? 'invalid'}`);
      }
      const password = await adminPassword();
      const pw = NewUtilityInput.shape.password.safeParse(password);
      if (!pw.success) throw new UsageError(`admin password: ${pw.error.issues[0]?.message ?? 'invalid'}`);

      const config = loadConfig(process.env);
      const { createConfiguredStore } = await import('./store.ts');
      const { migrateToLatest } = await import('../store/migrate.ts');
      const store = await createConfiguredStore(config, 1);
      try {
        const outcome = await migrateToLatest(store.db);
        if (outcome.error !== undefined) {
          throw new Error(`migration failed: ${(outcome.error as Error).message ?? String(outcome.error)}`);
        }
        let made: Awaited<ReturnType<typeof createUtility>>;
        try {
          made = await createUtility(store.db, { ...checked.data, password }, { actor: 'system:init' });
        } catch (err) {
          if (err instanceof UtilityExistsError) {
            process.stderr.write(`rasid: ${err.message}; nothing changed\n`);
            process.exitCode = 1;
            return;
          }
          throw err;
        }
        const base = (config.publicUrl ?? `http://${config.host}:${config.port}`).replace(/\/$/, '');
        process.stdout.write(
          [
            `utility ${made.code} created (${made.currency}, ${made.exponent} decimals) on ${store.dialect}`,
            `admin ${fields.admin}${made.platformAdmin ? ' (platform administrator: may create further utilities)' : ''}`,
            `sign in at ${base}/#/signin with utility ${made.code}, username ${fields.admin}`,
            '',
          ].join('\n'),
        );
      } finally {
        await store.close();
      }
    });
}
