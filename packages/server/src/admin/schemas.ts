import type { FastifyInstance } from 'fastify';
import { GRANT_TYPE_SCHEMA } from './route.js';

/**
 * The shapes the admin API answers with, as named OpenAPI components (`#/components/schemas/X`).
 * They document the API (the console's types are generated from them); they do not shape the
 * answers: the admin API serializes with JSON.stringify (see `registerAnswerSchemas`), so a field
 * missing here is still sent.
 */
const string = { type: 'string' } as const;
const integer = { type: 'integer' } as const;
const boolean = { type: 'boolean' } as const;
const strings = { type: 'array', items: string } as const;
const grantTypes = { type: 'array', items: GRANT_TYPE_SCHEMA } as const;
const nullable = <T extends object>(schema: T) => ({ ...schema, nullable: true }) as const;
const object = <P extends Record<string, object>>(
  properties: P,
  optional: readonly (keyof P & string)[] = [],
) => ({
  type: 'object',
  required: Object.keys(properties).filter((key) => !optional.includes(key)),
  properties,
});
const ref = (id: string) => ({ $ref: `${id}#` });

const SCHEMAS: Record<string, object> = {
  Role: { type: 'string', enum: ['admin', 'support', 'viewer'] },
  Tier: { type: 'string', enum: ['development', 'staging', 'production'] },
  ClientType: { type: 'string', enum: ['web', 'native', 'spa'] },
  RegistrationPolicy: { type: 'string', enum: ['open', 'token', 'off'] },
  /** A loopback host a redirect URI may name (RFC 8252 §7.3, §8.3). */
  LoopbackHost: { type: 'string', enum: ['127.0.0.1', '[::1]', 'localhost'] },
  /** A registration the environment's loopback policy refuses: it matches nothing any more. */
  LoopbackViolation: object(
    {
      clientId: string,
      clientName: string,
      kind: { type: 'string', enum: ['redirect', 'post_logout'] },
      uri: string,
      message: string,
      suggestion: string,
    },
    ['suggestion'],
  ),
  Session: object({
    operator: object({ id: string, email: string, role: ref('Role') }),
    csrfToken: string,
  }),
  Environment: object({
    name: string,
    tier: ref('Tier'),
    issuer: string,
    impersonationEnabled: boolean,
    registration: ref('RegistrationPolicy'),
    allowLoopbackDocuments: boolean,
    metadataDocuments: boolean,
    requirePar: boolean,
    /** RFC 9449: every token request must carry a DPoP proof. */
    requireDpop: boolean,
    /** Seconds a just-rotated refresh token may be presented again by its client; 0: none. */
    refreshGraceSeconds: integer,
    /** The loopback hosts redirect URIs may name here (issue #18); all three by default. */
    loopbackHosts: { type: 'array', items: ref('LoopbackHost') },
    clientCount: integer,
    userCount: integer,
    createdAt: integer,
  }),
  Client: object({
    clientId: string,
    environment: string,
    name: string,
    type: ref('ClientType'),
    grantTypes,
    skipConsent: boolean,
    hasSecret: boolean,
    redirectUris: {
      type: 'array',
      items: object({ uri: string, expiresAt: nullable(integer) }),
    },
    managedBy: nullable(string),
    promotedFrom: nullable(string),
    kind: { type: 'string', enum: ['registered', 'dynamic', 'metadata_document'] },
    exchangeAudiences: nullable(strings),
    allowedResources: nullable(strings),
    scopes: strings,
    idTokenSignedResponseAlg: { type: 'string', enum: ['RS256', 'ES256'], nullable: true },
    postLogoutRedirectUris: strings,
    backchannelLogoutUri: nullable(string),
    jwks: nullable(
      object({
        keys: { type: 'array', items: { type: 'object', additionalProperties: true } },
      }),
    ),
    jwksUri: nullable(string),
    tokenEndpointAuthMethod: {
      type: 'string',
      enum: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
      nullable: true,
    },
    requirePar: boolean,
    pkceExemptWithNonce: boolean,
    /** RFC 9449: its token requests must carry a DPoP proof. */
    requireDpop: boolean,
    createdAt: integer,
    updatedAt: integer,
  }),
  LintWarning: object({ code: string, message: string, uris: strings }),
  RefusedUri: object({ uri: string, code: string, message: string, suggestion: string }, [
    'suggestion',
  ]),
  ProtectedResource: object({
    environment: string,
    uri: string,
    name: string,
    scopes: strings,
    /** The confidential client the resource server authenticates as; null: none. */
    clientId: nullable(string),
    /** What its access tokens are signed with: RS256 if it asks; null: ES256. */
    accessTokenAlg: nullable(string),
    createdAt: integer,
  }),
  User: object({
    id: string,
    environment: string,
    email: string,
    name: nullable(string),
    disabled: boolean,
    /** OIDC Core §5.1 `email_verified`, as ID tokens and userinfo say it. */
    emailVerified: boolean,
    createdAt: integer,
    updatedAt: integer,
  }),
  Consent: object({
    clientId: string,
    clientName: nullable(string),
    agent: boolean,
    scopes: strings,
    resources: { type: 'array', items: object({ uri: string, scopes: strings }) },
    grantedAt: integer,
  }),
  Operator: object({
    id: string,
    email: string,
    role: ref('Role'),
    disabled: boolean,
    createdAt: integer,
  }),
  Impersonation: object({
    id: string,
    environment: string,
    operatorId: string,
    operatorEmail: string,
    userId: string,
    userEmail: string,
    clientId: string,
    clientName: string,
    reason: string,
    startedAt: integer,
    expiresAt: integer,
    endedAt: nullable(integer),
    endReason: { type: 'string', enum: ['ended', 'expired'], nullable: true },
    active: boolean,
  }),
  AuditEntry: object({
    seq: integer,
    at: integer,
    environment: nullable(string),
    type: string,
    actor: string,
    clientId: nullable(string),
    userId: nullable(string),
    data: { type: 'object', additionalProperties: true },
    hash: string,
  }),
  AuditVerification: {
    oneOf: [
      object({ ok: { type: 'boolean', enum: [true] }, count: integer }),
      object({
        ok: { type: 'boolean', enum: [false] },
        count: integer,
        seq: integer,
        reason: string,
      }),
    ],
  },
  RefusedRedirect: object({
    uri: string,
    count: integer,
    firstSeenAt: integer,
    lastSeenAt: integer,
    closest: nullable(string),
    diff: nullable(
      object({
        index: integer,
        expected: string,
        component: string,
        kind: string,
        description: { ...string, description: 'A phrase completing "the request ..."' },
      }),
    ),
    registrable: {
      oneOf: [
        object({ ok: { type: 'boolean', enum: [true] } }),
        object({ ok: { type: 'boolean', enum: [false] }, code: string, message: string }),
      ],
    },
  }),
  PromotionPlan: object({
    from: string,
    to: string,
    clientId: string,
    action: { type: 'string', enum: ['create', 'update'] },
    targetClientId: nullable(string),
    accepted: strings,
    refused: { type: 'array', items: ref('RefusedUri') },
    skippedExpiring: strings,
    grantTypes,
  }),
};

/** `{ key: X }` answers, the usual envelope. */
export const answer = <P extends Record<string, object>>(
  properties: P,
  optional: readonly (keyof P & string)[] = [],
) => object(properties, optional);
export const one = (key: string, id: string) => answer({ [key]: ref(id) });
export const many = (key: string, id: string) =>
  answer({ [key]: { type: 'array', items: ref(id) } });
export { ref };

export const clientAndWarnings = answer({
  client: ref('Client'),
  warnings: { type: 'array', items: ref('LintWarning') },
});

/**
 * Adds the shapes to the admin API's scope, and keeps the answers JSON.stringify'd as before
 * (Fastify would otherwise serialize by these schemas, dropping fields they do not name).
 */
export function registerAnswerSchemas(api: FastifyInstance): void {
  for (const [id, schema] of Object.entries(SCHEMAS)) api.addSchema({ $id: id, ...schema });
  api.setSerializerCompiler(() => (data) => JSON.stringify(data));
}

/** For @fastify/swagger: a schema added with an `$id` is the component of that name. */
export const refResolver = {
  buildLocalReference: (json: { $id?: unknown }, _base: unknown, _fragment: unknown, i: number) =>
    typeof json.$id === 'string' ? json.$id : `def-${i}`,
};
