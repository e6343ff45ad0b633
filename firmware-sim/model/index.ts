/** Rasid's simulated meter: the model, its clock, curves and stored state. No I/O but the state files. */
export { type Clock, ManualClock, ScaledClock, type ScaledClockOptions, systemClock } from './clock.ts';
export { DAILY_SHAPES, type DailyShapeName, demandAt, type LoadProfile, voltageAt } from './curves.ts';
export {
  type CreditUnit,
  describeEffect,
  type MeterKind,
  type RelayChange,
  SimMeter,
  type SimMeterConfig,
  type SimMeterEvents,
  type SimMeterOptions,
  type StsParameters,
  type SupplyMode,
  type TamperKind,
  type TokenOutcome,
  type TokenSource,
} from './meter.ts';
export { gaussianAt, hash32, seedFrom, sequence, uniformAt } from './random.ts';
export {
  DISCONNECT_CAUSES,
  type DisconnectCause,
  FileStateStore,
  MemoryStateStore,
  type MeterStateStore,
  type SimMeterState,
  SimMeterStateSchema,
  STATE_VERSION,
  StateFileError,
  StateSaver,
} from './state.ts';
export { DEMO_VENDING_KEY, type StsSetup, stsParametersFor } from './sts.ts';
