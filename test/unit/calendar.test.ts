import fc from 'fast-check';
import t from 'tap';
import {
  BusinessCalendar,
  massachusettsCalendar as cal,
  type HolidayRule,
  holidaysFromRules,
  observedDate,
} from '../../src/domain/calendar.js';
import { businessDateOf, isoDate } from '../../src/domain/dates.js';

const d = isoDate;

t.test('R3: Massachusetts holidays of 2026 with their observed dates', async (t) => {
  t.same(
    cal.holidays(2026).map((h) => `${h.date} ${h.name}`),
    [
      "2026-01-01 New Year's Day",
      '2026-01-19 Martin Luther King Jr. Day',
      "2026-02-16 Washington's Birthday",
      "2026-04-20 Patriots' Day",
      '2026-05-25 Memorial Day',
      '2026-06-19 Juneteenth',
      '2026-07-03 Independence Day', // July 4 2026 is a Saturday: observed Friday July 3
      '2026-09-07 Labor Day',
      '2026-10-12 Columbus Day',
      '2026-11-11 Veterans Day',
      '2026-11-26 Thanksgiving Day',
      '2026-12-25 Christmas Day',
    ],
  );
});

t.test('R3: Massachusetts holidays of 2027, with Saturday and Sunday holidays observed', async (t) => {
  t.same(
    cal.holidays(2027).map((h) => `${h.date} ${h.name}`),
    [
      "2027-01-01 New Year's Day",
      '2027-01-18 Martin Luther King Jr. Day',
      "2027-02-15 Washington's Birthday",
      "2027-04-19 Patriots' Day",
      '2027-05-31 Memorial Day',
      '2027-06-18 Juneteenth', // Saturday June 19 -> Friday
      '2027-07-05 Independence Day', // Sunday July 4 -> Monday
      '2027-09-06 Labor Day',
      '2027-10-11 Columbus Day',
      '2027-11-11 Veterans Day',
      '2027-11-25 Thanksgiving Day',
      '2027-12-24 Christmas Day', // Saturday Dec 25 -> Friday Dec 24
      "2027-12-31 New Year's Day", // Jan 1 2028 is a Saturday -> Friday Dec 31 2027
    ],
  );
  t.notOk(
    cal.holidays(2028).some((h) => h.date === '2028-01-01'),
    'the Saturday itself is not the holiday',
  );
});

t.test('R3: observed-day rule for fixed holidays', async (t) => {
  const cases: [string, string][] = [
    ['2026-07-04', '2026-07-03'], // Saturday -> Friday
    ['2027-07-04', '2027-07-05'], // Sunday -> Monday
    ['2026-12-25', '2026-12-25'], // Friday stays
    ['2022-12-25', '2022-12-26'], // Sunday -> Monday
  ];
  for (const [date, observed] of cases) t.equal(observedDate(d(date)), observed, date);
});

t.test('R3: weekends and holidays are not business days', async (t) => {
  const cases: [string, boolean][] = [
    ['2026-12-11', true], // Friday
    ['2026-12-12', false], // Saturday
    ['2026-12-13', false], // Sunday
    ['2026-11-26', false], // Thanksgiving
    ['2026-11-27', true], // day after Thanksgiving is not a state holiday
    ['2026-04-20', false], // Patriots' Day
    ['2026-07-03', false], // observed Independence Day
    ['2026-07-06', true],
  ];
  for (const [date, expected] of cases) t.equal(cal.isBusinessDay(d(date)), expected, date);
});

t.test('R4: N business days after D counts from the first business day after D', async (t) => {
  const cases: [string, number, string][] = [
    ['2026-12-12', 5, '2026-12-18'], // SPEC's example: Saturday -> Friday
    ['2026-12-11', 5, '2026-12-18'], // Friday -> next Friday
    ['2026-12-14', 5, '2026-12-21'], // Monday -> next Monday
    ['2026-12-21', 5, '2026-12-29'], // Christmas Friday skipped
    ['2026-11-23', 5, '2026-12-01'], // Thanksgiving skipped
    ['2026-04-15', 5, '2026-04-23'], // Patriots' Day skipped
    ['2027-12-23', 5, '2028-01-03'], // observed Christmas (Dec 24) and New Year (Dec 31) skipped
    ['2026-12-12', 0, '2026-12-12'],
    ['2026-12-18', 3, '2026-12-23'],
  ];
  for (const [from, n, expected] of cases) t.equal(cal.addBusinessDays(d(from), n), expected, `${n} after ${from}`);
  t.throws(() => cal.addBusinessDays(d('2026-12-12'), -1), RangeError);
});

t.test('business days between two dates', async (t) => {
  t.equal(cal.businessDaysAfter(d('2026-12-18'), d('2026-12-18')), 0);
  t.equal(cal.businessDaysAfter(d('2026-12-18'), d('2026-12-21')), 1);
  t.equal(cal.businessDaysAfter(d('2026-12-18'), d('2026-12-28')), 5); // Christmas excluded
  t.equal(cal.businessDaysAfter(d('2026-12-28'), d('2026-12-18')), 0);
});

t.test('R3: the calendar is data that can be replaced', async (t) => {
  const custom = BusinessCalendar.fromDates([{ date: d('2026-12-14'), name: 'Storm day' }]);
  t.notOk(custom.isBusinessDay(d('2026-12-14')));
  t.ok(custom.isBusinessDay(d('2026-12-25')), 'no Christmas in this calendar');
  t.equal(custom.addBusinessDays(d('2026-12-12'), 5), '2026-12-21');
});

t.test('business date of an instant is its date in America/New_York', async (t) => {
  const cases: [string, string][] = [
    ['2026-12-24T04:59:00Z', '2026-12-23'], // 23:59 EST on the 23rd
    ['2026-12-24T05:01:00Z', '2026-12-24'], // 00:01 EST on the 24th
    ['2026-06-24T03:59:00Z', '2026-06-23'], // 23:59 EDT
    ['2026-06-24T04:00:00Z', '2026-06-24'], // 00:00 EDT
    ['2026-03-08T06:30:00Z', '2026-03-08'], // DST starts that night
  ];
  for (const [instant, expected] of cases) t.equal(businessDateOf(new Date(instant)), expected, instant);
});

t.test('dates: only real calendar dates are accepted', async (t) => {
  t.throws(() => isoDate('2026-02-30'), RangeError);
  t.throws(() => isoDate('2026-2-03'), RangeError);
  t.equal(isoDate('2028-02-29'), '2028-02-29');
});

// Rows below name their rule; the message carries it. They cover years and cases the lists above do not.

t.test('R3: holidays of other years, including the Saturday and Sunday observances', async (t) => {
  const rows: { rule: string; name: string; date: string; holiday: boolean }[] = [
    { rule: 'R3', name: "New Year's Day 2023 on a Sunday is observed Monday Jan 2", date: '2023-01-02', holiday: true },
    {
      rule: 'R3',
      name: "New Year's Day 2023 itself (a Sunday) is not the observed day",
      date: '2023-01-01',
      holiday: false,
    },
    { rule: 'R3', name: 'Christmas 2022 on a Sunday is observed Monday Dec 26', date: '2022-12-26', holiday: true },
    {
      rule: 'R3',
      name: 'Veterans Day 2028 on a Saturday is observed Friday Nov 10',
      date: '2028-11-10',
      holiday: true,
    },
    { rule: 'R3', name: 'Veterans Day 2029 on a Sunday is observed Monday Nov 12', date: '2029-11-12', holiday: true },
    { rule: 'R3', name: 'Juneteenth 2022 on a Sunday is observed Monday June 20', date: '2022-06-20', holiday: true },
    { rule: 'R3', name: "Patriots' Day 2028 is the third Monday of April", date: '2028-04-17', holiday: true },
    {
      rule: 'R3',
      name: 'Martin Luther King Jr. Day 2028 is the third Monday of January',
      date: '2028-01-17',
      holiday: true,
    },
    {
      rule: 'R3',
      name: "Washington's Birthday 2028 is the third Monday of February",
      date: '2028-02-21',
      holiday: true,
    },
    { rule: 'R3', name: 'Memorial Day 2028 is the last Monday of May', date: '2028-05-29', holiday: true },
    { rule: 'R3', name: 'Labor Day 2028 is the first Monday of September', date: '2028-09-04', holiday: true },
    { rule: 'R3', name: 'Columbus Day 2028 is the second Monday of October', date: '2028-10-09', holiday: true },
    { rule: 'R3', name: 'Thanksgiving 2028 is the fourth Thursday of November', date: '2028-11-23', holiday: true },
    {
      rule: 'R3',
      name: 'Thanksgiving 2029: Nov 22, not the last Thursday (Nov 29)',
      date: '2029-11-29',
      holiday: false,
    },
    { rule: 'R3', name: "Easter Monday is no state holiday (Patriots' Day is)", date: '2026-04-06', holiday: false },
    {
      rule: 'R3',
      name: 'Evacuation Day (Suffolk County only) is not in the state calendar',
      date: '2026-03-17',
      holiday: false,
    },
  ];
  for (const r of rows) t.equal(cal.isHoliday(d(r.date)), r.holiday, `${r.rule}: ${r.name}`);
  for (const year of [2026, 2027, 2028, 2029, 2030]) {
    t.ok(
      cal.holidays(year).every((h) => cal.isBusinessDay(h.date) === false),
      `R3: ${year}: no observed holiday is a business day`,
    );
    t.ok(
      cal.holidays(year).every((h) => ![0, 6].includes(new Date(`${h.date}T12:00:00Z`).getUTCDay())),
      `R3: ${year}: every observed holiday falls on a weekday`,
    );
  }
});

t.test('R4/R11: five business days after the business date of full payment', async (t) => {
  const rows: { rule: string; name: string; from: string; expect: string }[] = [
    {
      rule: 'R11',
      name: 'paid Wednesday before Thanksgiving: Thursday and the weekend skipped',
      from: '2026-11-25',
      expect: '2026-12-03',
    },
    { rule: 'R11', name: "paid the Friday before Patriots' Day 2027", from: '2027-04-16', expect: '2027-04-26' },
    { rule: 'R11', name: 'paid the Friday before Memorial Day 2027', from: '2027-05-28', expect: '2027-06-07' },
    {
      rule: 'R11',
      name: 'paid Wednesday 2027-06-16: observed Juneteenth (Friday 18th) skipped',
      from: '2027-06-16',
      expect: '2027-06-24',
    },
    {
      rule: 'R11',
      name: 'paid Thursday 2026-07-02: observed Independence Day (Friday 3rd) skipped',
      from: '2026-07-02',
      expect: '2026-07-10',
    },
    {
      rule: 'R11',
      name: 'paid on a holiday (Christmas 2026) counts from the next business day',
      from: '2026-12-25',
      expect: '2027-01-04',
    },
    { rule: 'R11', name: 'paid Sunday 2027-01-17: MLK Day (Monday) skipped', from: '2027-01-17', expect: '2027-01-25' },
  ];
  for (const r of rows) t.equal(cal.addBusinessDays(d(r.from), 5), r.expect, `${r.rule}: ${r.name}`);
});

t.test('R12: business days between two dates (how far past confirmationExpectedBy)', async (t) => {
  const rows: { rule: string; name: string; from: string; to: string; expect: number }[] = [
    { rule: 'R12', name: 'a weekend adds none', from: '2026-12-11', to: '2026-12-13', expect: 0 },
    { rule: 'R12', name: 'Friday to Monday is one', from: '2026-12-11', to: '2026-12-14', expect: 1 },
    { rule: 'R12', name: "over New Year's Day 2027 (a Friday)", from: '2026-12-30', to: '2027-01-04', expect: 2 },
    {
      rule: 'R12',
      name: 'a whole month (January 2027: 21 weekdays, 2 holidays)',
      from: '2026-12-31',
      to: '2027-01-31',
      expect: 19,
    },
  ];
  for (const r of rows) t.equal(cal.businessDaysAfter(d(r.from), d(r.to)), r.expect, `${r.rule}: ${r.name}`);
});

t.test('R3: the holiday rules are data: another rule set makes another calendar', async (t) => {
  const rules: HolidayRule[] = [
    { name: 'Founders Day', kind: 'fixed', month: 12, day: 12, observed: false },
    { name: 'Storm Day', kind: 'fixed', month: 12, day: 13, observed: true },
    { name: 'Second Tuesday', kind: 'nth_weekday', month: 12, weekday: 2, nth: 2 },
    { name: 'Last Friday', kind: 'nth_weekday', month: 12, weekday: 5, nth: -1 },
  ];
  const custom = BusinessCalendar.fromRules(rules);
  const rows: { rule: string; name: string; date: string; business: boolean }[] = [
    {
      rule: 'R3',
      name: 'a fixed holiday on a Saturday without observance is just a Saturday',
      date: '2026-12-11',
      business: true,
    },
    {
      rule: 'R3',
      name: 'a fixed holiday on a Sunday with observance moves to Monday',
      date: '2026-12-14',
      business: false,
    },
    { rule: 'R3', name: 'the second Tuesday of December 2026', date: '2026-12-08', business: false },
    { rule: 'R3', name: 'the last Friday of December 2026', date: '2026-12-25', business: false },
    { rule: 'R3', name: 'the last Thursday (not in this calendar)', date: '2026-12-24', business: true },
    { rule: 'R3', name: 'Thanksgiving is not in this calendar', date: '2026-11-26', business: true },
  ];
  for (const r of rows) t.equal(custom.isBusinessDay(d(r.date)), r.business, `${r.rule}: ${r.name}`);
  t.same(
    holidaysFromRules(rules, 2026).map((h) => h.date),
    ['2026-12-08', '2026-12-12', '2026-12-14', '2026-12-25'],
    'R3: the rule set lists its dates in order',
  );
});

t.test('business date of an instant: the remembered hours agree with the time zone database', async (t) => {
  const direct = (instant: Date, timeZone: string) => {
    const p = Object.fromEntries(
      new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
        .formatToParts(instant)
        .map((x) => [x.type, x.value]),
    );
    return `${p.year}-${p.month}-${p.day}`;
  };
  // Zones whose midnight falls inside a UTC hour (half- and quarter-hour offsets), one that moved its
  // clocks at midnight, and the business zone across both of its transitions, minute by minute.
  const zones = ['America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu', 'America/Havana', 'Australia/Lord_Howe'];
  for (const zone of zones) {
    for (const start of ['2026-03-08T00:00:00Z', '2026-11-01T00:00:00Z', '2026-04-05T12:00:00Z']) {
      for (let m = 0; m < 24 * 60; m += 7) {
        const instant = new Date(Date.parse(start) + m * 60_000);
        if (businessDateOf(instant, zone) !== direct(instant, zone)) {
          t.fail(`${zone} ${instant.toISOString()}: ${businessDateOf(instant, zone)} != ${direct(instant, zone)}`);
          return;
        }
      }
    }
  }
  fc.assert(
    fc.property(
      fc.date({ min: new Date('1800-01-01T00:00:00Z'), max: new Date('2200-12-31T23:59:59Z'), noInvalidDate: true }),
      fc.constantFrom(...zones),
      (instant, zone) => businessDateOf(instant, zone) === direct(instant, zone),
    ),
    { numRuns: 5_000 },
  );
  t.throws(() => businessDateOf(new Date(Number.NaN)), RangeError);
  t.pass('every instant agrees');
});
