/**
 * Rasid's DLMS/COSEM codec (IEC 62056). Pure functions and small stateful classes, no sockets: the
 * gateway (client) and the simulator meter (server) share it.
 */

export * from './acse.ts';
export * from './axdr.ts';
export * from './classes.ts';
export * from './crc.ts';
export * from './cursor.ts';
export * from './datetime.ts';
export * from './framer.ts';
export * from './hdlc.ts';
export * from './obis.ts';
export * from './security.ts';
export * from './wrapper.ts';
export * from './xdlms.ts';
