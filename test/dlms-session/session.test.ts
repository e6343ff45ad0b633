/**
 * The gateway's DLMS client against the simulator's DLMS server over real TCP on 127.0.0.1, for both
 * transports (TCP wrapper and HDLC) and the three associations (public, LLS, HLS-GMAC).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DlmsAccessError,
  DlmsAssociationError,
  DlmsClient,
  type DlmsClientOptions,
} from '../../gateway/dlms/index.ts';
import {
  CONTROL_STATE,
  dt,
  entryDescriptorToData,
  OBIS,
  SELECTOR_ENTRY,
  TOKEN_STATUS_CODE,
  UNIT,
} from '../../protocols/dlms/index.ts';
import {
  clientOptions,
  hls,
  KEYS,
  type MeterFixture,
  NOW,
  PASSWORD,
  PROFILE_START,
  startMeter,
  WRONG_KEYS,
} from './support.ts';

const TOKEN = '12345678901234567890';

describe.each(['wrapper', 'hdlc'] as const)('DLMS session over %s', (transport) => {
  let meter: MeterFixture;
  const clients: DlmsClient[] = [];
  // HDLC runs with small information fields so that requests and answers both segment.
  const link: Partial<DlmsClientOptions> =
    transport === 'hdlc' ? { hdlc: { maxInfoTx: 48, maxInfoRx: 48 } } : {};

  beforeEach(async () => {
    meter = await startMeter();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await meter.close();
  });

  const open = async (extra: Partial<DlmsClientOptions>) => {
    const c = await DlmsClient.open(clientOptions(transport, meter.port, { ...link, ...extra }));
    clients.push(c);
    return c;
  };

  /** The HLS client's invocation counter, read first with the public client as dlms.md §2.7 says. */
  const readCounter = async () => {
    const pub = await open({});
    const v = await pub.get(1, OBIS.invocationCounter, 2);
    await pub.release();
    return v.type === 'double-long-unsigned' ? v.value : -1;
  };

  describe('public client (SAP 16, no security)', () => {
    it('reads registers with their scaler and unit', async () => {
      const c = await open({});
      const energy = await c.readRegister(OBIS.activeEnergyImport);
      expect(energy).toMatchObject({ value: 12_340, scaler: 1, unit: UNIT.Wh });
      expect(energy.raw).toEqual(dt.u32(1234));
      expect(await c.readRegister(OBIS.voltageL1)).toMatchObject({ value: 230.1, scaler: -1, unit: UNIT.V });
      expect(await c.readRegister(OBIS.activePowerImport)).toMatchObject({ value: 1500, unit: UNIT.W });
      const serial = await c.get(1, OBIS.serialNumber, 2);
      expect(serial).toEqual(dt.octets('RSD0042'));
      const clock = await c.readClock();
      expect(clock.time.toISOString()).toBe(NOW.toISOString());
      await c.release();
      expect(meter.server.stats.associations).toBe(1);
    });

    it('reads the object_list and several attributes with one GET-with-list', async () => {
      const c = await open({});
      const list = await c.readObjectList();
      const names = list.map((o) => `${o.classId}/${o.logicalName}`);
      expect(names).toEqual(
        expect.arrayContaining([
          '15/0.0.40.0.0.255',
          '3/1.0.1.8.0.255',
          '8/0.0.1.0.0.255',
          '70/0.0.96.3.10.255',
          '112/0.0.19.10.0.255',
          '111/0.0.19.0.0.255',
          '115/0.0.19.40.0.255',
          '7/1.0.99.1.0.255',
        ]),
      );
      // The public association may read but not write or act.
      const relay = list.find((o) => o.classId === 70);
      expect(relay?.methods.every((m) => m.access === 0)).toBe(true);
      const results = await c.getWithList([
        { classId: 112, obis: OBIS.tokenCredit, attribute: 2 },
        { classId: 111, obis: OBIS.account, attribute: 2 },
        { classId: 3, obis: '1.0.99.99.0.255', attribute: 2 },
      ]);
      expect(results).toEqual([
        { data: dt.i32(5000) },
        { data: dt.struct(dt.enum(2), dt.enum(2)) },
        { error: 4 }, // object-undefined
      ]);
    });

    it('is refused write access and ACTIONs', async () => {
      const c = await open({});
      const err = await c.disconnect().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DlmsAccessError);
      expect((err as DlmsAccessError).resultName).toBe('read-write-denied');
      expect(meter.state.relay.controlState).toBe(CONTROL_STATE.connected);
    });
  });

  describe('LLS client (SAP 17, password)', () => {
    it('associates with the password, disconnects and reconnects the supply', async () => {
      const c = await open({ authentication: { mechanism: 'lls', password: PASSWORD } });
      expect(await c.readRelay()).toEqual({ outputState: true, controlState: CONTROL_STATE.connected });
      expect(await c.disconnect()).toEqual({ outputState: false, controlState: CONTROL_STATE.disconnected });
      expect(meter.state.relay.controlState).toBe(CONTROL_STATE.disconnected);
      // control_mode 2: remote_reconnect goes straight to connected (Blue Book transition a).
      expect(await c.reconnect()).toEqual({ outputState: true, controlState: CONTROL_STATE.connected });
      // control_mode 1: remote_reconnect leaves the meter ready for reconnection (transition d).
      await c.set(70, OBIS.disconnectControl, 4, dt.enum(1));
      await c.disconnect();
      expect(await c.reconnect()).toEqual({
        outputState: false,
        controlState: CONTROL_STATE['ready-for-reconnection'],
      });
      await c.release();
    });

    it('refuses a wrong password with authentication-failure', async () => {
      const err = await open({ authentication: { mechanism: 'lls', password: 'wrong' } }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DlmsAssociationError);
      expect(err).toMatchObject({ result: 'rejected-permanent', diagnostic: 13 });
      expect(meter.server.stats.associationsRefused).toBe(1);
    });

    it('enters a token through the token gateway and reads token_status', async () => {
      const c = await open({ authentication: { mechanism: 'lls', password: PASSWORD } });
      const r = await c.enterToken(TOKEN);
      expect(meter.tokens).toEqual([TOKEN]);
      expect(r).toEqual({ accepted: true, statusCode: 3, status: 'execution-ok', code: 0 });
      expect(await c.get(115, OBIS.tokenGateway, 2)).toEqual(dt.octets(TOKEN));
      const bad = await c.enterToken('1234');
      expect(bad).toMatchObject({ accepted: false, statusCode: TOKEN_STATUS_CODE['format-failure'] });
      expect(meter.tokens).toEqual([TOKEN]);
      await c.release();
    });
  });

  describe('HLS-GMAC management client (SAP 1, ciphered)', () => {
    it('authenticates, ciphers every APDU and commands the relay', async () => {
      const ic = await readCounter();
      expect(ic).toBe(0);
      const c = await open({ authentication: hls(ic) });
      expect(await c.readRegister(OBIS.activeEnergyImport)).toMatchObject({ value: 12_340 });
      expect(await c.disconnect()).toEqual({ outputState: false, controlState: 0 });
      expect(await c.reconnect()).toEqual({ outputState: true, controlState: 1 });
      const token = await c.enterToken(TOKEN);
      expect(token.accepted).toBe(true);
      expect(meter.tokens).toEqual([TOKEN]);
      await c.setClock(new Date('2025-03-01T12:30:00Z'));
      expect((await c.readClock()).time.toISOString()).toBe('2025-03-01T12:30:00.000Z');
      await c.release();
      const used = c.invocationCounter;
      // The server remembers the counter: the next session must start above it.
      expect(await readCounter()).toBe(used);
      const replay = await open({ authentication: hls(0) }).catch((e: unknown) => e);
      expect(replay).toBeInstanceOf(DlmsAssociationError);
      const next = await open({ authentication: hls(used) });
      expect(await next.readRelay()).toEqual({ outputState: true, controlState: 1 });
      await next.release();
    });

    it('refuses a wrong key', async () => {
      const err = await open({ authentication: hls(0, WRONG_KEYS) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DlmsAssociationError);
      expect(meter.server.stats.associationsRefused).toBe(1);
      // A client with the right key still gets in afterwards.
      const c = await open({ authentication: hls(await readCounter(), KEYS) });
      expect(c.isAssociated).toBe(true);
    });
  });

  describe('block transfer', () => {
    it('reads a long profile in datablocks, by range and by entry', async () => {
      await meter.close();
      meter = await startMeter({ rows: 400 });
      const c = await open({ authentication: { mechanism: 'lls', password: PASSWORD }, maxPduSize: 256 });
      const from = new Date(PROFILE_START.getTime() + 10 * 900_000);
      const to = new Date(PROFILE_START.getTime() + 309 * 900_000);
      const p = await c.readProfile(OBIS.loadProfile1, from, to);
      expect(p.columns.map((col) => col.logicalName)).toEqual([
        OBIS.clock,
        OBIS.activeEnergyImport,
        OBIS.activePowerImport,
      ]);
      expect(p.rows).toHaveLength(300);
      expect(p.timestamps[0]?.toISOString()).toBe(from.toISOString());
      expect(p.timestamps.at(-1)?.toISOString()).toBe(to.toISOString());
      // Energy column in register units (scaler 1): (10 000 + 25 × 10) / 10.
      expect(p.rows[0]?.[1]).toEqual(dt.u32(1025));
      expect(c.stats.blocksReceived).toBeGreaterThan(10);
      expect(meter.server.stats.blocksSent).toBe(c.stats.blocksReceived);

      const entries = await c.get(7, OBIS.loadProfile1, 2, {
        selector: SELECTOR_ENTRY,
        parameters: entryDescriptorToData({
          fromEntry: 399,
          toEntry: 0,
          fromSelectedValue: 2,
          toSelectedValue: 3,
        }),
      });
      expect(entries).toEqual(
        dt.array([dt.struct(dt.u32(1995), dt.i32(498)), dt.struct(dt.u32(1998), dt.i32(499))]),
      );
      // The whole object_list in blocks, too.
      expect((await c.readObjectList()).length).toBeGreaterThan(10);
      await c.release();
    });
  });
});
