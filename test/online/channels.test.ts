/**
 * A started Rasid sends a low-credit alert in Arabic over each real channel and shows it delivered:
 * SMPP to the test's SMSC (the `smpp` package's server side) and the WhatsApp Cloud API stand-in in one
 * Rasid, the HTTP SMS provider in another. The customer's channels are chosen through the API; the
 * delivery receipts come back over SMPP, the signed WhatsApp webhook and the provider's HTTP report, and
 * customer service reads the state on the customer's page.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../src/notify/webhook-signature.ts';
import { type Smsc, startSmsc } from '../support/smsc.ts';
import { startWhatsAppCloud, type WhatsAppCloud } from '../support/whatsapp-cloud.ts';
import { type OnlineWorld, onlineWorld, reportLowCredit, waitFor } from './world.ts';

const WA = {
  accessToken: 'EAAG-test-token',
  appSecret: 'app-secret-0123456789',
  phoneNumberId: '106540352242922',
};

/** The meter reports credit below the threshold; one balance pass decides the alert. */
async function lowCredit(w: OnlineWorld): Promise<void> {
  const meter = await reportLowCredit(w);
  const report = await w.server.metersOnline.runBalance();
  const decisions = report?.meters.find((m) => m.meterId === w.seed.meterId)?.decisions ?? [];
  expect(decisions.map((d) => d.kind)).toEqual(['alert_low_credit']);
  await meter.endAsync();
}

async function customerPage(w: OnlineWorld) {
  const res = await w.call('GET', `/api/v1/customers/${w.seed.customerId}/notifications`);
  expect(res.status).toBe(200);
  return res.json.items as { channel: string; template: string; language: string; state: string }[];
}

describe('a started Rasid with SMPP and WhatsApp', () => {
  let w: OnlineWorld;
  let smsc: Smsc;
  let cloud: WhatsAppCloud;

  beforeAll(async () => {
    smsc = await startSmsc('rasid', 'secret1');
    cloud = await startWhatsAppCloud({ ...WA, templates: ['rasid_low_credit', 'rasid_disconnect'] });
    w = await onlineWorld('channels-smpp', {
      OUTBOX_INTERVAL_SECONDS: '1',
      SMS_PROVIDER: 'smpp',
      SMPP_URL: smsc.url,
      SMPP_SYSTEM_ID: 'rasid',
      SMPP_PASSWORD: 'secret1',
      SMPP_SOURCE_ADDR: 'Rasid',
      WHATSAPP_PHONE_NUMBER_ID: WA.phoneNumberId,
      WHATSAPP_ACCESS_TOKEN: WA.accessToken,
      WHATSAPP_APP_SECRET: WA.appSecret,
      WHATSAPP_VERIFY_TOKEN: 'verify-me-please',
      WHATSAPP_API_BASE: cloud.apiBase,
    });
    cloud.webhookUrl = `${w.server.url}/api/v1/notify/whatsapp/webhook`;
  }, 120_000);

  afterAll(async () => {
    await w?.close();
    await smsc?.close();
    await cloud?.close();
  });

  it('answers the WhatsApp verification handshake only with the verify token', async () => {
    const ok = await fetch(
      `${w.server.url}/api/v1/notify/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=verify-me-please&hub.challenge=1158201444`,
    );
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('1158201444');
    const bad = await fetch(
      `${w.server.url}/api/v1/notify/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1`,
    );
    expect(bad.status).toBe(403);
    const forged = await fetch(`${w.server.url}/api/v1/notify/whatsapp/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
      body: JSON.stringify({ object: 'whatsapp_business_account', entry: [] }),
    });
    expect(forged.status).toBe(401);
  });

  it('sends the Arabic low-credit alert by SMPP and WhatsApp, and shows both delivered', async () => {
    // Rasid binds in the background at start.
    await waitFor(() => smsc.binds.length > 0);
    expect(smsc.binds).toEqual(['rasid']);
    // Customer service sets the customer's channels: SMS first, then WhatsApp (audited).
    const set = await w.call('PUT', `/api/v1/customers/${w.seed.customerId}/notification-preferences`, {
      channels: ['sms', 'whatsapp'],
      optOut: false,
    });
    expect(set.status).toBe(200);
    await lowCredit(w);

    await waitFor(() => smsc.messages.length === 1 && cloud.messages.length === 1, 20_000);
    const [sms] = smsc.messages;
    expect(sms).toMatchObject({ to: '962790000001', from: 'Rasid', dataCoding: 8 });
    expect(sms!.text).toContain('عزيزنا Huda Haddad، رصيدك في الحساب');
    expect(sms!.text).toContain('دينار أردني');
    const [wa] = cloud.messages;
    expect(wa).toMatchObject({ to: '962790000001', template: 'rasid_low_credit', language: 'ar' });
    expect(wa!.parameters.slice(0, 4)).toEqual(['Huda Haddad', 'jo-0001', '0.900', 'JOD']);

    await waitFor(async () => {
      const items = await customerPage(w);
      return items.length === 2 && items.every((i) => i.state === 'delivered');
    }, 20_000);
    const items = await customerPage(w);
    expect(items.map((i) => `${i.channel}:${i.template}:${i.language}:${i.state}`).sort()).toEqual([
      'sms:low_credit:ar:delivered',
      'whatsapp:low_credit:ar:delivered',
    ]);
    expect(cloud.webhookAnswers.every((a) => a.code === 200)).toBe(true);
    const metrics = await (await fetch(`${w.server.url}/metrics`)).text();
    expect(metrics).toMatch(/rasid_smpp_bound 1/);
    expect(metrics).toMatch(/rasid_notifications\{state="delivered"\} 2/);
    const audit = await w.server.core.store.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', '=', 'customer.notification_preferences')
      .execute();
    expect(audit).toHaveLength(1);
  });
});

describe('a started Rasid with the HTTP SMS provider', () => {
  let w: OnlineWorld;
  let provider: Server;
  const requests: {
    auth: string | undefined;
    body: { to: string; text: string; sender: string; ref: string };
  }[] = [];
  let rasidUrl = '';
  let hooks: Server;
  const hooked: { path: string; signature: string; body: string }[] = [];

  beforeAll(async () => {
    let n = 0;
    provider = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8').on('data', (d: string) => {
        raw += d;
      });
      req.on('end', () => {
        const body = JSON.parse(raw);
        requests.push({ auth: req.headers.authorization, body });
        const id = `agg-${++n}`;
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ result: { messageId: id } }));
        // The aggregator's delivery report, a moment later.
        setTimeout(() => {
          void fetch(`${rasidUrl}/api/v1/notify/sms/receipts/report-token-0123456789`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ messageId: id, status: 'DELIVRD' }),
          });
        }, 10);
      });
    });
    await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
    const port = (provider.address() as AddressInfo).port;
    hooks = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8').on('data', (d: string) => {
        raw += d;
      });
      req.on('end', () => {
        hooked.push({ path: req.url ?? '', signature: String(req.headers['rasid-signature']), body: raw });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    w = await onlineWorld('channels-http', {
      OUTBOX_INTERVAL_SECONDS: '1',
      SMS_PROVIDER: 'http',
      SMS_HTTP_URL: `http://127.0.0.1:${port}/sms/send`,
      SMS_HTTP_AUTHORIZATION: 'Bearer aggregator-key',
      SMS_HTTP_BODY: '{"to":"{{to}}","text":"{{text}}","sender":"{{from}}","ref":"{{id}}"}',
      SMS_HTTP_FROM: 'RasidUtil',
      SMS_HTTP_ID_PATH: 'result.messageId',
      SMS_HTTP_RECEIPT_TOKEN: 'report-token-0123456789',
      SMS_HTTP_RECEIPT_ID_PATH: 'messageId',
    });
    rasidUrl = w.server.url;
  }, 120_000);

  afterAll(async () => {
    await w?.close();
    provider?.closeAllConnections();
    await new Promise<void>((r) => provider?.close(() => r()));
    hooks?.closeAllConnections();
    await new Promise<void>((r) => hooks?.close(() => r()));
  });

  it("signs each webhook endpoint's events with its own secret and keeps a delivery log", async () => {
    const base = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`;
    const billing = await w.call('POST', '/api/v1/webhook-endpoints', {
      url: `${base}/billing`,
      events: ['low_credit'],
    });
    const crm = await w.call('POST', '/api/v1/webhook-endpoints', {
      url: `${base}/crm`,
      events: ['disconnect'],
    });
    expect([billing.status, crm.status]).toEqual([201, 201]);
    expect(billing.json.secret).toMatch(/^whsec_/);
    // The secret is sealed at rest: the row holds no clear text of it.
    const rows = await w.server.core.store.db.selectFrom('webhook_endpoints').select('secret_box').execute();
    for (const r of rows)
      expect(Buffer.from(r.secret_box).includes(Buffer.from(billing.json.secret))).toBe(false);
    const refused = await w.call('POST', '/api/v1/webhook-endpoints', {
      url: `${base}/x`,
      events: ['sign_in_code'],
    });
    expect(refused.status).toBe(400);
    const list = await w.call('GET', '/api/v1/webhook-endpoints');
    expect(list.json.items.map((e: { url: string }) => e.url)).toEqual([`${base}/billing`, `${base}/crm`]);

    await lowCredit(w);
    await waitFor(() => hooked.length === 1, 20_000);
    const [delivery] = hooked;
    expect(delivery!.path).toBe('/billing');
    const verdict = verifyWebhook(
      billing.json.secret,
      delivery!.signature,
      delivery!.body,
      Math.floor(Date.now() / 1000),
    );
    expect(verdict.ok).toBe(true);
    expect(JSON.parse(delivery!.body)).toMatchObject({ event: 'low_credit', language: 'ar' });
    await waitFor(async () => {
      const log = await w.call('GET', `/api/v1/webhook-endpoints/${billing.json.id}/deliveries`);
      return log.json.items.length === 1 && log.json.items[0].state === 'sent';
    });
    const crmLog = await w.call('GET', `/api/v1/webhook-endpoints/${crm.json.id}/deliveries`);
    expect(crmLog.json.items).toEqual([]);
  });

  it('sends the Arabic low-credit alert through the provider and shows it delivered from its report', async () => {
    await waitFor(() => requests.length === 1, 20_000);
    const [request] = requests;
    expect(request!.auth).toBe('Bearer aggregator-key');
    expect(request!.body).toMatchObject({ to: '+962790000001', sender: 'RasidUtil' });
    expect(request!.body.text).toContain('رصيدك في الحساب');
    await waitFor(async () => (await customerPage(w)).some((i) => i.state === 'delivered'), 20_000);
    const items = await customerPage(w);
    expect(items.map((i) => `${i.channel}:${i.language}:${i.state}`)).toEqual(['sms:ar:delivered']);
    // A report at a wrong address is refused and changes nothing.
    const wrong = await fetch(`${rasidUrl}/api/v1/notify/sms/receipts/not-the-token-at-all`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messageId: 'agg-1', status: 'UNDELIV' }),
    });
    expect(wrong.status).toBe(404);
  });
});
