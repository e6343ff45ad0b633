/** The technician's commissioning flow against a running Rasid, with a simulated meter. */
export {
  type CommissionOptions,
  commission,
  formatReport,
  RasidApi,
  RasidApiError,
  type StepResult,
  type StepStatus,
} from './flow.ts';
