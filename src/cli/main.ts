import { Command, CommanderError } from 'commander';
import { ZodError } from 'zod';
import { EXIT, UsageError } from './errors.ts';
import { registerInitCommand } from './init.ts';
import { registerMigrateCommand } from './migrate.ts';
import { registerStartCommand } from './start.ts';
import { registerTokenCommand } from './token.ts';

/**
 * Subcommands whose modules pull in heavy dependencies (MQTT, Modbus, DLMS): loaded only when called, so the
 * token tools start fast. Their one-line descriptions are listed here for `rasid --help`.
 */
const ON_DEMAND: readonly {
  readonly name: string;
  readonly description: string;
  readonly load: () => Promise<(program: Command) => void>;
}[] = [
  {
    name: 'sim',
    description:
      'simulated prepaid meters (MQTT, Modbus TCP, DLMS/COSEM) for technicians, demos and load tests',
    load: async () => (await import('./sim.ts')).registerSimCommand,
  },
  {
    name: 'demo',
    description:
      'start Rasid with a seeded demo utility and a simulated fleet of meters (not for production)',
    load: async () => (await import('./demo.ts')).registerDemoCommand,
  },
  {
    name: 'import',
    description:
      "import customers, accounts, meters or the civil registry's deaths from a CSV or Excel file (see docs/import.md)",
    load: async () => (await import('./import.ts')).registerImportCommand,
  },
  {
    name: 'credentials',
    description: 'issue MQTT credentials to many meters at once into a file rasid sim fleet reads',
    load: async () => (await import('./credentials.ts')).registerCredentialsCommand,
  },
  {
    name: 'copy-to-postgres',
    description: 'copy the embedded store (PGlite in DATA_DIR) into an empty PostgreSQL database',
    load: async () => (await import('./copy-to-postgres.ts')).registerCopyToPostgresCommand,
  },
  {
    name: 'gateway',
    description: 'bridge Modbus TCP and DLMS/COSEM meters to Rasid over MQTT (see docs/gateway.md)',
    load: async () => (await import('./gateway.ts')).registerGatewayCommand,
  },
];

/** Builds the `rasid` command tree. Every subcommand registers itself from its own module. */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('rasid')
    .description('Rasid: prepaid smart-meter management for electricity and water utilities')
    .version('0.1.0')
    .showHelpAfterError(false)
    .configureOutput({ outputError: () => {} })
    .exitOverride();
  registerStartCommand(program);
  registerMigrateCommand(program);
  registerInitCommand(program);
  registerTokenCommand(program);
  const words = argv.filter((a) => !a.startsWith('-'));
  // `rasid help sim` is `rasid sim --help`: load the command it asks about.
  const called = words[0] === 'help' ? words[1] : words[0];
  for (const cmd of ON_DEMAND) {
    if (cmd.name === called) (await cmd.load())(program);
    else program.command(cmd.name).description(cmd.description);
  }
  return program;
}

function exitOverrideAll(cmd: Command): void {
  cmd.exitOverride();
  cmd.configureOutput({ outputError: () => {} });
  for (const sub of cmd.commands) exitOverrideAll(sub);
}

/** Runs the CLI with `argv` (without `node` and the script path) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = await buildProgram(argv);
  exitOverrideAll(program);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      if (err.exitCode === 0) return EXIT.ok;
      process.stderr.write(`rasid: ${err.message.replace(/^error: /, '')}\n`);
      return EXIT.usage;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`rasid: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof ZodError) {
      const first = err.issues[0];
      const where = first?.path.length ? `${first.path.join('.')}: ` : '';
      process.stderr.write(`rasid: ${where}${first?.message ?? 'invalid input'}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`rasid: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.failure;
  }
}
