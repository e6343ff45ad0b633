/** A mistake in how a command was called: the CLI prints its one-line message and exits with code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Exit codes of every `rasid` subcommand. */
export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 2 });
