import { addDays, dateFromParts, type IsoDate, parts, weekday } from './dates.js';

/**
 * R3/R4: business days are Monday..Friday except holidays. Holidays are data
 * (rules or explicit dates), so the calendar can be replaced.
 */
export type HolidayRule =
  | { name: string; kind: 'fixed'; month: number; day: number; observed: boolean }
  | { name: string; kind: 'nth_weekday'; month: number; weekday: number; nth: number };

const MON = 1;
const THU = 4;

/** Massachusetts state offices' holidays (R3). `nth: -1` is the last such weekday of the month. */
export const MASSACHUSETTS_HOLIDAYS: readonly HolidayRule[] = [
  { name: "New Year's Day", kind: 'fixed', month: 1, day: 1, observed: true },
  { name: 'Martin Luther King Jr. Day', kind: 'nth_weekday', month: 1, weekday: MON, nth: 3 },
  { name: "Washington's Birthday", kind: 'nth_weekday', month: 2, weekday: MON, nth: 3 },
  { name: "Patriots' Day", kind: 'nth_weekday', month: 4, weekday: MON, nth: 3 },
  { name: 'Memorial Day', kind: 'nth_weekday', month: 5, weekday: MON, nth: -1 },
  { name: 'Juneteenth', kind: 'fixed', month: 6, day: 19, observed: true },
  { name: 'Independence Day', kind: 'fixed', month: 7, day: 4, observed: true },
  { name: 'Labor Day', kind: 'nth_weekday', month: 9, weekday: MON, nth: 1 },
  { name: 'Columbus Day', kind: 'nth_weekday', month: 10, weekday: MON, nth: 2 },
  { name: 'Veterans Day', kind: 'fixed', month: 11, day: 11, observed: true },
  { name: 'Thanksgiving Day', kind: 'nth_weekday', month: 11, weekday: THU, nth: 4 },
  { name: 'Christmas Day', kind: 'fixed', month: 12, day: 25, observed: true },
];

export interface Holiday {
  date: IsoDate;
  name: string;
}

function nthWeekday(year: number, month: number, wd: number, nth: number): IsoDate {
  if (nth > 0) {
    const first = dateFromParts(year, month, 1);
    const offset = (wd - weekday(first) + 7) % 7;
    return addDays(first, offset + (nth - 1) * 7);
  }
  const last = dateFromParts(year, month + 1, 0);
  const back = (weekday(last) - wd + 7) % 7;
  return addDays(last, -back - (-nth - 1) * 7);
}

/** A fixed-date holiday on Saturday is observed the Friday before, on Sunday the Monday after. */
export function observedDate(date: IsoDate): IsoDate {
  const wd = weekday(date);
  if (wd === 6) return addDays(date, -1);
  if (wd === 0) return addDays(date, 1);
  return date;
}

export function holidaysFromRules(rules: readonly HolidayRule[], year: number): Holiday[] {
  const out: Holiday[] = [];
  // Observed dates can cross a year boundary (Jan 1 on a Saturday is observed Dec 31).
  for (const y of [year - 1, year, year + 1]) {
    for (const r of rules) {
      const date =
        r.kind === 'fixed'
          ? r.observed
            ? observedDate(dateFromParts(y, r.month, r.day))
            : dateFromParts(y, r.month, r.day)
          : nthWeekday(y, r.month, r.weekday, r.nth);
      if (parts(date).year === year) out.push({ date, name: r.name });
    }
  }
  return out.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}

export class BusinessCalendar {
  private readonly cache = new Map<number, Set<string>>();

  private constructor(private readonly holidaysOfYear: (year: number) => Holiday[]) {}

  static fromRules(rules: readonly HolidayRule[]): BusinessCalendar {
    return new BusinessCalendar((year) => holidaysFromRules(rules, year));
  }

  /** A calendar from an explicit list of (observed) holiday dates. */
  static fromDates(holidays: readonly Holiday[]): BusinessCalendar {
    return new BusinessCalendar((year) => holidays.filter((h) => parts(h.date).year === year));
  }

  holidays(year: number): Holiday[] {
    return this.holidaysOfYear(year);
  }

  isHoliday(date: IsoDate): boolean {
    const year = parts(date).year;
    let set = this.cache.get(year);
    if (!set) {
      set = new Set(this.holidaysOfYear(year).map((h) => h.date));
      this.cache.set(year, set);
    }
    return set.has(date);
  }

  isBusinessDay(date: IsoDate): boolean {
    const wd = weekday(date);
    return wd !== 0 && wd !== 6 && !this.isHoliday(date);
  }

  /** R4: N business days after D counts from the first business day after D. */
  addBusinessDays(date: IsoDate, n: number): IsoDate {
    if (n < 0 || !Number.isInteger(n)) throw new RangeError('n must be a non-negative integer');
    let d = date;
    let left = n;
    while (left > 0) {
      d = addDays(d, 1);
      if (this.isBusinessDay(d)) left--;
    }
    return d;
  }

  /** The business day N business days before `date` (so `date` lies N business days after it, R4). */
  subtractBusinessDays(date: IsoDate, n: number): IsoDate {
    if (n < 0 || !Number.isInteger(n)) throw new RangeError('n must be a non-negative integer');
    let d = date;
    let left = n;
    while (left > 0) {
      d = addDays(d, -1);
      if (this.isBusinessDay(d)) left--;
    }
    return d;
  }

  /** Business days in (from, to]: how many business days `to` lies after `from` (0 if not after). */
  businessDaysAfter(from: IsoDate, to: IsoDate): number {
    let count = 0;
    for (let d = addDays(from, 1); d <= to; d = addDays(d, 1)) {
      if (this.isBusinessDay(d)) count++;
    }
    return count;
  }
}

export const massachusettsCalendar = BusinessCalendar.fromRules(MASSACHUSETTS_HOLIDAYS);
