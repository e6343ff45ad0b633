/**
 * The technician's commissioning wizard in the browser, in Arabic and in English, against a started Rasid and
 * a simulated MQTT meter that connects with the credentials the wizard shows: find or register the meter,
 * credentials, key change (an operator pushes the two tokens; a technician, who may not issue them, skips),
 * the key check, a test token, the first reading and the relay test — each answered by the meter itself —
 * and the activation, refused with its reason until the meter has an account.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SimMeter, stsParametersFor, systemClock } from '../../firmware-sim/model/index.ts';
import { MqttMeterFace } from '../../firmware-sim/mqtt/index.ts';
import { VENDING_KEY_HEX } from '../support/vending-fixture.ts';
import { expectDirection, unlabelledFields } from './layout.ts';
import {
  DESKTOP,
  type Lang,
  type Page,
  pageDone,
  screenshot,
  signInAs,
  textOf,
  useWebWorld,
} from './support.ts';

/** The vending key of key revision 2, which the operator's key change moves the meter to. */
const NEXT_KEY_HEX = 'cdcdcdcdcdcdcdcd';

const faces: MqttMeterFace[] = [];

const web = useWebWorld('technician', async (world) => {
  await world.server.core.keys.put({
    utilityId: world.seed.utilityId,
    sgc: 123456,
    krn: 2,
    key: Buffer.from(NEXT_KEY_HEX, 'hex'),
    label: 'test VUDK 2',
  });
});

// Registered after the world's own: vitest runs it first, so the meters go before the broker does.
afterAll(async () => {
  for (const f of faces) await f.stop(true).catch(() => {});
});

const DONE: Record<Lang, string> = { ar: 'تمت', en: 'done' };

/** The wizard's step `name`: its list item, and a wait until its status badge says done. */
const step = (page: Page, name: string) => page.locator(`li[data-step="${name}"]`);
async function stepDone(page: Page, name: string, lang: Lang) {
  await expect
    .poll(() => textOf(page.getByTestId(`step-${name}-status`)), { timeout: 30_000 })
    .toBe(DONE[lang]);
}

/** Confirms the open confirmation dialog. */
async function confirm(page: Page) {
  const dialog = page.locator('dialog[open]');
  await dialog.waitFor();
  await dialog.locator(':scope > .actions > button.primary').click();
}

const CASES: readonly { lang: Lang; username: string; role: string; keyChange: boolean }[] = [
  { lang: 'ar', username: 'tariq', role: 'technician', keyChange: false },
  { lang: 'en', username: 'omar', role: 'operator', keyChange: true },
];

describe.each(CASES)('commissioning wizard ($lang, $role)', ({ lang, username, keyChange }) => {
  it('registers a meter, connects the simulated meter with the shown credentials, and passes every step', async () => {
    const serial = `JO-C-${lang.toUpperCase()}`;
    const drn = lang === 'ar' ? '00000002001' : '00000002002';
    const page = await web.newPage(lang, DESKTOP);
    await signInAs(page, web.world.url, username);
    await page.goto(`${web.world.url}/#/tech/commission`);
    await page.locator('[data-screen="commission"]').waitFor();
    await expectDirection(page, lang);

    // 1. Not in Rasid yet: register it with its STS parameters.
    await page.locator('#commission-serial').fill(serial);
    await page.locator('form[role=search] button[type=submit]').click();
    await page.locator('#sts-drn').fill(drn);
    await page.locator('#sts-sgc').fill('123456');
    expect(await unlabelledFields(page)).toBe(0);
    await screenshot(page, `technician-register-${lang}`);
    await page.locator('form[aria-labelledby="register-title"] button[type=submit]').click();
    await stepDone(page, 'meter', lang);

    // 2. Credentials, shown once; the simulated meter connects with exactly what the page shows.
    await step(page, 'credentials').locator(':scope > .actions > button.primary').click();
    const username_ = await textOf(page.getByTestId('mqtt-username'));
    const password = await textOf(page.getByTestId('mqtt-password'));
    const brokerUrl = await textOf(page.getByTestId('mqtt-broker'));
    const clientId = await textOf(page.getByTestId('mqtt-client-id'));
    expect(username_).toBe(`jo.${serial}`);
    await screenshot(page, `technician-credentials-${lang}`);
    const meter = new SimMeter(
      {
        serial,
        kind: 'electricity',
        mode: 'token',
        seed: 1,
        initialCredit: 10_000,
        sts: stsParametersFor({
          drn,
          iin: '600727',
          supplyGroupCode: '123456',
          tariffIndex: 1,
          keyRevision: 1,
          keyType: 2,
          baseDate: 2014,
          vendingKey: VENDING_KEY_HEX,
        }).params,
      },
      { clock: systemClock },
    );
    const face = new MqttMeterFace({
      meter,
      brokerUrl,
      utility: 'jo',
      username: username_,
      password,
      clientId,
    });
    face.on('error', () => {});
    faces.push(face);
    await face.start();
    await stepDone(page, 'credentials', lang);

    // 3. Key change: an operator issues and pushes both tokens; a technician may not, and skips.
    if (keyChange) {
      await step(page, 'keyChange').locator('#new-krn').fill('2');
      await step(page, 'keyChange').locator('form button[type=submit]').click();
      await expect.poll(() => step(page, 'keyChange').getByTestId('token').count()).toBe(2);
      await screenshot(page, `technician-keychange-${lang}`);
      await step(page, 'keyChange').locator(':scope > .actions > button.primary').click();
      await confirm(page);
      await stepDone(page, 'keyChange', lang);
    } else {
      await expect.poll(() => textOf(step(page, 'keyChange').locator('.alert.info'))).toContain('المشغّل');
      await page.getByTestId('skip-key-change').click();
      await expect.poll(() => textOf(page.getByTestId('step-keyChange-status'))).toBe('لم تُنفَّذ');
    }

    // 4. and 5. The key check and the test token: issued, pushed, accepted by the meter.
    for (const name of ['keyCheck', 'testToken']) {
      await step(page, name).locator(':scope > .actions > button.primary').click();
      await step(page, name).getByTestId('token').waitFor();
      await step(page, name).locator(':scope > .actions > button.primary').click();
      await confirm(page);
      await stepDone(page, name, lang);
    }

    // 6. The first reading, asked for with read_now and stored by Rasid.
    await step(page, 'reading').locator(':scope > .actions > button.primary').click();
    await stepDone(page, 'reading', lang);
    await page.getByTestId('first-reading').waitFor();

    // 7. The relay test, behind a confirmation: the meter's relay opens, then closes.
    await step(page, 'relay').locator(':scope > .actions > button.primary').click();
    await confirm(page);
    await stepDone(page, 'relay', lang);
    expect(meter.relay).toBe('connected');

    // 8. Activation: refused while the meter has no account, with the reason shown; done once it has one.
    const db = web.world.server.core.store.db;
    await step(page, 'activate').locator(':scope > .actions > button.primary').click();
    await expect
      .poll(() => textOf(page.getByTestId('step-activate-status')), { timeout: 30_000 })
      .toBe(lang === 'ar' ? 'لم تنجح' : 'failed');
    await expect
      .poll(() => textOf(step(page, 'activate').locator('[role=alert]')))
      .toContain(lang === 'ar' ? 'العداد غير مربوط بحساب' : 'the meter has no account');
    await db
      .updateTable('meters')
      .set({ account_id: web.world.seed.accountId })
      .where('serial', '=', serial)
      .execute();
    await step(page, 'activate').locator(':scope > .actions > button.primary').first().click();
    await stepDone(page, 'activate', lang);

    await expect
      .poll(() => textOf(page.getByTestId('verdict')))
      .toBe(
        // The key change skipped is named, never counted as passed.
        keyChange ? 'Commissioned: every step passed.' : 'شُغّل العداد، ولم تُنفَّذ هذه الخطوات: تغيير المفتاح.',
      );
    await expectDirection(page, lang);
    await screenshot(page, `technician-commission-${lang}`);

    const record = await db
      .selectFrom('meters')
      .select(['id', 'sts_krn', 'online', 'status'])
      .where('serial', '=', serial)
      .executeTakeFirstOrThrow();
    expect(record).toMatchObject({ sts_krn: keyChange ? 2 : 1, online: true, status: 'active' });
    const commands = await db
      .selectFrom('commands')
      .select(['kind', 'state'])
      .where('meter_id', '=', record.id)
      .orderBy('created_at')
      .execute();
    expect(commands.map((c) => c.kind)).toEqual([
      ...(keyChange ? ['token', 'token'] : []),
      'token',
      'token',
      'read_now',
      'disconnect',
      'reconnect',
    ]);
    expect(commands.every((c) => c.state === 'acknowledged')).toBe(true);
    await face.stop(true);
    await pageDone(page);
  }, 180_000);
});
