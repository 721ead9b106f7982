import type { Clock } from '../clock.js';
import { GuardedPostError, type GuardedPoster } from '../net/guarded-post.js';
import type { Stores } from '../storage/index.js';
import type { LogoutDelivery } from '../storage/logout-deliveries.js';
import { issueLogoutToken } from '../tokens/logout-token.js';
import type { Signer } from '../tokens/signer.js';

/**
 * Waits after the first, second, ... failed attempt; one more attempt than there are delays, then
 * the delivery is given up. About three hours in all: a receiver down for a deploy or a short
 * outage still gets the logout, one down for longer has its sessions expire on their own.
 */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [
  10_000,
  60_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3600_000,
];

export interface LogoutDeliveryOptions {
  readonly retryDelaysMs?: readonly number[];
  /**
   * How long a claimed attempt is held: a process that dies mid-attempt leaves the delivery to
   * be tried again after it. Longer than the poster's timeout.
   */
  readonly leaseMs?: number;
  /** Deliveries attempted per run at most. */
  readonly batch?: number;
  /**
   * Of those, one client's at most: a client whose receiver never answers, or that has a
   * backlog, neither holds up the other clients' deliveries nor gets a crowd of POSTs at once.
   */
  readonly perClient?: number;
}

export interface LogoutDeliveryDeps {
  readonly stores: Stores;
  readonly clock: Clock;
  readonly signer: Signer;
  readonly poster: GuardedPoster;
  /** The environment's issuer (its URL is known only once the server listens). */
  readonly issuerOf: (environment: string) => string;
}

/**
 * Delivers queued Back-Channel Logout tokens (OIDC Back-Channel Logout 1.0 §2.5): a form POST
 * of `logout_token` to the client's backchannel_logout_uri through the SSRF-guarded poster, a 2xx
 * answer meaning delivered (§2.8). Failures are retried with growing delays, then given up; each
 * delivery, failed attempt and give-up is audited. Several processes may run it on one database:
 * each attempt is claimed first by a conditional update (storage/logout-deliveries.ts).
 */
export class LogoutDeliveryWorker {
  private readonly retryDelaysMs: readonly number[];
  private readonly leaseMs: number;
  private readonly batch: number;
  private readonly perClient: number;
  private running: Promise<number> | undefined;

  constructor(
    private readonly deps: LogoutDeliveryDeps,
    options: LogoutDeliveryOptions = {},
  ) {
    this.retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.batch = options.batch ?? 50;
    this.perClient = options.perClient ?? 5;
  }

  /** Attempts every due delivery once; a run already under way is joined, not doubled. */
  runOnce(): Promise<number> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Resolves when the run under way (if any) has finished: before the database closes. */
  async settled(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  private async run(): Promise<number> {
    const { stores, clock } = this.deps;
    const due = await stores.logoutDeliveries.due(clock(), this.batch, this.perClient);
    // At most a few per client (perClient), all at once: a receiver that never answers costs the
    // run the poster's timeout, and only its own client's few deliveries.
    const attempted = await Promise.all(due.map((delivery) => this.attempt(delivery)));
    return attempted.filter(Boolean).length;
  }

  private async attempt(due: LogoutDelivery): Promise<boolean> {
    const { stores, clock, signer, poster } = this.deps;
    const now = clock();
    const delivery = await stores.logoutDeliveries.claim(due, now, now + this.leaseMs);
    if (delivery === undefined) return false;
    const { environment, clientId } = delivery;
    const audit = (type: string, data: Record<string, unknown>) =>
      stores.audit.append(
        {
          environment,
          type,
          actor: 'system',
          clientId,
          userId: delivery.sub,
          data: { delivery: delivery.id, sid: delivery.sid, attempt: delivery.attempts, ...data },
        },
        clock(),
      );
    const client = await stores.clients.get(environment, clientId);
    const env = await stores.environments.get(environment);
    // Delivered to the URI registered now: a client that changed it meanwhile wants the new one.
    const uri = client?.backchannelLogoutUri ?? null;
    if (client === undefined || env === undefined || uri === null || uri === '') {
      await stores.logoutDeliveries.attemptFailed(
        delivery.id,
        'no backchannel_logout_uri',
        clock(),
        undefined,
        delivery.attempts,
      );
      await audit('logout.backchannel_abandoned', {
        error: 'the client no longer has a backchannel_logout_uri',
      });
      return true;
    }
    try {
      const token = await issueLogoutToken(signer, {
        environment,
        issuer: this.deps.issuerOf(environment),
        clientId,
        sub: delivery.sub,
        sid: delivery.sid,
        jti: delivery.id,
        alg: client.idTokenSignedResponseAlg,
        now: clock(),
      });
      // Loopback only in development, as registration allows (services/client-settings.ts); for a
      // client that registered itself (RFC 7591, a metadata document) only where the environment
      // allows loopback documents too: a name can resolve to this machine whatever registration
      // saw in the text, and every server has an open development environment (SSRF).
      await poster.postForm(
        new URL(uri),
        { logout_token: token },
        {
          allowLoopback:
            env.tier === 'development' &&
            (client.kind === 'registered' || env.allowLoopbackDocuments),
        },
      );
    } catch (error) {
      const message =
        error instanceof GuardedPostError || error instanceof TypeError
          ? error.message
          : 'the logout token could not be sent';
      const delay = this.retryDelaysMs[delivery.attempts - 1];
      // A URL the guard refuses is refused again on every attempt: given up at once.
      const final =
        delay === undefined ||
        (error instanceof GuardedPostError &&
          (error.code === 'scheme' || error.code === 'internal_address'));
      await stores.logoutDeliveries.attemptFailed(
        delivery.id,
        message,
        clock(),
        final ? undefined : clock() + delay,
        delivery.attempts,
      );
      await audit(final ? 'logout.backchannel_abandoned' : 'logout.backchannel_failed', {
        host: hostOf(uri),
        error: message,
      });
      return true;
    }
    await stores.logoutDeliveries.delivered(delivery.id, clock());
    await audit('logout.backchannel_delivered', { host: hostOf(uri) });
    return true;
  }
}

function hostOf(uri: string): string {
  try {
    return new URL(uri).host;
  } catch {
    return '';
  }
}
