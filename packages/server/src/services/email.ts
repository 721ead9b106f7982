import { InputError } from './input-error.js';

/** Deliberately loose: one @, something on each side, no spaces. The mailbox is the user's to prove. */
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
/**
 * Unicode's "other" characters: controls (Cc), format characters such as zero-width spaces and
 * joiners, the byte-order mark, soft hyphens and bidirectional overrides (Cf), surrogates,
 * private-use and unassigned code points. None is visible, so each makes a second spelling of an
 * address that looks like the first.
 */
const INVISIBLE = /\p{C}/u;

/**
 * The one spelling of an email address that Gatehouse stores for a user or an operator: NFKC
 * (full-width and compatibility letters become plain ones), otherwise as written: addresses
 * compare case-insensitively wherever they are looked up (`emailKey`). Refuses, rather than repairs, what makes a look-alike of another address:
 * leading or trailing whitespace, invisible characters, and a trailing dot or empty label in the
 * domain (`ops.example.` is the same mail domain as `ops.example`).
 */
export function normaliseEmail(raw: string): string {
  const refuse = (why?: string) =>
    new InputError(
      `${JSON.stringify(raw)} is not an email address${why === undefined ? '' : `: ${why}`}`,
      'invalid_email',
    );
  const email = raw.normalize('NFKC');
  if (email.trim() !== email) throw refuse('it starts or ends with whitespace');
  if (INVISIBLE.test(email)) throw refuse('it contains control or invisible characters');
  if (!EMAIL.test(email)) throw refuse();
  const domain = email.slice(email.lastIndexOf('@') + 1);
  if (domain.split('.').some((label) => label === ''))
    throw refuse('its domain has an empty label or ends with a dot');
  return email;
}

/**
 * What two addresses are compared by when it matters that they are not the same person (an
 * operator and a user): the normalised spelling in lower case, with whatever `normaliseEmail`
 * refuses stripped, so an address stored before that rule still compares as the one it imitates.
 */
export function emailIdentity(email: string): string {
  return email
    .normalize('NFKC')
    .replace(/\p{C}/gu, '')
    .trim()
    .toLowerCase()
    .replace(/\.+$/, '')
    .replace(/\.{2,}/g, '.');
}
