/**
 * Alerts through a started Rasid: a token-mode meter reports credit below the threshold over MQTT, a balance
 * pass decides a low-credit alert, and the outbox worker delivers it — an SMS to the customer (the log
 * provider) and a webhook to the utility's systems, signed with the configured secret.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, verifyWebhook } from '../../src/notify/webhook-signature.ts';
import { type OnlineWorld, onlineWorld, reportLowCredit, waitFor } from './world.ts';

const SECRET = 'whsec-utility-billing-0123456789';

describe('low-credit alerts from a started Rasid', () => {
  let w: OnlineWorld;
  let hook: Server;
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/rasid-events`;
    w = await onlineWorld('alerts', {
      NOTIFY_WEBHOOK_URL: url,
      NOTIFY_WEBHOOK_SECRET: SECRET,
      OUTBOX_INTERVAL_SECONDS: '1',
    });
  }, 120_000);

  afterAll(async () => {
    await w?.close();
    hook.closeAllConnections();
    await new Promise<void>((r) => hook.close(() => r()));
  });

  it('a meter reporting low credit makes one alert, by SMS and by a signed webhook', async () => {
    const meter = await reportLowCredit(w);
    // The engine evaluates the meter on the commit of its reading, with no pass asked for.
    await waitFor(async () => {
      const rows = await w.server.core.store.db
        .selectFrom('audit_log')
        .select('action')
        .where('subject', '=', `meter:${w.seed.meterId}`)
        .where('action', 'like', 'balance.%')
        .where('action', '<>', 'balance.consumption')
        .execute();
      return rows.length === 1 && rows[0]!.action === 'balance.alert_low_credit';
    });
    // The reconciliation sweep with nothing new decides nothing new: one alert per crossing.
    const again = await w.server.metersOnline.runBalance();
    const later = again?.meters.find((m) => m.meterId === w.seed.meterId)?.decisions ?? [];
    expect(later.map((d) => d.kind)).not.toContain('alert_low_credit');

    await waitFor(() => received.length > 0, 20_000);
    const [delivery] = received;
    const verdict = verifyWebhook(
      SECRET,
      delivery!.headers[SIGNATURE_HEADER] as string,
      delivery!.body,
      Math.floor(Date.now() / 1000),
    );
    expect(verdict.ok).toBe(true);
    expect(JSON.parse(delivery!.body)).toMatchObject({ event: 'low_credit' });
    await waitFor(() => w.test.logs.some((l) => l.includes('+962790000001')), 20_000);
    await waitFor(async () => {
      const rows = await w.server.core.store.db.selectFrom('notifications_outbox').select('state').execute();
      return rows.length > 0 && rows.every((r) => r.state === 'sent');
    }, 20_000);
    const metrics = await (await fetch(`${w.server.url}/metrics`)).text();
    expect(metrics).toMatch(/rasid_balance_decisions_total\{decision="alert_low_credit"\} 1/);
    await meter.endAsync();
  });
});
