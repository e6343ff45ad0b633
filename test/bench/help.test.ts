/**
 * Every benchmark answers `--help` with its own description and runs nothing (`npm run bench -- <name> --help`).
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const benches = readdirSync(`${root}bench`)
  .filter(
    (f) =>
      f.endsWith('.ts') && !f.startsWith('_') && !['index.ts', 'args.ts'].includes(f) && !f.endsWith('.d.ts'),
  )
  .map((f) => f.slice(0, -3));

describe('bench --help', () => {
  it('finds the benchmarks', () => {
    expect(benches).toEqual(expect.arrayContaining(['fleet', 'vend']));
  });

  it.each(benches)('%s prints its usage and exits 0', async (name) => {
    for (const flag of ['--help', '-h']) {
      const { stdout } = await run(process.execPath, ['bin/run-ts.mjs', 'bench/index.ts', name, flag], {
        cwd: root,
        timeout: 60_000,
      });
      expect(stdout.startsWith(`\`npm run bench -- ${name}`)).toBe(true);
      // The description, not the benchmark's own output (each benchmark's first line starts "bench" or "#").
      expect(stdout).not.toMatch(/^(bench |# )/m);
    }
  });
});
