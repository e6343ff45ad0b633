import { describe, expect, it } from 'vitest';
import {
  ACCOUNT_CLASS,
  accountModeAndStatusFromData,
  accountModeAndStatusToData,
  applyScaler,
  attributeOf,
  type CaptureObject,
  captureObjectsFromData,
  captureObjectsToData,
  currencyFromData,
  currencyToData,
  DISCONNECT_CONTROL_CLASS,
  decodeData,
  dt,
  encodeData,
  entryDescriptorFromData,
  entryDescriptorToData,
  expandProfileTimestamps,
  fromHex,
  INTERFACE_CLASSES,
  methodOf,
  OBIS,
  type ObjectListEntry,
  obis,
  objectListFromData,
  objectListToData,
  rangeDescriptorFromData,
  rangeDescriptorToData,
  scalerUnitFromData,
  scalerUnitToData,
  TOKEN_GATEWAY_CLASS,
  TOKEN_STATUS_CODE,
  toHex,
  tokenStatusFromData,
  tokenStatusToData,
  UNIT,
  unitChargeFromData,
  unitChargeToData,
} from '../../../protocols/dlms/index.ts';

describe('interface class tables', () => {
  it('hold the ten classes with ids, versions and logical_name first', () => {
    expect(
      Object.keys(INTERFACE_CLASSES)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual([1, 3, 7, 8, 15, 70, 111, 112, 113, 115]);
    for (const c of Object.values(INTERFACE_CLASSES)) {
      expect(c.attributes[0]).toEqual({ index: 1, name: 'logical_name', type: 'octet-string' });
      c.attributes.forEach((a, i) => {
        expect(a.index).toBe(i + 1);
      });
      expect(Object.isFrozen(c)).toBe(true);
    }
    expect(INTERFACE_CLASSES[7]!.version).toBe(1);
  });

  it('name the attributes and methods dlms.md §2.6 relies on', () => {
    expect(attributeOf(70, 2)).toMatchObject({ name: 'output_state', type: 'boolean' });
    expect(methodOf(70, 1)).toMatchObject({ name: 'remote_disconnect', parameter: 'integer' });
    expect(methodOf(70, 2)?.name).toBe('remote_reconnect');
    expect(methodOf(115, 1)).toMatchObject({ name: 'enter', parameter: 'octet-string' });
    expect(attributeOf(115, 6)?.name).toBe('token_status');
    expect(attributeOf(111, 19)?.name).toBe('max_provision_period');
    expect(ACCOUNT_CLASS.attributes).toHaveLength(19);
    expect(attributeOf(112, 2)).toMatchObject({ name: 'current_credit_amount', type: 'double-long' });
    expect(methodOf(112, 1)?.name).toBe('update_amount');
    expect(attributeOf(113, 13)?.name).toBe('proportion');
    expect(methodOf(113, 5)?.name).toBe('set_total_amount_remaining');
    expect(methodOf(15, 1)?.name).toBe('reply_to_HLS_authentication');
    expect(attributeOf(8, 2)?.type).toBe('octet-string');
    expect(methodOf(8, 6)).toMatchObject({ name: 'shift_time', parameter: 'long' });
    expect(DISCONNECT_CONTROL_CLASS.classId).toBe(70);
    expect(TOKEN_GATEWAY_CLASS.attributes.map((a) => a.name)).toContain('token_delivery_method');
  });
});

describe('attribute values: round trips against bytes', () => {
  const captureObjects: CaptureObject[] = [
    { classId: 8, logicalName: obis('0.0.1.0.0.255'), attributeIndex: 2, dataIndex: 0 },
    { classId: 3, logicalName: obis('1.1.21.25.0.255'), attributeIndex: 2, dataIndex: 0 },
  ];
  const objectList: ObjectListEntry[] = [
    {
      classId: 8,
      version: 0,
      logicalName: OBIS.clock,
      attributes: [
        { id: 1, access: 1 },
        { id: 2, access: 3 },
      ],
      methods: [{ id: 6, access: 1 }],
    },
    {
      classId: 7,
      version: 1,
      logicalName: OBIS.loadProfile1,
      attributes: [{ id: 2, access: 1, selectors: [1, 2] }],
      methods: [],
    },
  ];

  const table: { name: string; check: () => void }[] = [
    {
      name: 'scaler_unit −2 Wh (dlms.md capture 02 02 0F FE 16 1E)',
      check: () => {
        const bytes = '02020ffe161e';
        expect(toHex(encodeData(scalerUnitToData({ scaler: -2, unit: UNIT.Wh })))).toBe(bytes);
        expect(scalerUnitFromData(decodeData(fromHex(bytes)))).toEqual({ scaler: -2, unit: 30 });
        expect(applyScaler(12345, -2)).toBe(123.45);
      },
    },
    {
      name: 'capture_objects (captured profile 1.0.99.1.0.255 attr 3)',
      check: () => {
        const bytes = '0102020412000809060000010000ff0f02120000020412000309060101151900ff0f02120000';
        expect(toHex(encodeData(captureObjectsToData(captureObjects)))).toBe(bytes);
        expect(captureObjectsFromData(decodeData(fromHex(bytes)))).toEqual(captureObjects);
      },
    },
    {
      name: 'object_list entries',
      check: () => {
        const bytes =
          '0102' +
          '020412000811000906 0000010000ff 0202 0102 02030f01160100 02030f02160300 0101 02020f061601'.replace(
            / /g,
            '',
          ) +
          '020412000711010906 0100630100ff 0202 0101 02030f021601 0102 0f01 0f02 0100'.replace(/ /g, '');
        expect(toHex(encodeData(objectListToData(objectList)))).toBe(bytes);
        expect(objectListFromData(decodeData(fromHex(bytes)))).toEqual(
          objectList.map((e) => ({
            ...e,
            attributes: e.attributes.map((a) => ({ selectors: undefined, ...a })),
          })),
        );
      },
    },
    {
      name: 'entry_descriptor',
      check: () => {
        const v = { fromEntry: 1, toEntry: 0, fromSelectedValue: 1, toSelectedValue: 0 };
        const bytes = '020406000000010600000000120001120000';
        expect(toHex(encodeData(entryDescriptorToData(v)))).toBe(bytes);
        expect(entryDescriptorFromData(decodeData(fromHex(bytes)))).toEqual(v);
      },
    },
    {
      name: 'range_descriptor with octet-string date-times',
      check: () => {
        const from = {
          year: 2026,
          month: 1,
          day: 1,
          dayOfWeek: 4,
          hour: 0,
          minute: 0,
          second: 0,
          hundredths: 0,
          deviation: 0,
          clockStatus: 0,
        };
        const to = { ...from, day: 2, dayOfWeek: 5 };
        const v = { restrictingObject: captureObjects[0]!, from, to, selectedValues: [] };
        const bytes =
          '0204' +
          '020412000809060000010000ff0f02120000' +
          '090c07ea010104000000000000 00'.replace(/ /g, '') +
          '090c07ea010205000000000000 00'.replace(/ /g, '') +
          '0100';
        expect(toHex(encodeData(rangeDescriptorToData(v)))).toBe(bytes);
        expect(rangeDescriptorFromData(decodeData(fromHex(bytes)))).toEqual(v);
      },
    },
    {
      name: 'account mode and status, currency, token status, unit charge',
      check: () => {
        expect(toHex(encodeData(accountModeAndStatusToData({ paymentMode: 2, accountStatus: 2 })))).toBe(
          '020216021602',
        );
        expect(accountModeAndStatusFromData(decodeData(fromHex('020216011600')))).toEqual({
          paymentMode: 1,
          accountStatus: 0,
        });
        const cur = { name: 'SAR', scale: -2, unit: 254 };
        expect(toHex(encodeData(currencyToData(cur)))).toBe('02030c035341520ffe16fe');
        expect(currencyFromData(decodeData(fromHex('02030c035341520ffe16fe')))).toEqual(cur);
        const ts = { statusCode: TOKEN_STATUS_CODE['execution-ok'], dataValue: '' };
        expect(toHex(encodeData(tokenStatusToData(ts)))).toBe('020216030400');
        expect(tokenStatusFromData(decodeData(fromHex('020216030400')))).toEqual(ts);
        const uc = {
          commodityScale: 0,
          priceScale: -2,
          commodity: { classId: 3, logicalName: OBIS.activeEnergyImport, attributeIndex: 2 },
          chargeTable: [{ index: fromHex('01'), chargePerUnit: 18 }],
        };
        const ucBytes =
          '0203' + '02020f000ffe' + '0203120003090601000108' + '00ff0f02' + '010102020901011000' + '12';
        expect(toHex(encodeData(unitChargeToData(uc)))).toBe(ucBytes);
        expect(unitChargeFromData(decodeData(fromHex(ucBytes)))).toEqual(uc);
      },
    },
  ];
  for (const { name, check } of table) it(name, check);
});

describe('profile buffers with compressed timestamps', () => {
  it('fills null-data clock cells with previous row + capture_period', () => {
    const first = dt.octets(fromHex('07ea0b17010e0000000000' + '00'));
    const rows = [
      [first, dt.u32(1)],
      [dt.null(), dt.u32(2)],
      [dt.null(), dt.u32(3)],
    ];
    expect(expandProfileTimestamps(rows, 0, 900).map((d) => d.toISOString())).toEqual([
      '2026-11-23T14:00:00.000Z',
      '2026-11-23T14:15:00.000Z',
      '2026-11-23T14:30:00.000Z',
    ]);
    expect(() => expandProfileTimestamps([[dt.null()]], 0, 900)).toThrow(/first profile row/);
  });
});
