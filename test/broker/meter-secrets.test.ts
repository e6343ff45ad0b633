/**
 * Meters' MQTT secrets under the server-held key (HMAC-SHA-256, src/security/secrets.ts): a meter with an
 * older scrypt record connects, and its record moves to the keyed hash; the next connect is checked with
 * the key; a wrong secret is refused either way. Real aedes and mqtt.js over sockets, credentials on PGlite.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, type RasidBroker, StoreCredentialStore } from '../../src/broker/index.ts';
import { isSlowHash, MeterSecretKey, verifySecret } from '../../src/security/secrets.ts';
import { connectClient, type Harness, PASSWORD, pgliteHarness, seedMeters } from '../ingest/harness.ts';

const STORM = Array.from({ length: 40 }, (_, i) => `STORM-${String(i).padStart(2, '0')}`);

describe('meter secrets under the keyed hash', () => {
  let h: Harness;
  let broker: RasidBroker;
  let url: string;
  const key = new MeterSecretKey(randomBytes(32));

  const stored = async (serial: string) => {
    const { rows } = await sql<{ hash: string }>`
      select mqtt_password_hash as hash from meters where serial = ${serial}`.execute(h.store.db);
    return rows[0]!.hash;
  };

  beforeAll(async () => {
    h = await pgliteHarness();
    await seedMeters(h, ['S-1', 'S-2', ...STORM]);
    broker = await createBroker({
      credentials: new StoreCredentialStore(h.store.db),
      tcp: { port: 0 },
      meterSecretKey: key,
    });
    url = `mqtt://127.0.0.1:${broker.addresses.tcp!.port}`;
  }, 120_000);

  afterAll(async () => {
    await broker?.close();
    await h?.close();
  });

  it('keeps a secret as HMAC-SHA-256 under the key, never in clear, and checks it in constant time', async () => {
    const hash = key.hash('s3cret-from-rasid');
    expect(hash).toMatch(/^hmac-sha256\$[A-Za-z0-9+/]{43}=$/);
    expect(hash).not.toContain('s3cret');
    expect(key.verify('s3cret-from-rasid', hash)).toBe(true);
    expect(key.verify('s3cret-from-rasiD', hash)).toBe(false);
    // Another key (another install's master key) does not verify it.
    expect(new MeterSecretKey(randomBytes(32)).verify('s3cret-from-rasid', hash)).toBe(false);
    expect(await verifySecret('s3cret-from-rasid', hash, key)).toBe(true);
    expect(await verifySecret('s3cret-from-rasid', hash)).toBe(false);
  });

  it('a scrypt record moves to the keyed hash at the next good connect, and works after it', async () => {
    expect(isSlowHash(await stored('S-1'))).toBe(true);
    const first = await connectClient(url, 'S-1', PASSWORD);
    await first.endAsync();
    await expect.poll(() => stored('S-1')).toMatch(/^hmac-sha256\$/);
    expect(key.verify(PASSWORD, await stored('S-1'))).toBe(true);
    const again = await connectClient(url, 'S-1', PASSWORD);
    expect(again.connected).toBe(true);
    await again.endAsync();
    await expect(connectClient(url, 'S-1', 'not the secret')).rejects.toThrow(
      /bad user name or password|Bad/i,
    );
  });

  it('a refused connect leaves the scrypt record as it was', async () => {
    const before = await stored('S-2');
    await expect(connectClient(url, 'S-2', 'not the secret')).rejects.toThrow();
    expect(await stored('S-2')).toBe(before);
    expect(isSlowHash(before)).toBe(true);
  });

  it('a connect storm: meters connecting together are found and move to the keyed hash, one wrong secret refused', async () => {
    const before = await stored('STORM-00');
    const results = await Promise.allSettled(
      STORM.map((serial, i) =>
        // A machine busy with other work may take its time: a refusal here is the broker's, not a timeout.
        connectClient(url, serial, i === 7 ? 'not the secret' : PASSWORD, { connectTimeout: 60_000 }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(STORM.map((_, i) => (i === 7 ? 'rejected' : 'fulfilled')));
    for (const r of results) if (r.status === 'fulfilled') await r.value.endAsync();
    await expect
      .poll(async () => {
        const { rows } = await sql<{ serial: string; hash: string }>`
          select serial, mqtt_password_hash as hash from meters where serial like 'STORM-%' order by serial`.execute(
          h.store.db,
        );
        return rows.filter((r) => r.hash.startsWith('hmac-sha256$')).map((r) => r.serial);
      })
      .toEqual(STORM.filter((_, i) => i !== 7));
    expect(await stored('STORM-07')).toBe(before);
    for (const serial of ['STORM-01', 'STORM-39'])
      expect(key.verify(PASSWORD, await stored(serial))).toBe(true);
  });

  it('a serial that two utilities use logs nobody in; an unknown name is refused', async () => {
    await sql`insert into utilities (code, name, currency, currency_exponent, timezone)
              values ('twin', 'Twin', 'AED', 2, 'Asia/Dubai')`.execute(h.store.db);
    await sql`insert into meters (utility_id, serial, kind, protocol, mode, mqtt_password_hash, status)
              select id, 'S-2', 'electricity', 'mqtt', 'token', ${await stored('S-2')}, 'active'
              from utilities where code = 'twin'`.execute(h.store.db);
    const store = new StoreCredentialStore(h.store.db);
    const [twin, unknown, one] = await Promise.all([
      store.findByUsername('S-2'),
      store.findByUsername('NOBODY'),
      store.findByUsername('STORM-05'),
    ]);
    expect(twin).toBeNull();
    expect(unknown).toBeNull();
    expect(one?.identity).toEqual({ role: 'meter', utility: expect.any(String), meterId: 'STORM-05' });
  });
});
