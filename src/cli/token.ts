import type { Command } from 'commander';
import { registerTokenOpenPaygoCommand } from './token-openpaygo.ts';
import { registerTokenStsCommand } from './token-sts.ts';

export function registerTokenCommand(program: Command): void {
  const token = program
    .command('token')
    .description('offline prepaid token tools for technicians and vendors (STS and OpenPAYGO)');
  registerTokenStsCommand(token);
  registerTokenOpenPaygoCommand(token);
}
