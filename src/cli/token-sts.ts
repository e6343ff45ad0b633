import type { Command } from 'commander';

export function registerTokenStsCommand(token: Command): void {
  token.command('sts').description('STS (IEC 62055-41) tokens');
}
