import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';

describe('bin/rasid', () => {
  it('prints help with the subcommands', async () => {
    const res = await runCli(['--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('start');
    expect(res.stdout).toContain('token');
  });

  it.each(['start', 'token', 'token sts', 'token openpaygo'])('rasid %s --help', async (cmd) => {
    const res = await runCli([...cmd.split(' '), '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Usage: rasid /);
  });

  it('answers an unknown command with one line and exit code 2', async () => {
    const res = await runCli(['frobnicate']);
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain("unknown command 'frobnicate'");
  });

  it('refuses a bad PORT for start with exit code 2 naming the variable', async () => {
    const res = await runCli(['start', '--port', 'eighty']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('PORT');
  });
});
