/**
 * Dates for people, in one format everywhere in the window: "2 Dec 2026", with a time "2 Dec 2026, 14:05",
 * a time alone "14:05". Built from the date's own parts rather than Intl's locale styles, so the window never
 * mixes "Dec 2, 2026, 8:00 AM" on one view with "02/12/2026" on another, whatever locale the OS or Chromium
 * reports. Relative times are measured from the snapshot's own clock (`now`), not this computer's: the demo's
 * sandbox can move its clock 60 days ahead, and "3 days ago" must agree with what main decided.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const relative = new Intl.RelativeTimeFormat('en-GB', { numeric: 'auto' });

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

const two = (n: number) => String(n).padStart(2, '0');

function dayOf(d: Date): string {
  return `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()}`;
}

/** "2 Dec 2026, 14:05" (local time). */
export function when(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  return `${dayOf(d)}, ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** "2 Dec 2026" (local date). */
export function day(iso: string | null): string {
  return iso ? dayOf(new Date(iso)) : '';
}

/** "14:05" (local time). */
export function time(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  return `${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** A yyyy-mm-dd date input's value as the window shows dates ("2 Dec 2026"). */
export function inputDay(date: string): string {
  return day(`${date}T12:00:00`);
}

/** The local yyyy-mm-dd of a time (what a date input holds, and what file names use). */
export function isoDay(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
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
