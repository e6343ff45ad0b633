/** The DLMS/COSEM face of Rasid's simulated meter: the TCP server and the in-memory prepaid-meter objects. */
export * from './objects.ts';
export * from './provider.ts';
export * from './server.ts';
export * from './sim-objects.ts';
