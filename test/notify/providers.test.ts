/**
 * The HTTP SMS provider and the WhatsApp channel against local servers: what goes on the wire (a form body
 * and a GET address with Arabic text, a template message with its parameters), and which answers are
 * retried (408, 429, 5xx, WhatsApp's rate-limit codes) and which fail at once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Delivery, DeliveryError } from '../../src/notify/channels.ts';
import { HttpSmsProvider, readHttpReceipt } from '../../src/notify/http-sms.ts';
import { renderTemplate } from '../../src/notify/templates.ts';
import { WhatsAppChannel } from '../../src/notify/whatsapp.ts';
import { startWhatsAppCloud, type WhatsAppCloud } from '../support/whatsapp-cloud.ts';

interface Seen {
  method: string;
  url: string;
  type: string | undefined;
  body: string;
}

describe('the HTTP SMS provider', () => {
  let server: Server;
  let base = '';
  const seen: Seen[] = [];
  let answer: { status: number; body: string } = { status: 200, body: '{"data":{"id":77}}' };

  beforeEach(async () => {
    seen.length = 0;
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', type: req.headers['content-type'], body });
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const text = 'رصيدك منخفض: 0.850 ر.ع & "شكرًا"';

  it('fills a form body and reads the id at a dotted path', async () => {
    const provider = new HttpSmsProvider({
      url: `${base}/send`,
      method: 'POST',
      contentType: 'application/x-www-form-urlencoded',
      body: 'to={{to_digits}}&msg={{text}}&sender={{from}}&ref={{id}}',
      from: 'Rasid',
      idPath: 'data.id',
    });
    expect(await provider.send('+96891000001', text, '42')).toBe('77');
    const form = new URLSearchParams(seen[0]!.body);
    expect(seen[0]!.type).toContain('application/x-www-form-urlencoded');
    expect(Object.fromEntries(form)).toEqual({ to: '96891000001', msg: text, sender: 'Rasid', ref: '42' });
  });

  it('puts the text in a GET address, and a JSON body stays valid JSON', async () => {
    const get = new HttpSmsProvider({
      url: `${base}/api?dest={{to}}&text={{text}}`,
      method: 'GET',
      contentType: 'application/json',
      body: 'unused',
      from: 'Rasid',
    });
    expect(await get.send('+96891000001', text)).toBeUndefined();
    const url = new URL(seen[0]!.url, base);
    expect(seen[0]!.method).toBe('GET');
    expect(url.searchParams.get('dest')).toBe('+96891000001');
    expect(url.searchParams.get('text')).toBe(text);
    const json = new HttpSmsProvider({
      url: `${base}/json`,
      method: 'POST',
      contentType: 'application/json',
      body: '{"to":"{{to}}","text":"{{text}}"}',
      from: 'Rasid',
    });
    await json.send('+96891000001', text);
    expect(JSON.parse(seen[1]!.body)).toEqual({ to: '+96891000001', text });
  });

  it.each([
    [503, false],
    [429, false],
    [408, false],
    [400, true],
    [401, true],
  ])('an answer %i fails the message for good: %s', async (status, permanent) => {
    answer = { status, body: '{}' };
    const provider = new HttpSmsProvider({
      url: `${base}/send`,
      method: 'POST',
      contentType: 'application/json',
      body: '{"to":"{{to}}"}',
      from: 'Rasid',
    });
    const error = await provider.send('+96891000001', 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).permanent).toBe(permanent);
    answer = { status: 200, body: '{"data":{"id":77}}' };
  });

  it('reads delivery reports by the configured paths and words', () => {
    const o = { idPath: 'msg.id', statusPath: 'msg.state', delivered: ['delivrd'], failed: ['undeliv'] };
    expect(readHttpReceipt({ msg: { id: 9, state: 'DELIVRD' } }, o)).toEqual({
      id: '9',
      state: 'delivered',
      status: 'DELIVRD',
    });
    expect(readHttpReceipt({ msg: { id: 'a', state: 'UNDELIV' } }, o)).toMatchObject({ state: 'failed' });
    expect(readHttpReceipt({ msg: { id: 'a', state: 'ENROUTE' } }, o)).toBeNull();
    expect(readHttpReceipt({ other: 1 }, o)).toBeNull();
  });
});

describe('the WhatsApp channel', () => {
  let cloud: WhatsAppCloud;
  const WA = { accessToken: 'EAAG-token', appSecret: 'app-secret', phoneNumberId: '1065403522' };

  beforeEach(async () => {
    cloud = await startWhatsAppCloud({ ...WA, templates: ['rasid_token_delivery'] });
  });
  afterEach(async () => {
    await cloud.close();
  });

  function delivery(template: string, payload: Record<string, unknown>, language: 'ar' | 'en'): Delivery {
    return {
      id: '5',
      utilityId: '00000000-0000-0000-0000-000000000000' as Delivery['utilityId'],
      recipient: '+96891000001',
      template,
      language,
      payload,
      message: renderTemplate(template, language, payload),
    };
  }
  const token = { meterSerial: 'M-1', token: '23716100501183194197', units: '25.0', unit: 'kWh' };

  it('sends an approved template in the customer’s language with the payload as parameters', async () => {
    const channel = new WhatsAppChannel({ ...WA, apiBase: cloud.apiBase, templatePrefix: 'rasid_' });
    const accepted = await channel.deliver(delivery('token_delivery', token, 'en'));
    expect(accepted.providerRef).toMatch(/^wamid\./);
    expect(cloud.messages).toEqual([
      expect.objectContaining({
        to: '96891000001',
        template: 'rasid_token_delivery',
        language: 'en',
        parameters: ['M-1', '2371-6100-5011-8319-4197', '25.0', 'kWh'],
      }),
    ]);
  });

  it('fails at once for an unknown template or a bad token', async () => {
    const unknown = new WhatsAppChannel({ ...WA, apiBase: cloud.apiBase, templatePrefix: 'other_' });
    const e1 = await unknown.deliver(delivery('token_delivery', token, 'ar')).catch((e: unknown) => e);
    expect(e1).toMatchObject({ permanent: true, message: expect.stringContaining('132001') });
    const badToken = new WhatsAppChannel({
      ...WA,
      accessToken: 'wrong',
      apiBase: cloud.apiBase,
      templatePrefix: 'rasid_',
    });
    const e2 = await badToken.deliver(delivery('token_delivery', token, 'ar')).catch((e: unknown) => e);
    expect(e2).toMatchObject({ permanent: true, message: expect.stringContaining('190') });
  });

  it('retries after a rate limit (130429), then delivers', async () => {
    const channel = new WhatsAppChannel({ ...WA, apiBase: cloud.apiBase, templatePrefix: 'rasid_' });
    cloud.failNext = { status: 400, code: 130429, message: '(#130429) Rate limit hit' };
    const error = await channel.deliver(delivery('token_delivery', token, 'ar')).catch((e: unknown) => e);
    expect(error).toMatchObject({ permanent: false, message: expect.stringContaining('130429') });
    expect((await channel.deliver(delivery('token_delivery', token, 'ar'))).providerRef).toMatch(/^wamid\./);
    expect(cloud.messages).toHaveLength(1);
  });

  it('retries when the API cannot be reached', async () => {
    await cloud.close();
    const channel = new WhatsAppChannel({ ...WA, apiBase: cloud.apiBase, templatePrefix: 'rasid_' });
    const error = await channel.deliver(delivery('token_delivery', token, 'ar')).catch((e: unknown) => e);
    expect(error).toMatchObject({ permanent: false });
    cloud = await startWhatsAppCloud({ ...WA, templates: [] });
  });
});
