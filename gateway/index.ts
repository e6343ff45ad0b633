/** Rasid's protocol gateway: Modbus and DLMS/COSEM meters bridged to the MQTT contract. */
export { CommandDesk, type CommandOutput, RecentCommands } from './commands.ts';
export {
  type DlmsMeterConfig,
  type DlmsSecurity,
  type Environment,
  type GatewayConfig,
  GatewayConfigSchema,
  loadConfig,
  loadConfigFile,
  type MeterConfig,
  MeterSchema,
  type ModbusMeterConfig,
} from './config.ts';
export type { CreditAmounts, MeterDriver, MeterProtocol, SequenceSource, TokenOutcome } from './driver.ts';
export { DlmsClientSession, dlmsClientSessions } from './drivers/cosem-session.ts';
export { type CosemSession, type CosemSessionFactory, DlmsDriver } from './drivers/dlms.ts';
export { ModbusDriver, planReads } from './drivers/modbus.ts';
export { DriverError, type DriverErrorCode, GatewayConfigError, withTimeout } from './errors.ts';
export { ClockSequence, type DriverFactory, driverFactory, Gateway, type GatewayOptions } from './gateway.ts';
export { GatewayMetrics, serveMetrics } from './metrics.ts';
export * from './profiles.ts';
export {
  fetchMeterList,
  type LocalSettings,
  METER_LIST_PATH,
  type MeterList,
  MeterListError,
  MeterListRefresher,
  MeterListSchema,
  type RemoteConfig,
  type RemoteSource,
  remoteConfig,
} from './remote.ts';
export { backoffDelay, jittered, Semaphore } from './schedule.ts';
export { type GatewayLogger, MeterWorker, silentLogger } from './worker.ts';
