/** Running simulated meters: protocol faces behind one interface, a fleet, a shared schedule. */
export {
  type BrokerSettings,
  type FaceContext,
  type FleetOptions,
  type FleetStats,
  type MeterSpec,
  type ModbusSettings,
  newFleetStats,
  openMeter,
  type ProtocolDriver,
  type RunningFace,
  SIM_PROTOCOL_NAMES,
  SIM_PROTOCOLS,
  SimFleet,
  type SimProtocol,
} from './fleet.ts';
export { SharedSchedule, type SharedScheduleOptions } from './scheduler.ts';
