/** Rasid's Modbus register map for prepaid meters and its codec. */
export * from './codec.ts';
export * from './cursor.ts';
export * from './map.ts';
