/** Stored secrets: scrypt hashes for passwords, SHA-256 for Rasid's random 256-bit API keys. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashSecret, verifySecret } from '../../../src/security/secrets.ts';

describe('verifySecret', () => {
  it('checks a scrypt hash', async () => {
    const stored = await hashSecret('correct horse');
    expect(await verifySecret('correct horse', stored)).toBe(true);
    expect(await verifySecret('correct horsf', stored)).toBe(false);
  });

  it('checks an API key against its SHA-256 form', async () => {
    const key = 'rgw_Zm9vYmFyYmF6cXV4cXV1eHh5enp5MTIzNDU2Nzg5MA';
    const stored = `sha256$${createHash('sha256').update(key).digest('hex')}`;
    expect(await verifySecret(key, stored)).toBe(true);
    expect(await verifySecret(`${key}x`, stored)).toBe(false);
  });

  it('never matches a malformed stored value', async () => {
    for (const stored of ['sha256$', 'sha256$abc', `sha256$${'g'.repeat(64)}`, 'plain', '']) {
      expect(await verifySecret('anything', stored)).toBe(false);
    }
  });
});
