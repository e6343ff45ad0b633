/**
 * The world the browser tests run against: a Rasid started in this process on a free port (so the payment
 * return address is a real one), seeded with the vending world of test/support/vending-fixture.ts, a kiosk
 * key, one person per staff role, and Debian's Chromium driven by playwright-core.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { newSecret, secretDigest } from '../../src/api/auth.ts';
import { loadConfig } from '../../src/config.ts';
import { hashSecret } from '../../src/security/secrets.ts';
import { type RunningServer, startServer } from '../../src/server.ts';
import type { MeterId, Role } from '../../src/store/schema.ts';
import type { Seed } from '../support/db.ts';
import { freePort } from '../support/process.ts';
import { logCapture } from '../support/server.ts';
import { seedVending } from '../support/vending-fixture.ts';

export const PASSWORD = 'correct horse battery';
export const STAFF: readonly { username: string; role: Role }[] = [
  { username: 'omar', role: 'operator' },
  { username: 'tariq', role: 'technician' },
  { username: 'salma', role: 'service' },
  { username: 'vera', role: 'vendor' },
];

export interface WebWorld {
  readonly server: RunningServer;
  readonly url: string;
  readonly seed: Seed;
  readonly kioskKey: string;
  readonly logs: string[];
  close(): Promise<void>;
}

/**
 * What a meter's acknowledgement does to the newest command of `kind` sent to it: the command's row becomes
 * acknowledged, and an open page must follow it without a reload.
 */
export async function acknowledgeLatestCommand(
  world: WebWorld,
  meterId: MeterId,
  kind: string,
): Promise<void> {
  const db = world.server.core.store.db;
  const sent = await db
    .selectFrom('commands')
    .select('id')
    .where('meter_id', '=', meterId)
    .where('kind', '=', kind)
    .orderBy('created_at', 'desc')
    .executeTakeFirstOrThrow();
  await db
    .updateTable('commands')
    .set({ state: 'acknowledged', acknowledged_at: new Date() })
    .where('id', '=', sent.id)
    .execute();
}

/** `env`: more configuration of the started Rasid (a payment provider's keys, say). */
export async function startWebWorld(name: string, env: Record<string, string> = {}): Promise<WebWorld> {
  const dir = await mkdtemp(join(tmpdir(), `rasid-e2e-${name}-`));
  const { logs, sink } = logCapture();
  const port = await freePort();
  const server = await startServer(
    loadConfig({
      PORT: String(port),
      MQTT_PORT: '0',
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
      DATA_DIR: dir,
      ...env,
    }),
    { logDestination: sink },
  );
  const db = server.core.store.db;
  const seed = await seedVending(db, server.core.keys, 'jo');
  const kioskKey = newSecret('rks_');
  await db
    .updateTable('kiosks')
    .set({ api_key_hash: secretDigest(kioskKey) })
    .where('id', '=', seed.kioskId)
    .execute();
  const hash = await hashSecret(PASSWORD);
  for (const s of STAFF) {
    await db
      .insertInto('users')
      .values({
        utility_id: seed.utilityId,
        username: s.username,
        password_hash: hash,
        role: s.role,
        ...(s.role === 'vendor' ? { vendor_id: seed.vendorId } : {}),
      })
      .execute();
  }
  return {
    server,
    url: server.url,
    seed,
    kioskKey,
    logs,
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A test file's world and browser, once its `beforeAll` has started them. */
export interface WebSuite {
  readonly world: WebWorld;
  readonly browser: Browser;
  /** A page of this suite's browser: see newPage. */
  newPage(lang: Lang, viewport: { width: number; height: number }): Promise<Page>;
}

/**
 * Starts a world and Chromium before a test file's tests (then `prepare`, for what the file adds to the seed)
 * and closes both after them.
 */
export function useWebWorld(name: string, prepare?: (world: WebWorld) => Promise<void>): WebSuite {
  let world: WebWorld | undefined;
  let browser: Browser | undefined;
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error(`the ${name} world is used before it started`);
    return value;
  };
  beforeAll(async () => {
    world = await startWebWorld(name);
    browser = await launchChromium();
    await prepare?.(world);
  });
  afterAll(async () => {
    await browser?.close();
    await world?.close();
  });
  return {
    get world() {
      return started(world);
    },
    get browser() {
      return started(browser);
    },
    newPage: (lang, viewport) => newPage(started(browser), lang, viewport),
  };
}

/** A sale of 5000 minor units for the fixture's meter at the fixture's kiosk, as the kiosk makes it. */
export function kioskSale(world: WebWorld, idempotencyKey: string) {
  const { seed } = world;
  return world.server.core.vending.vend({
    utilityId: seed.utilityId,
    meter: 'jo-M-0001',
    amountMinor: 5000n,
    channel: { kind: 'vendor', vendorId: seed.vendorId, kioskId: seed.kioskId },
    idempotencyKey,
    actor: `kiosk:${seed.kioskId}`,
  });
}

/**
 * Debian's Chromium, headless, with no background traffic; playwright-core gives every launch a fresh, empty
 * profile (user-data-dir). Never downloads a browser.
 */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export const SCREENSHOTS = join(process.cwd(), 'test-output', 'screenshots');

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export type { BrowserContext, Page };

export type Lang = 'ar' | 'en';

/** Every screen is checked in both languages. */
export const LANGS: readonly Lang[] = ['ar', 'en'];
/** A phone's viewport (customers, kiosks) and a desk's (staff). */
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };

const pageErrors = new WeakMap<Page, string[]>();

/** A page in a fresh context whose browser language is `lang`; script errors on it are collected. */
export async function newPage(
  browser: Browser,
  lang: Lang,
  viewport: { width: number; height: number },
): Promise<Page> {
  const context = await browser.newContext({ locale: lang === 'ar' ? 'ar-JO' : 'en-US', viewport });
  const page = await context.newPage();
  const errors: string[] = [];
  pageErrors.set(page, errors);
  page.on('pageerror', (e) => errors.push(e.message));
  // A refused API call is logged by Chromium as a failed resource; the screens handle those themselves.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  return page;
}

/** Closes a page's context after checking that no script failed on it. */
export async function pageDone(page: Page): Promise<void> {
  const errors = pageErrors.get(page) ?? [];
  await page.context().close();
  expect(errors).toEqual([]);
}

/** The screens a journey passes through, in order: `seen(name)` waits for the screen and records it. */
export function screenTrail(page: Page): { screens: string[]; seen(name: string): Promise<void> } {
  const screens: string[] = [];
  return {
    screens,
    async seen(name) {
      await page.locator(`[data-screen="${name}"]`).waitFor();
      screens.push(name);
    },
  };
}

/** A locator's text once it is on the page, spaces trimmed. */
export async function textOf(locator: Locator): Promise<string> {
  await locator.first().waitFor();
  return ((await locator.first().textContent()) ?? '').trim();
}

/** Fills in and sends the staff sign-in screen; does not wait for what comes next. */
export async function submitSignIn(
  page: Page,
  url: string,
  username: string,
  password = PASSWORD,
): Promise<void> {
  await page.goto(`${url}/#/signin`);
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.locator('form button[type=submit]').click();
}

/** Signs a staff member in with a password of their own (the demo's, say) and waits for their first screen. */
export async function signInWith(page: Page, url: string, username: string, password: string): Promise<void> {
  await submitSignIn(page, url, username, password);
  await page.locator('[data-screen]:not([data-screen="signin"])').waitFor();
}

/** Signs a staff member in through the sign-in screen and waits for their first screen. */
export async function signInAs(page: Page, url: string, username: string): Promise<void> {
  await signInWith(page, url, username, PASSWORD);
}

/** Signs a kiosk in with the world's kiosk key through the kiosk sign-in screen; waits for the sell screen. */
export async function kioskSignIn(page: Page, world: WebWorld): Promise<void> {
  await page.goto(`${world.url}/#/kiosk/signin`);
  await page.locator('#kiosk-key').fill(world.kioskKey);
  await page.locator('form button[type=submit]').click();
  await page.locator('[data-screen="kiosk-sell"]').waitFor();
}

/** A staff member's bearer session through the API, for what a test sets up outside the browser. */
export async function staffSession(
  url: string,
  utility: string,
  username: string,
  password: string,
): Promise<string> {
  const res = await fetch(`${url}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ utility, username, password }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

/** Reloads the page until `read` gives `expected`: for screens that read the server once and do not follow it. */
export async function reloadUntil<T>(page: Page, read: () => Promise<T>, expected: T): Promise<void> {
  await expect
    .poll(
      async () => {
        await page.reload();
        return read();
      },
      { timeout: 30_000 },
    )
    .toEqual(expected);
}
