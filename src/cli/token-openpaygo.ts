import type { Command } from 'commander';

export function registerTokenOpenPaygoCommand(token: Command): void {
  token.command('openpaygo').description('OpenPAYGO tokens');
}
