/** The Modbus TCP face of Rasid's simulated meter. */
export { freePort, type ModbusFaceOptions, type ModbusFaceStats, ModbusMeterServer } from './server.ts';
