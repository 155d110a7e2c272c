import t from 'tap';
import { type IsoDate, isoDate } from '../../src/domain/dates.js';
import {
  earliestCoverageStart,
  effectiveCoverageStart,
  isByDueDate,
  paymentDeadlines,
  paymentDueDate,
} from '../../src/domain/deadlines.js';
import { checkoutCoverageStart, missedDeadlineMoves, projectEnrollment } from '../../src/domain/enrollment.js';
import { DomainError } from '../../src/domain/errors.js';
import { enrollment } from '../helpers/domain.js';

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

// Table-driven rows below: each names its rule and the assertion message carries it.

t.test('R1: due dates across the leap day and the year end', async (t) => {
  const rows = [
    { rule: 'R1', name: 'March of a leap year is due on 23 February', start: '2028-03-01', due: '2028-02-23' },
    { rule: 'R1', name: 'January is due on 23 December of the year before', start: '2028-01-01', due: '2027-12-23' },
    { rule: 'R1', name: 'December is due on 23 November', start: '2026-12-01', due: '2026-11-23' },
    { rule: 'R1', name: 'a due date on a Sunday stays (2027-05-23)', start: '2027-06-01', due: '2027-05-23' },
  ];
  for (const r of rows) t.equal(paymentDueDate(d(r.start)), r.due, `${r.rule}: ${r.name}`);
  t.same(paymentDeadlines(2027)[0], { coverageStart: '2027-01-01', paymentDueDate: '2026-12-23' }, 'R1: 2027 row 1');
});

t.test('R7/R8: the coverage start a checkout gets (business date of selectedAt, America/New_York)', async (t) => {
  type Row = {
    rule: string;
    name: string;
    requested?: string;
    selectedAt: string;
    expect: string | { code: string; earliest?: string };
  };
  const rows: Row[] = [
    {
      rule: 'R8',
      name: 'no start asked: the earliest whose due date has not passed',
      selectedAt: '2026-12-10T15:00:00Z',
      expect: '2027-01-01',
    },
    {
      rule: 'R8',
      name: 'no start asked, the day after the due date: a month later',
      selectedAt: '2026-12-24T15:00:00Z',
      expect: '2027-02-01',
    },
    {
      rule: 'R8',
      name: 'the requested start on its due date is accepted',
      requested: '2027-01-01',
      selectedAt: '2026-12-23T20:00:00Z',
      expect: '2027-01-01',
    },
    {
      rule: 'R8',
      name: '23:59 in Boston on the due date is still the due date (04:59 UTC the next day)',
      requested: '2027-01-01',
      selectedAt: '2026-12-24T04:59:00Z',
      expect: '2027-01-01',
    },
    {
      rule: 'R8',
      name: 'the day after the due date: deadline_passed with earliestCoverageStart',
      requested: '2027-01-01',
      selectedAt: '2026-12-24T05:00:00Z',
      expect: { code: 'deadline_passed', earliest: '2027-02-01' },
    },
    {
      rule: 'R8',
      name: 'a start months ahead is fine',
      requested: '2027-06-01',
      selectedAt: '2026-12-24T15:00:00Z',
      expect: '2027-06-01',
    },
    {
      rule: 'R8',
      name: 'a start in the past is refused with the earliest start',
      requested: '2026-11-01',
      selectedAt: '2026-12-10T15:00:00Z',
      expect: { code: 'deadline_passed', earliest: '2027-01-01' },
    },
    {
      rule: 'R1',
      name: 'coverage starts on the first of a month: the 15th is refused',
      requested: '2027-01-15',
      selectedAt: '2026-12-10T15:00:00Z',
      expect: { code: 'invalid_coverage_start' },
    },
  ];
  for (const r of rows) {
    const msg = `${r.rule}: ${r.name}`;
    const call = () =>
      checkoutCoverageStart(r.requested === undefined ? undefined : d(r.requested), new Date(r.selectedAt));
    if (typeof r.expect === 'string') {
      t.equal(call(), r.expect, msg);
      continue;
    }
    const err = t.throws(call, msg) as unknown as DomainError;
    t.ok(err instanceof DomainError, `${msg}: a domain refusal`);
    t.equal(err.code, r.expect.code, `${msg}: code`);
    if (r.expect.earliest) t.equal(err.extra.earliestCoverageStart, r.expect.earliest, `${msg}: earliestCoverageStart`);
  }
});

t.test(
  'R10: each missed due date moves an unpaid start one month, at the first instant of the next business date',
  async (t) => {
    type Row = {
      rule: string;
      name: string;
      status?: 'pending_payment' | 'awaiting_confirmation' | 'confirmed' | 'cancelled';
      start?: string;
      now: string;
      notBefore?: string;
      moves: [string, string, string][];
    };
    const rows: Row[] = [
      {
        rule: 'R10',
        name: 'on the due date itself (23:59 in Boston) nothing moves',
        now: '2026-12-24T04:59:59Z',
        moves: [],
      },
      {
        rule: 'R10',
        name: 'the first instant after the due date in Boston: one move, recorded at midnight EST',
        now: '2026-12-24T05:00:00Z',
        moves: [['2027-01-01', '2027-02-01', '2026-12-24T05:00:00.000Z']],
      },
      {
        rule: 'R10',
        name: 'two due dates missed: two moves, each at its own midnight',
        now: '2027-01-24T15:00:00Z',
        moves: [
          ['2027-01-01', '2027-02-01', '2026-12-24T05:00:00.000Z'],
          ['2027-02-01', '2027-03-01', '2027-01-24T05:00:00.000Z'],
        ],
      },
      {
        rule: 'R10',
        name: 'a due date in summer: midnight EDT (04:00 UTC)',
        start: '2027-07-01',
        now: '2027-06-30T12:00:00Z',
        moves: [['2027-07-01', '2027-08-01', '2027-06-24T04:00:00.000Z']],
      },
      {
        rule: 'R10',
        name: 'a checkout recorded after the deadline moves when it is recorded, not before',
        now: '2026-12-24T18:00:00Z',
        notBefore: '2026-12-24T14:00:00Z',
        moves: [['2027-01-01', '2027-02-01', '2026-12-24T14:00:00.000Z']],
      },
      {
        rule: 'R10',
        name: 'a paid binder (awaiting_confirmation) never moves',
        status: 'awaiting_confirmation',
        now: '2027-03-01T15:00:00Z',
        moves: [],
      },
      {
        rule: 'R10',
        name: 'a confirmed enrollment never moves',
        status: 'confirmed',
        now: '2027-03-01T15:00:00Z',
        moves: [],
      },
      {
        rule: 'R10',
        name: 'a cancelled enrollment never moves',
        status: 'cancelled',
        now: '2027-03-01T15:00:00Z',
        moves: [],
      },
    ];
    for (const r of rows) {
      const moves = missedDeadlineMoves(
        r.status ?? 'pending_payment',
        d(r.start ?? '2027-01-01'),
        new Date(r.now),
        r.notBefore ? new Date(r.notBefore) : undefined,
      );
      t.same(
        moves.map((m) => [m.from, m.to, m.at.toISOString()]),
        r.moves,
        `${r.rule}: ${r.name}`,
      );
    }
  },
);

t.test('R10: every read shows the start as of the service clock, with the move in its history', async (t) => {
  const rows = [
    {
      rule: 'R10',
      name: 'before the due date: as recorded',
      now: '2026-12-20T15:00:00Z',
      start: '2027-01-01',
      due: '2026-12-23',
      moved: 0,
    },
    {
      rule: 'R10',
      name: 'after it, the sweep not yet run: moved on read',
      now: '2026-12-28T15:00:00Z',
      start: '2027-02-01',
      due: '2027-01-23',
      moved: 1,
    },
    {
      rule: 'R10',
      name: 'two due dates later: moved twice on read',
      now: '2027-01-28T15:00:00Z',
      start: '2027-03-01',
      due: '2027-02-23',
      moved: 2,
    },
  ];
  for (const r of rows) {
    const p = projectEnrollment(enrollment(), new Date(r.now), []);
    const msg = `${r.rule}: ${r.name}`;
    t.equal(p.coverageStart, r.start, `${msg}: coverageStart`);
    t.equal(p.paymentDueDate, r.due, `${msg}: paymentDueDate`);
    t.equal(p.history.filter((h) => h.type === 'coverage_start_moved').length, r.moved, `${msg}: R14 history`);
    t.equal(p.chosenCoverageStart, '2027-01-01' as IsoDate, `${msg}: the chosen start is kept`);
  }
});
