/** The console's one date format, to the second: "31 Jan 2025, 14:05:09" in the reader's locale. */
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'always' });

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Each unit is used while the distance is below its limit (in that unit's size). */
const UNITS: readonly (readonly [Intl.RelativeTimeFormatUnit, number, number])[] = [
  ['minute', MINUTE, 60],
  ['hour', HOUR, 48],
  ['day', DAY, 60],
  ['month', 30 * DAY, 24],
  ['year', 365 * DAY, Infinity],
];

/** Every date the console shows, in tables, details and the titles of relative times. */
export function formatDateTime(ms: number): string {
  return dateTime.format(new Date(ms));
}

/** "in 3 days", "5 minutes ago", "in less than a minute". */
export function formatRelative(ms: number, now: number): string {
  const delta = ms - now;
  if (Math.abs(delta) < MINUTE)
    return delta >= 0 ? 'in less than a minute' : 'less than a minute ago';
  for (const [unit, size, limit] of UNITS) {
    const count = Math.round(delta / size);
    if (Math.abs(count) < limit) return relative.format(count, unit);
  }
  return relative.format(Math.round(delta / (365 * DAY)), 'year');
}

/** `2025-01-31T14:05` (a datetime-local value) as milliseconds, or undefined when empty. */
export function parseLocalDateTime(value: string): number | undefined {
  if (value === '') return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/**
 * JSON for display, with each control character, line or paragraph separator and bidirectional
 * control written as its `\uXXXX` escape. Audit data holds what outsiders typed (a sign-in's
 * email) and names stored before they were checked: a right-to-left override would make
 * `admin@\u202emoc.elgoog` read as another address. `JSON.stringify` escapes only C0 controls.
 */
export function displayedJson(value: unknown): string {
  return JSON.stringify(value).replace(
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
    /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
