/**
 * `npm run bench -- <name> [options]`: runs one benchmark from bench/<name>.ts. Each benchmark prints its
 * workload, its figures and the baseline measured in the same run (see docs/benchmarks.md).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { helpOf } from './args.ts';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && f !== 'args.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h') {
  process.stdout.write(`usage: npm run bench -- <name> [options]\n\nbenchmarks: ${available.join(', ')}\n`);
  process.exit(name ? 0 : 2);
}
if (!available.includes(name)) {
  process.stderr.write(`bench: unknown benchmark '${name}' (one of: ${available.join(', ')})\n`);
  process.exit(2);
}
// `--help` anywhere: the benchmark's own description (the comment that opens its file), and nothing run.
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(helpOf(readFileSync(join(here, `${name}.ts`), 'utf8')));
  process.exit(0);
}
const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as {
  run(args: readonly string[]): Promise<void>;
};
await mod.run(args);
