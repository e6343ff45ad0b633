import { describe, expect, it } from 'vitest';
import {
  IDENTITY_BLOCK,
  MODBUS_TABLES,
  READING_BLOCK,
  REGISTER_NAMES,
  REGISTERS,
  type RegisterDef,
  STATUS_BITS,
  TOKEN_RESULT_CODES,
  TOKEN_WRITE_BLOCK,
  TYPE_WORDS,
} from '../../../protocols/modbus/index.ts';
import { READING_FLAG_BITS, TOKEN_REJECTIONS } from '../../../protocols/mqtt/index.ts';

const entries = Object.entries(REGISTERS) as [string, RegisterDef][];

describe('register map', () => {
  it('is frozen data', () => {
    expect(Object.isFrozen(REGISTERS)).toBe(true);
    expect(Object.isFrozen(MODBUS_TABLES)).toBe(true);
    expect(Object.isFrozen(READING_BLOCK)).toBe(true);
    expect(REGISTER_NAMES.length).toBe(entries.length);
  });

  it('gives each type its width and no two registers of a table overlap', () => {
    for (const [name, def] of entries) {
      if (def.type !== 'str') expect(def.count, name).toBe(TYPE_WORDS[def.type]);
      expect(def.address, name).toBeGreaterThanOrEqual(0);
      expect(def.address + def.count, name).toBeLessThanOrEqual(0x10000);
      expect(def.description.length, name).toBeGreaterThan(0);
    }
    for (const table of Object.keys(MODBUS_TABLES)) {
      const used = new Map<number, string>();
      for (const [name, def] of entries.filter(([, d]) => d.table === table)) {
        for (let a = def.address; a < def.address + def.count; a++) {
          expect(used.get(a), `${table} ${a}: ${name}`).toBeUndefined();
          used.set(a, name);
        }
      }
    }
  });

  it('keeps read-only tables read-only and bits in coil and discrete tables', () => {
    for (const [name, def] of entries) {
      if (def.table === 'input' || def.table === 'discrete') expect(def.access, name).toBe('r');
      expect(def.type === 'bool', name).toBe(def.table === 'coil' || def.table === 'discrete');
    }
  });

  it('has blocks whose registers fill them end to end', () => {
    for (const block of [READING_BLOCK, IDENTITY_BLOCK, TOKEN_WRITE_BLOCK]) {
      let next = block.address;
      for (const name of block.registers) {
        const def = REGISTERS[name];
        expect(def.table).toBe(block.table);
        expect(def.address, name).toBe(next);
        next += def.count;
      }
      expect(next - block.address).toBe(block.count);
    }
    expect([READING_BLOCK.address, READING_BLOCK.count]).toEqual([0, 22]);
    expect([IDENTITY_BLOCK.address, IDENTITY_BLOCK.count]).toEqual([100, 18]);
    expect([TOKEN_WRITE_BLOCK.address, TOKEN_WRITE_BLOCK.count]).toEqual([200, 11]);
  });

  it('mirrors each status bit as a discrete input at the bit number', () => {
    expect(STATUS_BITS).toBe(READING_FLAG_BITS);
    const discrete = entries.filter(([, d]) => d.table === 'discrete');
    expect(discrete.map(([name, d]) => [name, d.address])).toEqual(
      Object.entries(READING_FLAG_BITS).map(([flag, bit]) => [`alarm_${flag}`, bit]),
    );
  });

  it('gives every STS rejection a token result code from 16 up, all codes distinct', () => {
    for (const rejection of TOKEN_REJECTIONS)
      expect(TOKEN_RESULT_CODES[rejection]).toBeGreaterThanOrEqual(16);
    const codes = Object.values(TOKEN_RESULT_CODES);
    expect(new Set(codes).size).toBe(codes.length);
  });
});
