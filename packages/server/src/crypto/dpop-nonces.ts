import { createHmac, hkdfSync } from 'node:crypto';
import { safeEqual } from './random.js';

/**
 * How long one nonce slot lasts. A nonce is accepted in its own slot and the next one, so it is
 * good for between one and two slots: long enough that a client rarely meets a refusal between
 * getting a nonce and using it, short enough that a proof made in advance by whoever briefly
 * held the key is soon useless (RFC 9449 §8, §11.1).
 */
export const DPOP_NONCE_SLOT_S = 300;

/**
 * Server-provided DPoP nonces (RFC 9449 §8), with no storage: a nonce is a time slot and an
 * HMAC-SHA-256 of the slot and the environment under a key derived from the server secret (its
 * own HKDF label, like the audit and client-secret keys). Every process of a deployment has the
 * same secret, so any of them accepts the nonce another handed out; nothing is written per nonce.
 */
export interface DpopNonces {
  /** The nonce to hand out now, for `environment`. */
  current(environment: string, now: number): string;
  /** Whether `nonce` is one this server handed out for `environment`, in this slot or the last. */
  accepts(environment: string, nonce: string, now: number): boolean;
}

export function dpopNonces(serverSecret: string): DpopNonces {
  const key = Buffer.from(hkdfSync('sha256', serverSecret, 'gatehouse', 'dpop nonces v1', 32));
  const slotOf = (now: number) => Math.floor(now / 1000 / DPOP_NONCE_SLOT_S);
  const nonceFor = (environment: string, slot: number) => {
    const slotText = slot.toString(36);
    const mac = createHmac('sha256', key)
      .update(`${environment}\n${slotText}`)
      .digest('base64url')
      .slice(0, 32);
    return `${slotText}.${mac}`;
  };
  return {
    current: (environment, now) => nonceFor(environment, slotOf(now)),
    accepts(environment, nonce, now) {
      const slot = slotOf(now);
      // Constant-time: a nonce is not secret, but a compare that leaks where it differs would let
      // one be built without the key.
      return [slot, slot - 1].some((s) => safeEqual(nonce, nonceFor(environment, s)));
    },
  };
}
