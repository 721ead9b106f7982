export { runDoctor, verdictOf, type DoctorOptions } from './run.js';
export { formatDoctorReport } from './format.js';
export { listenersOn, type PortListener } from './port-owners.js';
export { exempts as noProxyExempts } from './interception-checks.js';
export type {
  Check,
  CheckGroup,
  CheckStatus,
  DoctorReport,
  DoctorVerdict,
  Fallback,
} from './types.js';
