import t from 'tap';
import { massachusettsCalendar as calendar } from '../../src/domain/calendar.js';
import type { Channel } from '../../src/domain/channels.js';
import { isoDate } from '../../src/domain/dates.js';
import { DomainError } from '../../src/domain/errors.js';
import { type BusinessTimestampField, businessTimestamp } from '../../src/domain/timestamps.js';

// SPEC Conventions, "Business timestamps": one row per rule case.
type Row = {
  rule: string;
  field: BusinessTimestampField;
  now: string;
  value?: string;
  channel?: Channel;
  notBefore?: string;
  /** 'ok' or the refusal code with the range it names */
  expect: 'ok' | { code: string; earliest: string | null; latest: string };
};

const W = '2026-12-10T10:00:00-05:00'; // a Thursday
const iso = (s: string) => new Date(s).toISOString();

const rows: Row[] = [
  { rule: 'no value: the service clock', field: 'receivedAt', now: W, channel: 'online', expect: 'ok' },
  {
    rule: 'exactly 5 min ahead is allowed',
    field: 'selectedAt',
    now: W,
    value: '2026-12-10T10:05:00-05:00',
    expect: 'ok',
  },
  {
    rule: '5 min 1 s ahead is refused',
    field: 'confirmedAt',
    now: W,
    value: '2026-12-10T10:05:01-05:00',
    notBefore: '2026-12-01T00:00:00Z',
    expect: { code: 'timestamp_in_future', earliest: '2026-12-01T00:00:00Z', latest: '2026-12-10T10:05:00-05:00' },
  },
  {
    rule: 'online: exactly 5 min back',
    field: 'receivedAt',
    now: W,
    channel: 'online',
    value: '2026-12-10T09:55:00-05:00',
    expect: 'ok',
  },
  {
    rule: 'phone: 5 min 1 s back',
    field: 'receivedAt',
    now: W,
    channel: 'phone',
    value: '2026-12-10T09:54:59-05:00',
    expect: {
      code: 'timestamp_out_of_range',
      earliest: '2026-12-10T09:55:00-05:00',
      latest: '2026-12-10T10:05:00-05:00',
    },
  },
  // Thursday 2026-12-10: 9, 8, 7, 4, 3, 2, 1, Nov 30, 27, 25 (Thanksgiving Nov 26 and the weekend skipped)
  {
    rule: 'mail: 10 business days back over Thanksgiving',
    field: 'receivedAt',
    now: W,
    channel: 'mail',
    value: '2026-11-25T00:00:00-05:00',
    expect: 'ok',
  },
  {
    rule: 'mail: 11 business days back',
    field: 'receivedAt',
    now: W,
    channel: 'mail',
    value: '2026-11-24T23:59:59-05:00',
    expect: {
      code: 'timestamp_out_of_range',
      earliest: '2026-11-25T00:00:00-05:00',
      latest: '2026-12-10T10:05:00-05:00',
    },
  },
  // Monday 2026-12-28 after Christmas (Friday 25th): 24, 23, 22, 21, 18, 17, 16, 15, 14, 11
  {
    rule: 'mail: across the Christmas holiday weekend',
    field: 'receivedAt',
    now: '2026-12-28T08:00:00-05:00',
    channel: 'mail',
    value: '2026-12-10T23:00:00-05:00',
    expect: {
      code: 'timestamp_out_of_range',
      earliest: '2026-12-11T00:00:00-05:00',
      latest: '2026-12-28T08:05:00-05:00',
    },
  },
  // DST ends 2026-11-01: 10 business days before Friday 2026-11-06 is Friday 2026-10-23 (EDT)
  {
    rule: 'mail: the first instant of the day in its own offset (EDT) after DST ends',
    field: 'receivedAt',
    now: '2026-11-06T12:00:00-05:00',
    channel: 'mail',
    value: '2026-10-22T23:59:59-04:00',
    expect: {
      code: 'timestamp_out_of_range',
      earliest: '2026-10-23T00:00:00-04:00',
      latest: '2026-11-06T12:05:00-05:00',
    },
  },
  {
    rule: 'mail: never before the enrollment was selected',
    field: 'receivedAt',
    now: W,
    channel: 'mail',
    value: '2026-12-08T09:00:00-05:00',
    notBefore: '2026-12-09T09:00:00-05:00',
    expect: {
      code: 'timestamp_out_of_range',
      earliest: '2026-12-09T09:00:00-05:00',
      latest: '2026-12-10T10:05:00-05:00',
    },
  },
  {
    rule: 'selectedAt: exactly 72 h back',
    field: 'selectedAt',
    now: W,
    value: '2026-12-07T10:00:00-05:00',
    expect: 'ok',
  },
  {
    rule: 'selectedAt: 72 elapsed hours across the spring DST change',
    field: 'selectedAt',
    now: '2027-03-15T10:00:00-04:00',
    value: '2027-03-12T08:59:59-05:00',
    expect: {
      code: 'timestamp_out_of_range',
      earliest: '2027-03-12T09:00:00-05:00',
      latest: '2027-03-15T10:05:00-04:00',
    },
  },
  {
    rule: 'confirmedAt: never before paidInFullAt',
    field: 'confirmedAt',
    now: W,
    value: '2026-12-09T09:59:59-05:00',
    notBefore: '2026-12-09T10:00:00-05:00',
    expect: {
      code: 'timestamp_out_of_range',
      earliest: '2026-12-09T10:00:00-05:00',
      latest: '2026-12-10T10:05:00-05:00',
    },
  },
  {
    rule: 'confirmedAt: any time after payment',
    field: 'confirmedAt',
    now: W,
    value: '2026-11-01T00:00:00Z',
    notBefore: '2026-10-01T00:00:00Z',
    expect: 'ok',
  },
  {
    rule: "returnedAt: never before the payment's receivedAt",
    field: 'returnedAt',
    now: W,
    value: '2026-12-01T00:00:00Z',
    notBefore: '2026-12-02T00:00:00Z',
    expect: { code: 'timestamp_out_of_range', earliest: '2026-12-02T00:00:00Z', latest: '2026-12-10T10:05:00-05:00' },
  },
  {
    rule: 'returnedAt: weeks later is fine (ACH returns come late)',
    field: 'returnedAt',
    now: W,
    value: '2026-12-09T00:00:00Z',
    notBefore: '2026-10-01T00:00:00Z',
    expect: 'ok',
  },
];

t.test('business timestamps: allowed ranges', async (t) => {
  for (const r of rows) {
    const bounds = {
      now: new Date(r.now),
      calendar,
      ...(r.channel ? { channel: r.channel } : {}),
      ...(r.notBefore ? { notBefore: new Date(r.notBefore) } : {}),
    };
    const value = r.value ? new Date(r.value) : undefined;
    if (r.expect === 'ok') {
      t.equal(businessTimestamp(r.field, value, bounds).toISOString(), iso(r.value ?? r.now), r.rule);
      continue;
    }
    let refused: unknown = null;
    try {
      businessTimestamp(r.field, value, bounds);
    } catch (err) {
      refused = err;
    }
    t.ok(refused instanceof DomainError, `${r.rule}: refused`);
    t.match(
      refused,
      {
        code: r.expect.code,
        extra: {
          field: r.field,
          earliest: r.expect.earliest === null ? null : iso(r.expect.earliest),
          latest: iso(r.expect.latest),
        },
      },
      r.rule,
    );
  }
});

t.test('R3: subtractBusinessDays is the inverse of addBusinessDays on business days', async (t) => {
  t.equal(calendar.subtractBusinessDays(isoDate('2027-01-19'), 10), '2027-01-04', 'over MLK day');
  t.equal(calendar.subtractBusinessDays(isoDate('2026-12-10'), 10), '2026-11-25', 'over Thanksgiving');
  t.equal(calendar.subtractBusinessDays(isoDate('2026-12-10'), 0), '2026-12-10');
  for (const d of ['2026-11-25', '2027-01-04', '2026-12-11']) {
    t.equal(calendar.subtractBusinessDays(calendar.addBusinessDays(isoDate(d), 10), 10), d, `round trip from ${d}`);
  }
  t.throws(() => calendar.subtractBusinessDays(isoDate('2026-12-10'), -1));
});
