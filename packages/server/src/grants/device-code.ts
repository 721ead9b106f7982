import { randomUUID } from 'node:crypto';
import { sha256 } from '../crypto/random.js';
import {
  AccessDenied,
  AuthorizationPending,
  ExpiredToken,
  InvalidGrant,
  InvalidRequest,
  SlowDown,
  UnauthorizedClient,
} from '../errors.js';
import { issueUserTokens, refreshDue } from './user-tokens.js';
import type { GrantHandler } from './context.js';

/** grant_type=urn:ietf:params:oauth:grant-type:device_code (RFC 8628 §3.4). */
export const deviceCodeGrant: GrantHandler = async ({ deps, requestEnv, client, params, dpop }) => {
  const env = requestEnv.environment.name;
  if (client.type !== 'native')
    throw new UnauthorizedClient('the device grant is for native clients');
  if (params.device_code === undefined) throw new InvalidRequest('device_code is required');
  const hash = sha256(params.device_code);
  const now = deps.clock();
  const code = await deps.stores.deviceCodes.findByDeviceCode(env, hash);
  if (code === undefined || code.clientId !== client.clientId)
    throw new InvalidGrant('the device code is invalid');
  if (code.status === 'consumed') throw new InvalidGrant('the device code was already used');
  if (code.expiresAt <= now) throw new ExpiredToken();
  if (code.status === 'denied') throw new AccessDenied('the user denied the request');
  if (code.status === 'pending') {
    const tooFast = code.lastPolledAt !== null && now - code.lastPolledAt < code.intervalS * 1000;
    await deps.stores.deviceCodes.poll(env, hash, now, tooFast);
    throw tooFast ? new SlowDown() : new AuthorizationPending();
  }
  // Recorded with the spend: a revocation on the account page reads it (services/account.ts).
  const grantId = randomUUID();
  if (!(await deps.stores.deviceCodes.consume(env, hash, now, grantId)))
    throw new InvalidGrant('the device code was already used');

  const user = code.userId === null ? undefined : await deps.stores.users.get(env, code.userId);
  if (user === undefined || user.disabled || code.authTime === null)
    throw new InvalidGrant('the user is no longer allowed to sign in');
  const { response } = await issueUserTokens(
    deps,
    requestEnv,
    {
      client,
      user,
      scope: code.scope,
      resource: code.resource,
      authTime: code.authTime,
      nonce: null,
      grantId,
      refresh: refreshDue(client, code.scope),
      codeHash: null,
      ...(dpop === undefined ? {} : { dpopJkt: dpop.jkt }),
      ...(code.sessionClaims === undefined ? {} : { sessionClaims: code.sessionClaims }),
    },
    {
      at: now,
      event: ({ jti, grantId }) => ({
        environment: env,
        type: 'device.redeemed',
        actor: `client:${client.clientId}`,
        clientId: client.clientId,
        userId: user.id,
        data: { jti, grantId, scope: code.scope.join(' ') },
      }),
    },
  );
  return response;
};
