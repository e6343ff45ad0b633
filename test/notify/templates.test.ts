import { describe, expect, it } from 'vitest';
import {
  groupTokenDigits,
  renderTemplate,
  TEMPLATE_NAMES,
  TemplateError,
  toArabicIndicDigits,
} from '../../src/notify/templates.ts';
import { signWebhook, verifyWebhook } from '../../src/notify/webhook-signature.ts';

const LRI = '\u2066';
const PDI = '\u2069';
const iso = (s: string) => `${LRI}${s}${PDI}`;

const PAYLOADS = {
  low_credit: { customerName: 'Huda', accountNumber: 'A-17', credit: '0.850', currency: 'JOD', daysLeft: 2 },
  disconnect: {
    customerName: 'Huda',
    accountNumber: 'A-17',
    meterSerial: 'SN-1001',
    credit: '-0.200',
    currency: 'JOD',
  },
  reconnect: {
    customerName: 'Huda',
    accountNumber: 'A-17',
    meterSerial: 'SN-1001',
    credit: '4.800',
    currency: 'JOD',
  },
  token_delivery: { meterSerial: 'SN-1001', token: '23716100501183194197', units: '25.0', unit: 'kWh' },
  account_transfer: {
    customerName: 'Layla',
    accountNumber: 'A-17',
    reason: 'inheritance',
    subsidyCarried: true,
    at: '2026-11-10T09:30:00.000Z',
  },
  vend_receipt: {
    receiptNumber: 'R-000042',
    meterSerial: 'SN-1001',
    amountPaid: '5.000',
    currency: 'JOD',
    units: '25.0',
    unit: 'kWh',
    token: '23716100501183194197',
  },
  case_opened: {
    customerName: 'Huda',
    caseNumber: 'C-1024',
    category: 'meter_fault',
    dueAt: '2026-11-11T09:30:00.000Z',
  },
  case_updated: { customerName: 'Huda', caseNumber: 'C-1024', status: 'resolved', note: 'Meter replaced.' },
  case_survey: { customerName: 'Huda', caseNumber: 'C-1024', surveyUrl: 'https://rasid.example/survey/abc' },
  sign_in_code: { code: '048213', minutes: 10 },
  deceased_outreach: {
    contactName: 'Huda',
    holderName: 'Yousif',
    accountNumber: 'A-17',
    graceEndsOn: '2027-03-01',
    caseNumber: 'C-1024',
  },
  subsidy_ended: {
    contactName: 'Huda',
    holderName: 'Yousif',
    accountNumber: 'A-17',
    at: '2027-03-01T00:00:00.000Z',
    caseNumber: 'C-1024',
  },
} as const;

describe('templates', () => {
  it.each([
    {
      template: 'low_credit',
      language: 'en',
      text: 'Dear Huda, the credit on account A-17 is low: JOD 0.850, about 2 days at your recent use. Please top up soon to keep your supply on.',
    },
    {
      template: 'low_credit',
      language: 'ar',
      text: `عزيزنا Huda، رصيدك في الحساب ${iso('A-17')} منخفض: ${iso('0.850')} دينار أردني. الأيام المتبقية بحسب استهلاكك الأخير: نحو ${iso('2')}. نرجو شحن رصيدك قريبًا حتى لا تنقطع الخدمة.`,
    },
    {
      template: 'disconnect',
      language: 'ar',
      text: `عزيزنا Huda، نفد رصيد الحساب ${iso('A-17')} ففُصلت الخدمة عن العداد ${iso('SN-1001')}. ستعود الخدمة تلقائيًا بعد شحن الرصيد.`,
    },
    {
      template: 'reconnect',
      language: 'en',
      text: 'Dear Huda, the supply to meter SN-1001 has been reconnected. Your credit is JOD 4.800. Thank you.',
    },
    {
      template: 'token_delivery',
      language: 'en',
      text: 'Token for meter SN-1001: 2371-6100-5011-8319-4197 (25.0 kWh). If your meter has not applied it on its own, key it in.',
    },
    {
      template: 'token_delivery',
      language: 'ar',
      text: `رمز الشحن للعداد ${iso('SN-1001')}: ${iso('2371-6100-5011-8319-4197')} (${iso('25.0')} كيلوواط ساعة). إن لم يُطبَّق الرمز على العداد تلقائيًا فأدخله يدويًا.`,
    },
    {
      template: 'sign_in_code',
      language: 'en',
      text: 'Your Rasid sign-in code is 048213. It expires in 10 minutes. Do not share it: we will never ask you for it.',
    },
    {
      template: 'sign_in_code',
      language: 'ar',
      // No direction marks around the code: a bare number reads in order, and is copied as it is typed.
      text: 'رمز الدخول إلى رصيد: 048213. صالح لمدة 10 دقائق. لا تشاركه مع أحد، فلن نطلبه منك أبدًا.',
    },
    {
      template: 'vend_receipt',
      language: 'en',
      text: 'Receipt R-000042: you paid JOD 5.000 for meter SN-1001 and received 25.0 kWh. Token: 2371-6100-5011-8319-4197.',
    },
  ] as const)('$template in $language', ({ template, language, text }) => {
    expect(renderTemplate(template, language, PAYLOADS[template]).text).toBe(text);
  });

  it('writes every date and time in the utility time zone, in the language of the message', () => {
    // 21:12 UTC on 4 December is 01:12 on 5 December in Muscat.
    const at = '2026-12-04T21:12:00.000Z';
    const muscat = { timeZone: 'Asia/Muscat' } as const;
    const opened = { ...PAYLOADS.case_opened, dueAt: at };
    expect(renderTemplate('case_opened', 'en', opened, muscat).text).toBe(
      'Dear Huda, we have opened case C-1024 for your meter fault report. We aim to resolve it by 5 December 2026 at 01:12.',
    );
    expect(renderTemplate('case_opened', 'ar', opened, muscat).text).toBe(
      `عزيزنا Huda، سجّلنا طلبك رقم ${iso('C-1024')} بشأن بلاغ عطل في العداد. نسعى إلى إنجازه قبل 5 ديسمبر 2026 في 1:12 ص.`,
    );
    expect(renderTemplate('case_opened', 'ar', opened, { ...muscat, digits: 'arabic' }).text).toContain(
      'قبل ٥ ديسمبر ٢٠٢٦ في ١:١٢ ص.',
    );
    const moved = { ...PAYLOADS.account_transfer, at };
    expect(renderTemplate('account_transfer', 'en', moved, muscat).text).toContain(
      'to your name on 5 December 2026.',
    );
    expect(renderTemplate('account_transfer', 'ar', moved, muscat).text).toContain(
      'إلى اسمك بتاريخ 5 ديسمبر 2026.',
    );
    // Without a zone (a preview, say) the date is UTC's.
    expect(renderTemplate('account_transfer', 'en', moved).text).toContain(
      'to your name on 4 December 2026.',
    );
  });

  it('every template renders in both languages with a subject', () => {
    for (const template of TEMPLATE_NAMES) {
      for (const language of ['ar', 'en'] as const) {
        const message = renderTemplate(template, language, PAYLOADS[template]);
        expect(message.subject.length).toBeGreaterThan(0);
        expect(message.text.length).toBeGreaterThan(0);
      }
    }
  });

  it("a utility's own case category is named in its words, and the survey carries its link", () => {
    const own = {
      ...PAYLOADS.case_opened,
      category: 'water_leak',
      categoryName: { en: 'Water leak', ar: 'تسرّب مياه' },
    };
    expect(renderTemplate('case_opened', 'en', own).text).toContain('for your Water leak.');
    expect(renderTemplate('case_opened', 'ar', own).text).toContain('بشأن تسرّب مياه.');
    for (const language of ['ar', 'en'] as const) {
      const survey = renderTemplate('case_survey', language, PAYLOADS.case_survey).text;
      expect(survey).toContain('https://rasid.example/survey/abc');
      expect(survey).toContain(language === 'ar' ? 'أرسل رقمًا من 1' : 'Reply with a number from 1');
    }
  });

  it('tokens are grouped 4-4-4-4-4 in both languages, and can use Arabic-Indic digits', () => {
    expect(groupTokenDigits('23716100501183194197')).toBe('2371-6100-5011-8319-4197');
    const ar = renderTemplate('token_delivery', 'ar', PAYLOADS.token_delivery, { digits: 'arabic' }).text;
    expect(ar).toContain(iso('٢٣٧١-٦١٠٠-٥٠١١-٨٣١٩-٤١٩٧'));
    expect(ar).toContain(iso('٢٥٫٠'));
    expect(toArabicIndicDigits('0.850')).toBe('٠٫٨٥٠');
  });

  it('refuses an unknown template and a payload its schema refuses, naming the field', () => {
    expect(() => renderTemplate('welcome', 'en', {})).toThrow(TemplateError);
    expect(() =>
      renderTemplate('token_delivery', 'en', { ...PAYLOADS.token_delivery, token: '1234' }),
    ).toThrow(/token_delivery: token: a token is 20 digits/);
  });
});

describe('webhook signature', () => {
  const body = '{"id":"7","event":"low_credit"}';
  const header = signWebhook('s3cret', 1_772_524_800, body);

  it.each([
    {
      name: 'valid',
      secret: 's3cret',
      h: header,
      b: body,
      now: 1_772_524_800,
      result: { ok: true, timestampS: 1_772_524_800 },
    },
    {
      name: 'within tolerance',
      secret: 's3cret',
      h: header,
      b: body,
      now: 1_772_525_100,
      result: { ok: true, timestampS: 1_772_524_800 },
    },
    {
      name: 'stale',
      secret: 's3cret',
      h: header,
      b: body,
      now: 1_772_525_101,
      result: { ok: false, reason: 'stale' },
    },
    {
      name: 'wrong secret',
      secret: 'other',
      h: header,
      b: body,
      now: 1_772_524_800,
      result: { ok: false, reason: 'bad_signature' },
    },
    {
      name: 'body changed',
      secret: 's3cret',
      h: header,
      b: `${body} `,
      now: 1_772_524_800,
      result: { ok: false, reason: 'bad_signature' },
    },
    {
      name: 'no header',
      secret: 's3cret',
      h: undefined,
      b: body,
      now: 1_772_524_800,
      result: { ok: false, reason: 'malformed' },
    },
    {
      name: 'garbage',
      secret: 's3cret',
      h: 't=x,v1=zz',
      b: body,
      now: 1_772_524_800,
      result: { ok: false, reason: 'malformed' },
    },
  ])('$name', ({ secret, h, b, now, result }) => {
    expect(verifyWebhook(secret, h, b, now)).toEqual(result);
  });

  it('has the documented form', () => {
    expect(header).toMatch(/^t=1772524800,v1=[0-9a-f]{64}$/);
  });
});

describe('the glossary the screens and the messages share', async () => {
  const { TERMS, CURRENCIES, UNITS } = await import('../../web/i18n/glossary.js');
  const ar = (
    (await import(new URL('../../web/i18n/ar.js', import.meta.url).href)) as {
      default: Record<string, string>;
    }
  ).default;

  it('gives the Arabic messages the words the Arabic screens use', () => {
    const disconnect = renderTemplate('disconnect', 'ar', PAYLOADS.disconnect).text;
    const reconnect = renderTemplate('reconnect', 'ar', PAYLOADS.reconnect).text;
    const token = renderTemplate('token_delivery', 'ar', PAYLOADS.token_delivery).text;
    expect(disconnect).toContain(TERMS.supplyDisconnected.ar);
    expect(ar['alert.disconnected']).toBe(TERMS.supplyDisconnected.ar);
    expect(reconnect).toContain(TERMS.supplyReconnected.ar);
    expect(ar['alert.reconnected']).toBe(TERMS.supplyReconnected.ar);
    expect(token).toContain(TERMS.token.ar);
    expect(ar['token.label']).toBe(TERMS.token.ar);
    expect(token).toContain(UNITS.kWh.ar.name);
    expect(ar['unit.kWh']).toBe(UNITS.kWh.ar.symbol);
    expect(renderTemplate('reconnect', 'ar', { ...PAYLOADS.reconnect, currency: 'OMR' }).text).toContain(
      CURRENCIES.OMR!.ar.name,
    );
    expect(ar['currency.OMR']).toBe('ر.ع.');
  });
});
