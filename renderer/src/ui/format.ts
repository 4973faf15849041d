/**
 * Dates for people. Relative times are measured from the snapshot's own clock (`now`), not this computer's:
 * the demo's sandbox can move its clock 60 days ahead, and "3 days ago" must agree with what main decided.
 */

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['week', 7 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

export function ago(iso: string | null, now: string): string {
  if (!iso) return 'never';
  const diff = Date.parse(iso) - Date.parse(now);
  if (Math.abs(diff) < 60_000) return 'just now';
  for (const [unit, ms] of UNITS) {
    if (Math.abs(diff) >= ms) return relative.format(Math.round(diff / ms), unit);
  }
  return 'just now';
}

export function when(iso: string | null): string {
  return iso ? absolute.format(new Date(iso)) : '';
}

export function day(iso: string | null): string {
  return iso ? dateOnly.format(new Date(iso)) : '';
}

/** Local midnight of a yyyy-mm-dd date input, as the ISO time the API wants. */
export function startOfDay(date: string): string {
  return new Date(`${date}T00:00:00`).toISOString();
}

/** The midnight after a yyyy-mm-dd date (the API's `to` is exclusive, the advisor means "up to and including"). */
export function endOfDay(date: string): string {
  const d = new Date(`${date}T00:00:00`);
  d.setDate(d.getDate() + 1);
  return d.toISOString();
}

const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

export function time(iso: string | null): string {
  return iso ? timeOnly.format(new Date(iso)) : '';
}
