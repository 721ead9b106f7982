import type { Clock } from '../clock.js';
import type { Stores } from '../storage/index.js';
import type { Provenance, RegistrationChannel } from '../storage/redirect-registrations.js';

/** What services need: the stores and the time. Handlers and CLI commands build one each. */
export interface ServiceContext {
  readonly stores: Stores;
  readonly clock: Clock;
  /** Who acts, for the audit log: `admin:cli`, `operator:<id>`, `system`. */
  readonly actor: string;
  /**
   * Through what the change arrives, for the redirect inventory. Unset: read from the actor
   * (`operator:` the console, `admin:cli` the CLI, `system`).
   */
  readonly channel?: RegistrationChannel;
}

/** Who registers, and how, as the redirect inventory records it. */
export function provenanceOf(ctx: ServiceContext): Provenance {
  if (ctx.channel !== undefined) return { actor: ctx.actor, channel: ctx.channel };
  const channel: RegistrationChannel = ctx.actor.startsWith('operator:')
    ? 'console'
    : ctx.actor.startsWith('admin:')
      ? 'cli'
      : ctx.actor === 'system'
        ? 'system'
        : 'unknown';
  return { actor: ctx.actor, channel };
}
