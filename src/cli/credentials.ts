/**
 * `rasid credentials --out FILE`: MQTT credentials for many meters at once (an imported fleet). Each meter
 * without credentials (or only those of `--serial-prefix` / `--serials`; `--rotate` re-issues) gets a
 * username and a random password; the passwords are stored as scrypt hashes and written once, to FILE
 * (mode 0600), in the form `rasid sim fleet --credentials FILE` reads. Nothing secret goes to stdout.
 */
import { rename, writeFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { UsageError } from './errors.ts';
import { cliUtility, meterSecretKeyOf, openCliStore } from './store.ts';

export function registerCredentialsCommand(program: Command): void {
  program
    .command('credentials')
    .description('issue MQTT credentials to many meters at once and write them to a file (shown once)')
    .requiredOption(
      '--out <file>',
      'where to write the credentials (JSON, mode 0600; rasid sim fleet reads it)',
    )
    .option('--utility <code>', 'the utility (default: the only one in the store)')
    .option('--serial-prefix <text>', 'only meters whose serial starts with this')
    .option('--serials <list>', 'only these serials, comma-separated')
    .option('--rotate', 'also re-issue meters that have credentials (their old password stops working)')
    .option('--limit <n>', 'at most this many meters', '100000')
    .option('--broker <url>', 'the broker URL written into the file for the meters')
    .addHelpText(
      'after',
      `
Example, after rasid import meters:
  rasid credentials --utility muscat --serial-prefix MCT- --out fleet.json --broker mqtt://127.0.0.1:1883
  rasid sim fleet --credentials fleet.json --mode central`,
    )
    .action(async (flags: Record<string, string | boolean | undefined>) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit: expected a positive integer`);
      const serials =
        typeof flags.serials === 'string'
          ? flags.serials
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
          : undefined;
      const out = String(flags.out);
      const { issueFleetCredentials } = await import('../import/credentials.ts');
      const store = await openCliStore();
      try {
        const utility = await cliUtility(store, flags.utility as string | undefined);
        const bar = process.stderr.isTTY
          ? new cliProgress.SingleBar(
              {
                format: 'credentials {bar} {value}/{total} meters | {eta_formatted} left',
                stream: process.stderr,
              },
              cliProgress.Presets.shades_classic,
            )
          : null;
        let started = false;
        // Stored as the broker verifies meters: the keyed HMAC under a key derived from the master key.
        const meterKey = await meterSecretKeyOf(store);
        const file = await issueFleetCredentials({
          hash: (password) => meterKey.hash(password),
          db: store.db,
          utilityId: utility.id,
          actor: { actor: 'system:cli-credentials', userId: null },
          serials,
          serialPrefix: flags.serialPrefix as string | undefined,
          rotate: flags.rotate === true,
          limit,
          brokerUrl: (flags.broker as string | undefined) ?? null,
          onProgress: (done, total) => {
            if (!started) bar?.start(total, 0);
            started = true;
            bar?.update(done);
          },
        });
        bar?.stop();
        // Written whole or not at all, readable by its owner only.
        const temporary = `${out}.${process.pid}.tmp`;
        await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
        await rename(temporary, out);
        process.stdout.write(
          `${file.meters.length} meter${file.meters.length === 1 ? '' : 's'} of ${utility.code} issued MQTT credentials, written to ${out}\n`,
        );
      } finally {
        await store.close();
      }
    });
}
