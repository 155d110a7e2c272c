/**
 * Calendar dates are ISO strings `YYYY-MM-DD` (branded), compared lexically.
 * Arithmetic is done in UTC so no local time zone can shift a day.
 */
export type IsoDate = string & { readonly __brand: 'IsoDate' };

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function isIsoDate(value: string): value is IsoDate {
  const m = ISO_DATE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

export function isoDate(value: string): IsoDate {
  if (!isIsoDate(value)) throw new RangeError(`not a calendar date: ${value}`);
  return value;
}

/** Bounds the memo tables below: they are cleared when they reach this many entries. */
const MEMO_LIMIT = 50_000;
const fromParts = new Map<number, IsoDate>();

export function dateFromParts(year: number, month: number, day: number): IsoDate {
  // Pages of enrollments and invoices compute the same few dates for every row (due dates, months):
  // remember them, keyed by the three integers (any month or day offset a caller can pass fits).
  const memo = Number.isInteger(year + month + day) && Math.abs(month) < 2048 && Math.abs(day) < 32768;
  const key = ((year + 10_000) * 4096 + (month + 2048)) * 65536 + (day + 32768);
  const known = memo ? fromParts.get(key) : undefined;
  if (known !== undefined) return known;
  const t = new Date(Date.UTC(year, month - 1, day));
  const date = t.toISOString().slice(0, 10) as IsoDate;
  if (memo) {
    if (fromParts.size >= MEMO_LIMIT) fromParts.clear();
    fromParts.set(key, date);
  }
  return date;
}

export function parts(date: IsoDate): { year: number; month: number; day: number } {
  return { year: Number(date.slice(0, 4)), month: Number(date.slice(5, 7)), day: Number(date.slice(8, 10)) };
}

const shifted = new Map<string, IsoDate>();

export function addDays(date: IsoDate, days: number): IsoDate {
  // Business-day loops step one day at a time over the same few dates for every payment: remember them.
  const key = `${date}|${days}`;
  let d = shifted.get(key);
  if (d === undefined) {
    const { year, month, day } = parts(date);
    d = dateFromParts(year, month, day + days);
    if (shifted.size >= MEMO_LIMIT) shifted.clear();
    shifted.set(key, d);
  }
  return d;
}

export function addMonths(date: IsoDate, months: number): IsoDate {
  const { year, month, day } = parts(date);
  if (day > 28) throw new RangeError('addMonths is only defined for days 1..28');
  return dateFromParts(year, month + months, day);
}

const weekdays = new Map<string, number>();
/** 0 = Sunday .. 6 = Saturday */
export function weekday(date: IsoDate): number {
  let wd = weekdays.get(date);
  if (wd === undefined) {
    const { year, month, day } = parts(date);
    wd = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
    if (weekdays.size >= MEMO_LIMIT) weekdays.clear();
    weekdays.set(date, wd);
  }
  return wd;
}

export function firstOfMonth(date: IsoDate): IsoDate {
  const { year, month } = parts(date);
  return dateFromParts(year, month, 1);
}

export function isFirstOfMonth(date: IsoDate): boolean {
  return date.endsWith('-01');
}

export const BUSINESS_TIME_ZONE = 'America/New_York';

const formatters = new Map<string, Intl.DateTimeFormat>();
/** Per zone, the date of each UTC hour that lies wholly within one local date (see `businessDateOf`). */
const hourDates = new Map<string, Map<number, IsoDate>>();
const HOUR_MS = 3_600_000;
const MAX_REMEMBERED_HOURS = 8_192;

function formatDate(instant: Date, timeZone: string): IsoDate {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, f);
  }
  const p = f.formatToParts(instant);
  const get = (type: string) => p.find((x) => x.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}` as IsoDate;
}

/**
 * The calendar date of an instant in a time zone (default: the business time zone).
 * Asked for on every payment and every row of a page, so the date of a UTC hour is remembered when
 * the hour's first and last millisecond fall on the same local date (then every instant between
 * does: a local date never goes back within an hour). An hour that holds a local midnight (zones
 * with half-hour offsets, a transition at midnight) is formatted instant by instant.
 */
export function businessDateOf(instant: Date, timeZone: string = BUSINESS_TIME_ZONE): IsoDate {
  const t = instant.getTime();
  if (!Number.isFinite(t)) throw new RangeError('businessDateOf: invalid instant');
  const hour = Math.floor(t / HOUR_MS);
  let dates = hourDates.get(timeZone);
  if (!dates) {
    dates = new Map();
    hourDates.set(timeZone, dates);
  }
  const known = dates.get(hour);
  if (known !== undefined) return known;
  const date = formatDate(instant, timeZone);
  const first = hour * HOUR_MS;
  if (
    first >= -8.64e15 &&
    first + HOUR_MS - 1 <= 8.64e15 &&
    formatDate(new Date(first), timeZone) === date &&
    formatDate(new Date(first + HOUR_MS - 1), timeZone) === date
  ) {
    if (dates.size >= MAX_REMEMBERED_HOURS) dates.clear();
    dates.set(hour, date);
  }
  return date;
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's UTC offset in minutes at an instant (e.g. -300 for EST). */
function offsetMinutes(instant: Date, timeZone: string): number {
  let f = offsetFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
    offsetFormatters.set(timeZone, f);
  }
  const name = f.formatToParts(instant).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  if (!m) return 0;
  const sign = m[1] === '-' ? -1 : 1;
  return sign * (Number(m[2]) * 60 + Number(m[3]));
}

const dayStarts = new Map<string, number>();
/** The first instant of a calendar date in a time zone (midnight is never skipped in America/New_York). */
export function startOfBusinessDay(date: IsoDate, timeZone: string = BUSINESS_TIME_ZONE): Date {
  // Two time-zone lookups (Intl, slow) per call, for the same few dates on every payment: remember them.
  const key = `${timeZone}|${date}`;
  let start = dayStarts.get(key);
  if (start === undefined) {
    const { year, month, day } = parts(date);
    const utcMidnight = Date.UTC(year, month - 1, day);
    const guess = utcMidnight - offsetMinutes(new Date(utcMidnight), timeZone) * 60_000;
    start = utcMidnight - offsetMinutes(new Date(guess), timeZone) * 60_000;
    if (dayStarts.size >= MEMO_LIMIT) dayStarts.clear();
    dayStarts.set(key, start);
  }
  return new Date(start);
}
