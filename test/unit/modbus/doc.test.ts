import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  encodeReadingBlock,
  encodeTokenWrite,
  REGISTERS,
  type RegisterDef,
} from '../../../protocols/modbus/index.ts';

const doc = readFileSync(new URL('../../../docs/modbus-map.md', import.meta.url), 'utf8');

/** `| 0–3 | \`energy\` | u64 | 4 | 1 | Wh | r | ... |` rows of the map tables. */
function documentedRows(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of doc.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    if (cells.length !== 10) continue; // the map tables have eight columns
    const name = cells[2]?.match(/^`([a-z_0-9]+)`$/)?.[1];
    if (name === undefined || !/^\d+(–\d+)?$/.test(cells[1] ?? '')) continue;
    expect(rows.has(name), `${name} documented twice`).toBe(false);
    rows.set(name, cells.slice(1, 8));
  }
  return rows;
}

describe('docs/modbus-map.md', () => {
  it('lists every register with the address, type, width, scale, unit and access of the map', () => {
    const rows = documentedRows();
    const entries = Object.entries(REGISTERS) as [string, RegisterDef][];
    expect([...rows.keys()].sort()).toEqual(entries.map(([name]) => name).sort());
    for (const [name, def] of entries) {
      const [address, , type, count, scale, unit, access] = rows.get(name) ?? [];
      const span = def.count > 1 ? `${def.address}–${def.address + def.count - 1}` : `${def.address}`;
      expect([address, type, count, access], name).toEqual([span, def.type, String(def.count), def.access]);
      if (scale !== '') expect(Number(scale), name).toBe(def.scale);
      expect(unit, name).toBe(def.unit === 'credit_unit' ? 'see `credit_unit`' : def.unit);
    }
  });

  it('shows the token write and the reading block as the codec encodes them', () => {
    expect(doc).toContain(`13622 13367 13619 12345 14640 14133 13110 12849 13880 12599 1`);
    expect(encodeTokenWrite('56475309907536216817').join(' ')).toBe(
      '13622 13367 13619 12345 14640 14133 13110 12849 13880 12599 1',
    );
    const words = encodeReadingBlock({
      energy: 123456789n,
      volume: 0n,
      power: 1500,
      voltage: 2301,
      current: 6520,
      credit: -1250,
      credit_unit: 'currency_minor',
      relay_state: 'connected',
      status: ['low_credit', 'emergency_credit'],
      sequence: 77,
      clock: Date.UTC(2026, 10, 23, 8) / 1000,
    });
    const shown = [...doc.matchAll(/^ *\d+:((?: +\d+)+)/gm)].flatMap((m) =>
      (m[1] ?? '').trim().split(/ +/).map(Number),
    );
    expect(shown).toEqual(words);
  });
});
