import { createHash, randomUUID } from 'node:crypto';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
} from 'jose';

/**
 * A client's DPoP key (RFC 9449) as a test drives it by hand: proofs with any claim or header
 * overridden, so each check of the server can be attacked on its own.
 */
export class DpopKey {
  private constructor(
    readonly alg: string,
    readonly privateKey: CryptoKey,
    readonly publicJwk: JWK,
    /** RFC 7638 thumbprint: what `cnf.jkt` and `dpop_jkt` name. */
    readonly jkt: string,
  ) {}

  static async generate(alg = 'ES256'): Promise<DpopKey> {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = await exportJWK(publicKey);
    return new DpopKey(alg, privateKey, jwk, await calculateJwkThumbprint(jwk, 'sha256'));
  }

  /**
   * A proof for `htm` `htu`, made now (or at `at`, ms). `claims` and `header` override or add
   * (undefined leaves a claim out).
   */
  async proof(
    htm: string,
    htu: string,
    options: {
      nonce?: string;
      accessToken?: string;
      at?: number;
      claims?: Record<string, unknown>;
      header?: Record<string, unknown>;
    } = {},
  ): Promise<string> {
    const iat = Math.floor((options.at ?? Date.now()) / 1000);
    const claims = Object.fromEntries(
      Object.entries<unknown>({
        htm,
        htu,
        iat,
        jti: randomUUID(),
        ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
        ...(options.accessToken === undefined ? {} : { ath: ath(options.accessToken) }),
        ...options.claims,
      }).filter(([, value]) => value !== undefined),
    );
    return new SignJWT(claims)
      .setProtectedHeader({
        alg: this.alg,
        typ: 'dpop+jwt',
        jwk: this.publicJwk,
        ...options.header,
      })
      .sign(this.privateKey);
  }
}

/** RFC 9449 §4.2 `ath`. */
export function ath(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

export interface DpopReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Headers;
}

/** POSTs a form with the given DPoP header value(s) (an array sends the header several times). */
export async function postWithDpop(
  url: string,
  form: Record<string, string>,
  dpop: string | readonly string[] | undefined,
  headers: Record<string, string> = {},
): Promise<DpopReply> {
  const sent = new Headers({ 'content-type': 'application/x-www-form-urlencoded', ...headers });
  for (const value of typeof dpop === 'string' ? [dpop] : (dpop ?? [])) sent.append('dpop', value);
  const response = await fetch(url, {
    method: 'POST',
    headers: sent,
    body: new URLSearchParams(form),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    headers: response.headers,
  };
}

/**
 * The nonce the server hands out at `url`: a proof without one is answered `use_dpop_nonce`
 * with the nonce in `DPoP-Nonce` (RFC 9449 §8).
 */
export async function serverNonce(
  url: string,
  key: DpopKey,
  form: Record<string, string>,
): Promise<string> {
  const reply = await postWithDpop(url, form, await key.proof('POST', url));
  const nonce = reply.headers.get('dpop-nonce');
  if (reply.body.error !== 'use_dpop_nonce' || nonce === null)
    throw new Error(`expected use_dpop_nonce, got ${reply.status}: ${JSON.stringify(reply.body)}`);
  return nonce;
}

/** A token request with a fresh proof carrying a current nonce (fetched first). */
export async function dpopTokenRequest(
  url: string,
  key: DpopKey,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<DpopReply> {
  const nonce = await serverNonce(url, key, form);
  return postWithDpop(url, form, await key.proof('POST', url, { nonce }), headers);
}
