import t from 'tap';
import { isoDate } from '../../src/domain/dates.js';
import {
  earliestCoverageStart,
  effectiveCoverageStart,
  isByDueDate,
  paymentDeadlines,
  paymentDueDate,
} from '../../src/domain/deadlines.js';

const d = isoDate;

t.test("R1: the seed's 2021 deadline table, exactly", async (t) => {
  t.same(paymentDeadlines(2021), [
    { coverageStart: '2021-01-01', paymentDueDate: '2020-12-23' },
    { coverageStart: '2021-02-01', paymentDueDate: '2021-01-23' },
    { coverageStart: '2021-03-01', paymentDueDate: '2021-02-23' },
    { coverageStart: '2021-04-01', paymentDueDate: '2021-03-23' },
    { coverageStart: '2021-05-01', paymentDueDate: '2021-04-23' },
    { coverageStart: '2021-06-01', paymentDueDate: '2021-05-23' },
    { coverageStart: '2021-07-01', paymentDueDate: '2021-06-23' },
    { coverageStart: '2021-08-01', paymentDueDate: '2021-07-23' },
    { coverageStart: '2021-09-01', paymentDueDate: '2021-08-23' },
    { coverageStart: '2021-10-01', paymentDueDate: '2021-09-23' },
    { coverageStart: '2021-11-01', paymentDueDate: '2021-10-23' },
    { coverageStart: '2021-12-01', paymentDueDate: '2021-11-23' },
  ]);
});

t.test('R1: the due date is the 23rd whatever the weekday, across year ends', async (t) => {
  t.equal(paymentDueDate(d('2021-02-01')), '2021-01-23'); // a Saturday
  t.equal(paymentDueDate(d('2027-01-01')), '2026-12-23');
  t.equal(paymentDueDate(d('2026-03-01')), '2026-02-23');
});

t.test('R2: on the due date is in time, the day after is late', async (t) => {
  t.ok(isByDueDate(d('2026-12-23'), d('2026-12-23')));
  t.ok(isByDueDate(d('2026-12-01'), d('2026-12-23')));
  t.notOk(isByDueDate(d('2026-12-24'), d('2026-12-23')));
});

t.test('R8: earliest coverage start whose due date has not passed', async (t) => {
  const cases: [string, string][] = [
    ['2026-11-29', '2027-01-01'],
    ['2026-12-23', '2027-01-01'],
    ['2026-12-24', '2027-02-01'],
    ['2026-12-01', '2027-01-01'],
    ['2026-01-23', '2026-02-01'],
    ['2026-01-24', '2026-03-01'],
  ];
  for (const [today, expected] of cases) t.equal(earliestCoverageStart(d(today)), expected, today);
});

t.test('R10: the coverage start in effect moves forward once the due date passes, never back', async (t) => {
  const cases: [string, string, string][] = [
    ['2027-01-01', '2026-12-23', '2027-01-01'],
    ['2027-01-01', '2026-12-24', '2027-02-01'],
    ['2027-01-01', '2027-01-23', '2027-02-01'],
    ['2027-01-01', '2027-01-24', '2027-03-01'],
    ['2027-03-01', '2026-12-24', '2027-03-01'], // chosen start later than the earliest: kept
  ];
  for (const [chosen, today, expected] of cases) {
    t.equal(effectiveCoverageStart(d(chosen), d(today)), expected, `${chosen} as of ${today}`);
  }
});
