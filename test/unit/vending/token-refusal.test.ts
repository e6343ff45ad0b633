import { describe, expect, it } from 'vitest';
import { StsError } from '../../../protocols/sts/index.ts';
import { RasidError } from '../../../src/errors.ts';
import { isTokenRefusal, TokenEngineError } from '../../../src/vending/tokens.ts';

describe('isTokenRefusal', () => {
  it('knows the STS encoders and the token engine refusals by their class', () => {
    expect(isTokenRefusal(new StsError('range', 'drn', 'not 11 digits'))).toBe(true);
    expect(isTokenRefusal(new TokenEngineError('meter lacks sts_drn'))).toBe(true);
  });

  it('does not take another error for a refusal because of its name', () => {
    const lookalike = new Error('drn: not 11 digits');
    lookalike.name = 'StsError';
    expect(isTokenRefusal(lookalike)).toBe(false);
    expect(isTokenRefusal(new RasidError('internal'))).toBe(false);
    expect(isTokenRefusal('StsError')).toBe(false);
  });
});
