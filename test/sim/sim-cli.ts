/**
 * Runs `rasid sim ...` the way src/cli/main.ts runs every subcommand (exit codes, one-line errors), for
 * the tests of src/cli/sim.ts: `node bin/run-ts.mjs test/sim/sim-cli.ts sim meter ...`.
 */
import { Command, CommanderError } from 'commander';
import { EXIT, UsageError } from '../../src/cli/errors.ts';
import { registerSimCommand } from '../../src/cli/sim.ts';

const program = new Command('rasid').exitOverride().configureOutput({ outputError: () => {} });
registerSimCommand(program);
const all = (cmd: Command): void => {
  cmd.exitOverride().configureOutput({ outputError: () => {} });
  for (const sub of cmd.commands) all(sub);
};
all(program);
try {
  await program.parseAsync(process.argv.slice(2), { from: 'user' });
} catch (err) {
  if (err instanceof CommanderError) {
    if (err.exitCode !== 0) process.stderr.write(`rasid: ${err.message.replace(/^error: /, '')}\n`);
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (err instanceof UsageError) {
    process.stderr.write(`rasid: ${err.message}\n`);
    process.exitCode = EXIT.usage;
  } else {
    process.stderr.write(`rasid: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT.failure;
  }
}
