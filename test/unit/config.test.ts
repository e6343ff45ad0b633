import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { loadConfig } from '../../src/config.ts';

describe('loadConfig', () => {
  it('gives the embedded defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8080, logLevel: 'info', dataDir: '.data' });
  });

  it('coerces numbers and freezes the result', () => {
    const config = loadConfig({ PORT: '9090', LOG_LEVEL: 'warn' });
    expect(config.port).toBe(9090);
    expect(config.logLevel).toBe('warn');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: 'eighty' }, 'PORT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  ])('refuses %o and names %s', (source, variable) => {
    let caught: unknown;
    try {
      loadConfig(source);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ZodError);
    expect((caught as ZodError).issues[0]?.path).toEqual([variable]);
  });
});
