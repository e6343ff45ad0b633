/**
 * Defects fixed on the way to go-live, each from an empty install through HTTP and MQTT:
 * - a token the meter has accepted (its `token_accepted` event, with the token's digits or the id of the
 *   command that delivered it) is marked used, and its reversal answers 409 `token_already_used`;
 * - a subsidy-eligible account given the standard tariff's code is priced at the subsidised variant;
 * - arrears recorded on an account with a reason are recovered at the tariff's share of each payment.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEvent, meterTopic } from '../../protocols/mqtt/index.ts';
import { type Json, waitFor } from '../online/world.ts';
import { type FreshInstall, freshInstall, stsUnderVendingKey, VENDING_KEY } from '../support/fresh.ts';

const U = 'defects';

describe('go-live defects', () => {
  let f: FreshInstall;
  let admin: string;
  let kioskKey: string;
  const call = (method: string, path: string, body?: unknown) => f.call(admin, method, path, body);
  const meters: Record<string, { id: string; account: string }> = {};
  let sale = 0;

  async function vend(serial: string, amountMinor: number): Promise<Json> {
    sale += 1;
    const res = await fetch(`${f.url}/api/v1/vends`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': kioskKey,
        'idempotency-key': `defects-sale-${sale}`,
      },
      body: JSON.stringify({ meter: serial, amountMinor }),
    });
    const json = (await res.json()) as Json;
    expect([res.status, json.code]).toEqual([201, undefined]);
    return json;
  }

  beforeAll(async () => {
    f = await freshInstall('defects', [{ code: U }]);
    admin = await f.signIn(U, 'admin');
    expect((await call('POST', '/api/v1/vending-keys', VENDING_KEY)).status).toBe(201);
    const tariff = (code: string, price: number, extra: object = {}) =>
      call('POST', '/api/v1/tariffs', {
        code,
        name: code,
        kind: 'electricity',
        effectiveFrom: '2020-01-01',
        debtRecoveryBp: 2000,
        blocks: [{ upToUnits: null, priceMinorPerUnit: price }],
        ...extra,
      });
    expect((await tariff('RES', 20)).status).toBe(201);
    const sub = await tariff('RES-SUB', 10, { subsidised: true, variantOf: 'RES' });
    expect(sub.status).toBe(201);
    expect(sub.json.variantOf).toBe('RES');
    const customer = await call('POST', '/api/v1/customers', { name: 'Khalid', phone: '+96891000003' });
    let n = 0;
    for (const [serial, eligible] of [
      ['SUB-0001', true],
      ['STD-0001', false],
    ] as const) {
      n += 1;
      const premise = await call('POST', '/api/v1/premises', { address: `Way ${n}` });
      const account = await call('POST', '/api/v1/accounts', {
        customerId: customer.json.id,
        premiseId: premise.json.id,
        tariffCode: 'RES',
        subsidyEligible: eligible,
      });
      expect(account.status).toBe(201);
      const m = await call('POST', '/api/v1/meters', {
        serial,
        kind: 'electricity',
        protocol: 'mqtt',
        mode: 'token',
        accountId: account.json.id,
        sts: stsUnderVendingKey(`4700000010${n}`),
      });
      expect(m.status).toBe(201);
      await call('POST', `/api/v1/meters/${m.json.id}/state`, { to: 'installed', reason: 'fitted' });
      expect(
        (await call('POST', `/api/v1/meters/${m.json.id}/state`, { to: 'active', reason: 'live' })).status,
      ).toBe(200);
      meters[serial] = { id: m.json.id, account: account.json.id };
    }
    const vendor = await call('POST', '/api/v1/vendors', { name: 'Kiosk', creditLimitMinor: 1_000_000 });
    kioskKey = (await call('POST', `/api/v1/vendors/${vendor.json.id}/kiosks`, { name: 'Till' })).json.apiKey;
  }, 240_000);

  afterAll(async () => {
    await f?.close();
  });

  it('prices a subsidy-eligible account given the standard tariff code at its subsidised variant', async () => {
    const quote = (serial: string) =>
      f.call(null, 'POST', `/api/v1/utilities/${U}/quotes`, { meter: serial, amountMinor: 2_000 });
    const [eligible, standard] = await Promise.all([quote('SUB-0001'), quote('STD-0001')]);
    expect(standard.json.unitsBase).toBe('100000'); // 2.000 OMR at 20 baisa per kWh
    expect(eligible.json.unitsBase).toBe('200000'); // at the subsidised 10 baisa per kWh
  });

  it('marks a token used when the meter reports it accepted (by digits or by command id), and refuses its reversal with 409', async () => {
    const { id } = meters['STD-0001']!;
    const creds = (await call('POST', `/api/v1/meters/${id}/mqtt-credentials`)).json;
    const client = await mqtt.connectAsync(creds.brokerUrl, {
      clientId: creds.clientId,
      username: creds.username,
      password: creds.password,
      reconnectPeriod: 0,
    });
    const accepted = async (seq: number, details: Json) =>
      client.publishAsync(
        meterTopic(U, 'STD-0001', 'up/event'),
        encodeEvent({
          v: 1,
          seq,
          ts: new Date(Date.now() - (10 - seq) * 1000).toISOString(),
          kind: 'token_accepted',
          details,
        }),
        { qos: 1 },
      );
    const usedAt = async (token: string) =>
      ((await call('GET', `/api/v1/meters/${id}/tokens`)).json.tokens as Json[]).find(
        (t) => t.token === token,
      )?.usedAt ?? null;

    // Keyed in at the meter: the event carries the digits.
    const keyed = await vend('STD-0001', 1_000);
    expect(await usedAt(keyed.token)).toBeNull();
    await accepted(1, { token: keyed.token, creditWh: 50_000 });
    await waitFor(async () => (await usedAt(keyed.token)) !== null);
    const refused = await call('POST', `/api/v1/vends/${keyed.vendId}/reversal`, {
      reason: 'customer changed mind',
    });
    expect(refused.status).toBe(409);
    expect(refused.json.code).toBe('token_already_used');

    // Delivered by command (a vend pushed to the meter): the event names the command only.
    const pushed = await vend('STD-0001', 1_000);
    const command = await call('POST', `/api/v1/vends/${pushed.vendId}/push`);
    expect(command.status).toBe(201);
    await accepted(2, { commandId: command.json.id });
    await waitFor(async () => (await usedAt(pushed.token)) !== null);
    expect(
      (await call('POST', `/api/v1/vends/${pushed.vendId}/reversal`, { reason: 'duplicate sale' })).json.code,
    ).toBe('token_already_used');

    // A token the meter has not accepted may still be reversed.
    const unused = await vend('STD-0001', 1_000);
    expect(
      (await call('POST', `/api/v1/vends/${unused.vendId}/reversal`, { reason: 'wrong meter' })).status,
    ).toBe(200);
    await client.endAsync();
  });

  it('records arrears with a reason (audited) and recovers them at the tariff share of each payment', async () => {
    const { account } = meters['SUB-0001']!;
    const none = await call('POST', `/api/v1/accounts/${account}/arrears`, {
      amountMinor: 0,
      reason: 'nothing',
    });
    expect(none.status).toBe(400);
    const made = await call('POST', `/api/v1/accounts/${account}/arrears`, {
      amountMinor: 1_500,
      reason: 'unpaid bill of the previous billing system (March)',
    });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({
      recorded: { amount: '1.500' },
      recovered: { minor: '0' },
      outstanding: { amount: '1.500' },
    });
    const first = await vend('SUB-0001', 5_000);
    const line = (receipt: Json) =>
      receipt.receipt.lines.find((l: Json) => l.code === 'debt_recovery')?.amountMinor;
    expect(line(first)).toBe('-1000'); // 20 % of 5.000
    const second = await vend('SUB-0001', 5_000);
    expect(line(second)).toBe('-500'); // only what was left
    const after = await call('GET', `/api/v1/accounts/${account}/arrears`);
    expect(after.json).toMatchObject({ recovered: { minor: '1500' }, outstanding: { minor: '0' } });
    expect(after.json.entries).toEqual([
      expect.objectContaining({
        amount: { minor: '1500', amount: '1.500' },
        reason: 'unpaid bill of the previous billing system (March)',
      }),
    ]);
    const third = await vend('SUB-0001', 5_000);
    expect(line(third)).toBeUndefined();
  });
});
