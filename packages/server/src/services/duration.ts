import { InputError } from './input-error.js';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** Review apps live for days or weeks; a year is the most a "temporary" URI may claim. */
export const MAX_REDIRECT_URI_LIFETIME_MS = 365 * UNIT_MS.d;

/** Parses `30m`, `12h` or `7d` into milliseconds. */
export function parseDuration(text: string): number {
  const match = /^([1-9]\d{0,5})([mhd])$/.exec(text.trim());
  if (match === null)
    throw new InputError(
      `"${text}" is not a duration: use a number and m, h or d (30m, 12h, 7d)`,
      'invalid_duration',
    );
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (ms > MAX_REDIRECT_URI_LIFETIME_MS)
    throw new InputError(`a redirect URI may expire at most 365 days ahead`, 'invalid_duration');
  return ms;
}
