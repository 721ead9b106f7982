import { acceptedResource, consentItems, decideResource } from '../../services/resources.js';
import { randomInt } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomToken, sha256 } from '../../crypto/random.js';
import { InvalidRequest, UnauthorizedClient } from '../../errors.js';
import { authenticateClient } from '../../http/client-auth.js';
import type { AppDeps, EnvironmentContext } from '../../http/deps.js';
import { csrfChecked } from '../../http/csrf.js';
import { environmentContext } from '../../http/environment.js';
import { formParams, singleParams } from '../../http/form.js';
import { scopeList } from '../../protocol.js';
import { signIn } from '../../http/sign-in.js';
import { DEVICE_CODE_GRANT } from '../../protocol.js';
import { limitAddress } from '../../services/sign-in-limits.js';
import type { DeviceCode } from '../../storage/device-codes.js';
import { consentPage, deviceCodePage, deviceDonePage, loginPage } from '../../pages/pages.js';
import { currentSession } from '../../authorization/session.js';
import { sessionClaimsOf } from '../../authorization/session-claims.js';

export const DEVICE_CODE_TTL_S = 600;
export const DEVICE_POLL_INTERVAL_S = 5;

/**
 * RFC 8628 §6.1: 20 consonants, no vowels (no words), no look-alikes such as 0/O or 1/I; 8 of them
 * give 20^8 ≈ 2.6e10 codes, and entry is rate-limited per address.
 */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

export function newUserCode(): string {
  return Array.from(
    { length: 8 },
    () => USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)],
  ).join('');
}

/** What people type: any case, with or without the dash or spaces. */
export function normaliseUserCode(input: string): string {
  return input.toUpperCase().replace(/[^A-Z]/g, '');
}

function display(userCode: string): string {
  return `${userCode.slice(0, 4)}-${userCode.slice(4)}`;
}

function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.status(status).type('text/html; charset=utf-8').send(body);
}

/** The device authorization endpoint and the page where the user enters the code. */
export function deviceEndpoints(app: FastifyInstance, deps: AppDeps): void {
  app.post('/e/:env/device_authorization', async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const params = formParams(request); // RFC 8628 §3.1
    const { client } = await authenticateClient(deps, requestEnv.environment.name, request, params);
    if (client.type !== 'native' || !client.grantTypes.includes(DEVICE_CODE_GRANT))
      throw new UnauthorizedClient('this client may not use the device grant');
    const scope = scopeList(params.scope);
    const resource = params.resource ?? null;
    // The same resource and scope rules as the authorization endpoint (RFC 8707).
    acceptedResource(
      await decideResource(deps.stores, requestEnv.environment.name, client, resource, scope),
    );

    const now = deps.clock();
    const deviceCode = `ghdc_${randomToken(32)}`;
    let userCode = '';
    for (let attempt = 0; userCode === ''; attempt++) {
      if (attempt === 5) throw new InvalidRequest('could not allocate a user code; try again');
      const candidate = newUserCode();
      const created = await deps.stores.deviceCodes.create({
        deviceCodeHash: sha256(deviceCode),
        userCode: candidate,
        environment: requestEnv.environment.name,
        clientId: client.clientId,
        scope,
        resource,
        status: 'pending',
        userId: null,
        authTime: null,
        intervalS: DEVICE_POLL_INTERVAL_S,
        lastPolledAt: null,
        expiresAt: now + DEVICE_CODE_TTL_S * 1000,
        createdAt: now,
      });
      if (created) userCode = candidate;
    }
    await deps.stores.audit.append(
      {
        environment: requestEnv.environment.name,
        type: 'device.code_issued',
        actor: `client:${client.clientId}`,
        clientId: client.clientId,
        data: { scope: scope.join(' ') },
      },
      now,
    );
    return reply.header('Cache-Control', 'no-store').send({
      device_code: deviceCode,
      user_code: display(userCode),
      verification_uri: `${requestEnv.issuer}/device`,
      verification_uri_complete: `${requestEnv.issuer}/device?user_code=${display(userCode)}`,
      expires_in: DEVICE_CODE_TTL_S,
      interval: DEVICE_POLL_INTERVAL_S,
    });
  });

  app.get('/e/:env/device', async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const prefill = singleParams(request.query).user_code;
    return html(
      reply,
      200,
      deviceCodePage({
        environment: requestEnv.environment.name,
        csrf: reply.generateCsrf(),
        ...(prefill === undefined ? {} : { userCode: prefill.slice(0, 16) }),
      }),
    );
  });

  /** The code, once entered, is checked on every step: it is what binds the pages to the device. */
  const pendingCode = async (
    requestEnv: EnvironmentContext,
    request: FastifyRequest,
    raw: string | undefined,
  ): Promise<DeviceCode | { error: string; status: number }> => {
    const now = deps.clock();
    const key = `${requestEnv.environment.name}:device:${limitAddress(request.ip)}`;
    // Counted before the look-up, so guesses fired in parallel cannot all pass one count.
    const attempt = await deps.deviceCodeLimiter.reserve(key, now);
    if (!attempt.granted)
      return {
        status: 429,
        error: `Too many wrong codes. Try again in ${Math.ceil(attempt.retryAfterMs / 60_000)} minute(s).`,
      };
    const code = await deps.stores.deviceCodes.findPendingByUserCode(
      requestEnv.environment.name,
      normaliseUserCode(raw ?? ''),
      now,
    );
    if (code === undefined)
      return {
        status: 400,
        error: 'That code is not valid or has expired. Check it on your device.',
      };
    // A right code is not a guess: only wrong ones count.
    await attempt.release();
    return code;
  };

  /** The code-entry page again, saying why the code was refused. */
  const refuseCode = (
    requestEnv: EnvironmentContext,
    reply: FastifyReply,
    refusal: { error: string; status: number },
    typed?: string,
  ) =>
    html(
      reply,
      refusal.status,
      deviceCodePage({
        environment: requestEnv.environment.name,
        csrf: reply.generateCsrf(),
        error: refusal.error,
        ...(typed === undefined ? {} : { userCode: typed.slice(0, 16) }),
      }),
    );

  const deviceConsent = async (
    requestEnv: EnvironmentContext,
    reply: FastifyReply,
    code: DeviceCode,
    email: string,
  ) => {
    const client = await deps.stores.clients.get(requestEnv.environment.name, code.clientId);
    return html(
      reply,
      200,
      consentPage({
        environment: requestEnv.environment.name,
        clientName: client?.name ?? 'An application',
        scopes: code.scope,
        redirectHost: 'the device that showed you the code',
        loopback: false,
        csrf: reply.generateCsrf(),
        interaction: '',
        email,
        action: `/e/${requestEnv.environment.name}/device/consent`,
        hidden: { user_code: code.userCode },
      }),
    );
  };

  const nextStep = async (
    requestEnv: EnvironmentContext,
    request: FastifyRequest,
    reply: FastifyReply,
    code: DeviceCode,
    loginError?: { status: number; message: string; email: string },
  ) => {
    const client = await deps.stores.clients.get(requestEnv.environment.name, code.clientId);
    const hidden = { user_code: code.userCode };
    const current =
      loginError === undefined ? await currentSession(deps, requestEnv, request) : undefined;
    if (current === undefined) {
      return html(
        reply,
        loginError?.status ?? 200,
        loginPage({
          environment: requestEnv.environment.name,
          clientName: client?.name ?? null,
          csrf: reply.generateCsrf(),
          interaction: '',
          action: `/e/${requestEnv.environment.name}/device/login`,
          hidden,
          ...(loginError === undefined
            ? {}
            : { email: loginError.email, error: loginError.message }),
        }),
      );
    }
    return deviceConsent(requestEnv, reply, code, current.user.email);
  };

  app.post('/e/:env/device', csrfChecked(app), async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const body = singleParams(request.body);
    const code = await pendingCode(requestEnv, request, body.user_code);
    if ('error' in code) return refuseCode(requestEnv, reply, code, body.user_code);
    return nextStep(requestEnv, request, reply, code);
  });

  app.post('/e/:env/device/login', csrfChecked(app), async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const body = singleParams(request.body);
    const code = await pendingCode(requestEnv, request, body.user_code);
    if ('error' in code) return refuseCode(requestEnv, reply, code);
    const email = (body.email ?? '').trim();
    const outcome = await signIn(deps, requestEnv, request, reply, email, body.password ?? '', {
      clientId: code.clientId,
      device: true,
    });
    if (!outcome.ok)
      return nextStep(requestEnv, request, reply, code, {
        status: outcome.status,
        message: outcome.message,
        email,
      });
    // The session cookie is set on this response; show consent now rather than another round trip.
    return deviceConsent(requestEnv, reply, code, outcome.user.email);
  });

  app.post('/e/:env/device/consent', csrfChecked(app), async (request, reply) => {
    const requestEnv = await environmentContext(deps, request);
    const body = singleParams(request.body);
    const code = await pendingCode(requestEnv, request, body.user_code);
    if ('error' in code) return refuseCode(requestEnv, reply, code);
    const current = await currentSession(deps, requestEnv, request);
    if (current === undefined) return nextStep(requestEnv, request, reply, code);
    const approved = body.decision === 'allow';
    // Only the decision that changed the code counts: a second, concurrent one is told so.
    const decided = await deps.stores.deviceCodes.decide(
      requestEnv.environment.name,
      code.deviceCodeHash,
      {
        approved,
        userId: current.user.id,
        authTime: current.session.authTime,
        // What the ID token says of this sign-in (sid, amr): the device grant has no acr_values.
        sessionClaims: sessionClaimsOf(current.session, false),
      },
    );
    if (!decided)
      return html(
        reply,
        409,
        deviceCodePage({
          environment: requestEnv.environment.name,
          csrf: reply.generateCsrf(),
          error: 'That code was already used. Check your device.',
        }),
      );
    const decision = {
      at: deps.clock(),
      event: {
        environment: requestEnv.environment.name,
        type: approved ? 'device.approved' : 'device.denied',
        actor: `user:${current.user.id}`,
        clientId: code.clientId,
        userId: current.user.id,
      },
    };
    // An approval's consent and its audit entry are committed together (storage/consents.ts).
    if (approved)
      await deps.stores.consents.grant(
        {
          environment: requestEnv.environment.name,
          userId: current.user.id,
          clientId: code.clientId,
          scopes: consentItems(code.scope, code.resource),
          at: decision.at,
        },
        decision,
      );
    else await deps.stores.audit.append(decision.event, decision.at);
    return html(reply, 200, deviceDonePage(approved));
  });
}
