import { Command, CommanderError } from 'commander';
import { ZodError } from 'zod';
import { EXIT, UsageError } from './errors.ts';
import { registerGatewayCommand } from './gateway.ts';
import { registerMigrateCommand } from './migrate.ts';
import { registerSimCommand } from './sim.ts';
import { registerStartCommand } from './start.ts';
import { registerTokenCommand } from './token.ts';

/** Builds the `rasid` command tree. Every subcommand registers itself from its own module. */
export function buildProgram(): Command {
  const program = new Command('rasid')
    .description('Rasid: prepaid smart-meter management for electricity and water utilities')
    .version('0.1.0')
    .showHelpAfterError(false)
    .configureOutput({ outputError: () => {} })
    .exitOverride();
  registerStartCommand(program);
  registerMigrateCommand(program);
  registerTokenCommand(program);
  registerSimCommand(program);
  registerGatewayCommand(program);
  return program;
}

function exitOverrideAll(cmd: Command): void {
  cmd.exitOverride();
  cmd.configureOutput({ outputError: () => {} });
  for (const sub of cmd.commands) exitOverrideAll(sub);
}

/** Runs the CLI with `argv` (without `node` and the script path) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
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
