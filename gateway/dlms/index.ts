/** Rasid's DLMS/COSEM client over TCP (HDLC or wrapper) for the protocol gateway. */
export * from './client.ts';
export * from './errors.ts';
export * from './link.ts';
