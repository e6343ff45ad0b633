/**
 * The vend bench's rounds measure sales and their baseline's writes, not refusals: its second round must
 * sell and write as its first did. (Its baseline once gave the same token ids in every round, so from the
 * second round on its statements failed and Rasid's next vend took an id past the 24 bits a token carries.)
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;

describe('npm run bench -- vend, two short rounds on PostgreSQL', () => {
  it('sells in every round and the baseline writes without an error', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        'bin/run-ts.mjs',
        'bench/index.ts',
        'vend',
        ...['--rounds', '2', '--seconds', '1', '--meters', '10', '--vendors', '2', '--connections', '4'],
        ...['--baseline-connections', '4', '--log-level', 'warn', '--skip-pglite'],
      ],
      { cwd: root, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stdout).toMatch(/round 2: .*PostgreSQL [\d,]+ vends\/s/);
    expect(stdout).toContain('non-2xx or errors across all vend runs: 0');
    expect(stdout).toContain('baseline statement errors across all rounds: 0');
  }, 180_000);
});
