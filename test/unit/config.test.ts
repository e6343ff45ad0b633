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

  it('reads the SMS provider and WhatsApp settings', () => {
    const config = loadConfig({
      SMS_PROVIDER: 'smpp',
      SMPP_URL: 'smpp://smsc.operator.om:2775',
      SMPP_SYSTEM_ID: 'rasid',
      SMPP_PASSWORD: 'pw',
      SMPP_ENQUIRE_LINK_SECONDS: '45',
      SMS_HTTP_RECEIPT_DELIVERED: 'Delivered, DELIVRD',
      WHATSAPP_PHONE_NUMBER_ID: '106540352242922',
      WHATSAPP_ACCESS_TOKEN: 'EAAG',
      WHATSAPP_APP_SECRET: 'secret',
    });
    expect(config.sms.provider).toBe('smpp');
    expect(config.sms.smpp).toMatchObject({
      url: 'smpp://smsc.operator.om:2775',
      sourceAddr: 'Rasid',
      enquireLinkMs: 45_000,
    });
    expect(config.sms.http.delivered).toEqual(['delivered', 'delivrd']);
    expect(config.whatsapp).toMatchObject({ phoneNumberId: '106540352242922', templatePrefix: 'rasid_' });
    expect(loadConfig({}).whatsapp).toBeUndefined();
    expect(loadConfig({}).sms.provider).toBe('log');
  });

  it.each([
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: 'eighty' }, 'PORT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ SMS_PROVIDER: 'smpp', SMPP_SYSTEM_ID: 'rasid', SMPP_PASSWORD: 'pw' }, 'SMPP_URL'],
    [
      { SMS_PROVIDER: 'smpp', SMPP_URL: 'http://smsc:2775', SMPP_SYSTEM_ID: 'r', SMPP_PASSWORD: 'p' },
      'SMPP_URL',
    ],
    [{ SMS_PROVIDER: 'http' }, 'SMS_HTTP_URL'],
    [{ SMS_PROVIDER: 'carrier-pigeon' }, 'SMS_PROVIDER'],
    [{ WHATSAPP_PHONE_NUMBER_ID: '1065', WHATSAPP_ACCESS_TOKEN: 'EAAG' }, 'WHATSAPP_APP_SECRET'],
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

  it('takes a variable set to the empty string as unset, as compose and env files give them', () => {
    const config = loadConfig({ SMTP_URL: '', NOTIFY_WEBHOOK_URL: '', STRIPE_SECRET_KEY: '', PORT: '' });
    expect(config.smtp.url).toBeUndefined();
    expect(config.webhook.url).toBeUndefined();
    expect(config.stripe.secretKey).toBeUndefined();
    expect(config.port).toBe(8080);
  });
});
