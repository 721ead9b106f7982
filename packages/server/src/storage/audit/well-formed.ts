import type { AuditEvent } from './entry.js';

/** An unpaired UTF-16 surrogate: no UTF-8 encoding exists for it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const HAS_LONE_SURROGATE = new RegExp(LONE_SURROGATE.source);

/**
 * Both databases store text as UTF-8, where a lone surrogate (which a JSON body can carry, in a
 * client name say) becomes U+FFFD. Hashed as it came, such an entry would fail `audit verify`
 * once read back: anyone could raise a false tampering alarm. It is hashed as it will be stored.
 */
export function storableEvent(event: AuditEvent): AuditEvent {
  // Nearly every event is well-formed already: look before copying.
  return isWellFormed(event) ? event : wellFormed(event);
}

function wellFormed<T>(value: T): T {
  if (typeof value === 'string') return value.replace(LONE_SURROGATE, '\ufffd') as T;
  if (Array.isArray(value)) return value.map(wellFormed) as T;
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [wellFormed(k), wellFormed(v)]),
    ) as T;
  return value;
}

function isWellFormed(value: unknown): boolean {
  if (typeof value === 'string') return !HAS_LONE_SURROGATE.test(value);
  if (Array.isArray(value)) return value.every(isWellFormed);
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).every(([k, v]) => isWellFormed(k) && isWellFormed(v));
  return true;
}
