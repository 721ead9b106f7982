import { createHash } from 'node:crypto';
import { randomToken } from './random.js';

/**
 * Client IDs and secrets carry their environment in a visible prefix, and secrets a checksum, so
 * a leaked secret is recognisable (secret scanners can match `ghs_`) and a staging secret pasted
 * into production fails with a message that says so (DESIGN §3).
 *
 *   client_id:     ghc_<environment>_<22 chars>
 *   client_secret: ghs_<environment>_<43 chars><6-char checksum>
 */
const CLIENT_ID = /^ghc_([a-z][a-z0-9-]{0,31})_[A-Za-z0-9_-]{22}$/;
const CLIENT_SECRET = /^ghs_([a-z][a-z0-9-]{0,31})_([A-Za-z0-9_-]{43})([A-Za-z0-9_-]{6})$/;

export function newClientId(environment: string): string {
  return `ghc_${environment}_${randomToken(16)}`;
}

export function newClientSecret(environment: string): string {
  const body = randomToken(32);
  return `ghs_${environment}_${body}${checksum(environment, body)}`;
}

function checksum(environment: string, body: string): string {
  return createHash('sha256').update(`${environment}:${body}`).digest('base64url').slice(0, 6);
}

/** The environment named in a client ID, or undefined for a malformed ID. */
export function clientIdEnvironment(clientId: string): string | undefined {
  return CLIENT_ID.exec(clientId)?.[1];
}

export type SecretShape =
  { ok: true; environment: string } | { ok: false; reason: 'malformed' | 'checksum' };

/** Checks a presented secret's form and checksum before any lookup. */
export function inspectClientSecret(secret: string): SecretShape {
  const match = CLIENT_SECRET.exec(secret);
  if (match === null) return { ok: false, reason: 'malformed' };
  const [, environment = '', body = '', sum = ''] = match;
  if (checksum(environment, body) !== sum) return { ok: false, reason: 'checksum' };
  return { ok: true, environment };
}
