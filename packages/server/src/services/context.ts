import type { Clock } from '../clock.js';
import type { Stores } from '../storage/index.js';

/** What services need: the stores and the time. Handlers and CLI commands build one each. */
export interface ServiceContext {
  readonly stores: Stores;
  readonly clock: Clock;
  /** Who acts, for the audit log: `admin:cli`, `operator:<id>`, `system`. */
  readonly actor: string;
}
