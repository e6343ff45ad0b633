#!/usr/bin/env node
import { resolve } from 'node:path';
// Runs a TypeScript entry point of Rasid through tsx's loader: `node bin/run-ts.mjs <file.ts> [args...]`.
import { pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: run-ts <file.ts> [args...]\n');
  process.exit(2);
}
process.argv = [process.argv[0] ?? 'node', resolve(entry), ...rest];
await import(pathToFileURL(resolve(entry)).href);
