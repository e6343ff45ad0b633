/**
 * Rasid's one logger port: the structured calls of pino's `Logger` (which is one), `fields` first. A module
 * names the part it uses (`Pick<Log, 'info' | 'warn'>`), so a test can hand it a small recorder.
 */
export interface Log {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  child(bindings: Record<string, unknown>): Log;
}
