import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../../src/notify/templates.ts';

/** The payload the account transfer writes to the outbox (src/accounts/transfer.ts). */
const payload = {
  customerName: 'Layla Haddad',
  accountNumber: 'jo-0001',
  reason: 'inheritance',
  subsidyCarried: true,
  at: '2026-11-10T09:30:00.000Z',
};

describe('account_transfer template', () => {
  it.each([
    [
      'en',
      /transferred to your name on 10 November 2026\. The subsidised tariff of the account carries over/,
    ],
    ['ar', /نُقل الحساب .*jo-0001.* إلى اسمك .*تنتقل إليك التعرفة المدعومة/],
  ] as const)('renders in %s', (lang, text) => {
    const m = renderTemplate('account_transfer', lang, payload);
    expect(m.text).toMatch(text);
    expect(m.text).toContain('Layla Haddad');
  });

  it('says the standard tariff when the subsidy did not carry over, and refuses a bad payload', () => {
    expect(renderTemplate('account_transfer', 'en', { ...payload, subsidyCarried: false }).text).toContain(
      'standard tariff',
    );
    expect(() => renderTemplate('account_transfer', 'en', { ...payload, reason: 'gift' })).toThrow();
  });
});
