import t from 'tap';
import { BusinessCalendar, massachusettsCalendar as cal, observedDate } from '../../src/domain/calendar.js';
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
