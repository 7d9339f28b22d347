/**
 * Date helpers for the Kill Bill emulator (test double). Everything is UTC: accounts are treated as if their
 * timeZone were UTC. LocalDates are 'YYYY-MM-DD' strings, instants are epoch milliseconds.
 */

export type TimeUnit = 'DAYS' | 'WEEKS' | 'MONTHS' | 'YEARS' | 'UNLIMITED';

export interface Duration {
  unit: TimeUnit;
  number: number;
}

const DAY_MS = 86_400_000;

export function toLocalDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

function parts(date: string): [number, number, number] {
  const [y, m, d] = date.split('-').map(Number);
  return [y, m, d];
}

function fmt(y: number, m: number, d: number): string {
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Joda-style month arithmetic: the day is clamped to the end of the target month (Jan 31 + 1 month = Feb 28). */
export function addMonthsToLocalDate(date: string, months: number): string {
  const [y, m, d] = parts(date);
  const index = y * 12 + (m - 1) + months;
  const ny = Math.floor(index / 12);
  const nm = (index % 12) + 1;
  return fmt(ny, nm, Math.min(d, daysInMonth(ny, nm)));
}

export function addDaysToLocalDate(date: string, days: number): string {
  return toLocalDate(Date.parse(`${date}T00:00:00.000Z`) + days * DAY_MS);
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00.000Z`) - Date.parse(`${from}T00:00:00.000Z`)) / DAY_MS);
}

/** Instant of a LocalDate at the time of day of `referenceMs` (Kill Bill uses the account reference time). */
export function localDateAt(date: string, referenceMs: number): number {
  const timeOfDay = ((referenceMs % DAY_MS) + DAY_MS) % DAY_MS;
  return Date.parse(`${date}T00:00:00.000Z`) + timeOfDay;
}

export function addDuration(ms: number, duration: Duration): number | null {
  switch (duration.unit) {
    case 'UNLIMITED':
      return null;
    case 'DAYS':
      return ms + duration.number * DAY_MS;
    case 'WEEKS':
      return ms + duration.number * 7 * DAY_MS;
    case 'MONTHS':
    case 'YEARS': {
      const months = duration.unit === 'MONTHS' ? duration.number : duration.number * 12;
      const timeOfDay = ms - Date.parse(`${toLocalDate(ms)}T00:00:00.000Z`);
      return Date.parse(`${addMonthsToLocalDate(toLocalDate(ms), months)}T00:00:00.000Z`) + timeOfDay;
    }
  }
}

export function addDurationToLocalDate(date: string, duration: Duration): string | null {
  const result = addDuration(Date.parse(`${date}T00:00:00.000Z`), duration);
  return result === null ? null : toLocalDate(result);
}

/** The date carrying bill-cycle day `bcd` in the month of `date` (clamped to the month's last day). */
export function bcdDateInMonthOf(date: string, bcd: number): string {
  const [y, m] = parts(date);
  return fmt(y, m, Math.min(bcd, daysInMonth(y, m)));
}

export function dayOfMonth(date: string): number {
  return parts(date)[2];
}

/**
 * Parses a query-string date: 'yyyy-mm-dd' or an ISO date-time (the forms Kill Bill accepts).
 * Returns epoch ms, or null when the value is not a date.
 */
export function parseDateParam(value: string): number | null {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return Date.parse(`${value}T00:00:00.000Z`);
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : parsed;
}

export const ONE_DAY_MS = DAY_MS;
