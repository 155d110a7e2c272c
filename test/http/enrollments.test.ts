import t from 'tap';
import { testApp } from '../helpers/app.js';
import {
  allPages,
  billingRun,
  cancelEnrollment,
  checkout,
  enrollmentRow,
  eventsOf,
  getEnrollment,
  getInvoice,
  listInvoices,
  setBinderPaid,
  setCredit,
  setEnrollmentStatus,
  sweep,
} from '../helpers/billing.js';
import {
  type EnrollmentJson,
  markPaidInFull,
  newAccount,
  newCarrier,
  newEnrollment,
  newMemberId,
  setClock,
} from '../helpers/factories.js';
import { expectStatus, PROBLEM } from '../helpers/responses.js';

// R6-R8, R10, R13, R14 (and the carrier scope of R26) through the HTTP API. One database for the file;
// every test sets the service clock itself and works on enrollments it creates.
const ctx = await testApp(t);
const connector = await ctx.newKey('connector');
const ops = await ctx.newKey('ops');
const carrierA = await newCarrier(ctx, { name: 'Harbor Health Plan' });
const carrierB = await newCarrier(ctx, { name: 'Bay State Dental' });
const carrierAKey = await ctx.newKey('carrier', carrierA.id);

const HISTORY_KEYS = ['actor', 'at', 'from', 'reason', 'to', 'type'];
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const moves = (e: EnrollmentJson) => e.history.filter((h) => h.type === 'coverage_start_moved');

t.test('checkout creates a pending_payment enrollment and its binder invoice for the first month (R7)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const account = await newAccount(ctx);
  const res = await checkout(
    ctx,
    {
      memberId: account.memberId,
      carrierId: carrierA.id,
      coverageType: 'health',
      planName: 'ConnectorCare Plan Type II',
      monthlyPremiumCents: 45000,
      coverageStart: '2027-01-01',
    },
    connector.secret,
  );
  t.equal(res.statusCode, 201);
  const e = res.json() as EnrollmentJson;
  t.match(e, {
    memberId: account.memberId,
    carrierId: carrierA.id,
    coverageType: 'health',
    planName: 'ConnectorCare Plan Type II',
    monthlyPremiumCents: 45000,
    status: 'pending_payment',
    coverageStart: '2027-01-01',
    chosenCoverageStart: '2027-01-01',
    paymentDueDate: '2026-12-23',
    selectedAt: '2026-12-10T15:00:00.000Z',
    paidInFullAt: null,
    confirmationExpectedBy: null,
    confirmationOverdue: false,
    idCardExpectedBy: null,
    confirmedAt: null,
    cancelledAt: null,
    creditCents: 0,
    flags: [],
  });
  t.type(e.id, 'string');
  t.type(e.binderInvoiceId, 'string');
  t.equal(e.history.length, 1);
  t.match(e.history[0], {
    at: '2026-12-10T15:00:00.000Z',
    type: 'status_changed',
    from: null,
    to: 'pending_payment',
    actor: connector.id,
  });

  const binder = await getInvoice(ctx, e.binderInvoiceId);
  t.match(binder, {
    enrollmentId: e.id,
    memberId: account.memberId,
    carrierId: carrierA.id,
    coverageMonth: '2027-01-01',
    dueDate: '2026-12-23',
    amountDueCents: 45000,
    amountPaidCents: 0,
    balanceCents: 45000,
    status: 'open',
    binder: true,
  });
  const invoices = await listInvoices(ctx, `enrollmentId=${e.id}`);
  t.same(
    invoices.map((i) => i.id),
    [e.binderInvoiceId],
    'checkout issues exactly one invoice, the binder',
  );

  const read = await getEnrollment(ctx, e.id, connector.secret);
  t.same(read, e, 'a read shows what the checkout returned');

  const events = await eventsOf(ctx, e.id);
  t.same(
    events.map((ev) => ev.type),
    ['enrollment.created', 'invoice.issued'],
  );
  t.equal(events[1]?.invoice_id, e.binderInvoiceId);
});

t.test('health and dental are separate enrollments with separate binder invoices (R6)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const account = await newAccount(ctx);
  const health = await newEnrollment(ctx, {
    memberId: account.memberId,
    carrierId: carrierA.id,
    coverageType: 'health',
    monthlyPremiumCents: 45000,
  });
  const dental = await newEnrollment(ctx, {
    memberId: account.memberId,
    carrierId: carrierB.id,
    coverageType: 'dental',
    planName: 'Dental Basic',
    monthlyPremiumCents: 3200,
  });
  t.not(health.id, dental.id);
  t.not(health.binderInvoiceId, dental.binderInvoiceId);
  t.equal((await getInvoice(ctx, health.binderInvoiceId)).amountDueCents, 45000);
  const dentalBinder = await getInvoice(ctx, dental.binderInvoiceId);
  t.equal(dentalBinder.amountDueCents, 3200);
  t.equal(dentalBinder.enrollmentId, dental.id);
  t.equal(dentalBinder.carrierId, carrierB.id);
  const all = await listInvoices(ctx, `memberId=${account.memberId}`);
  t.equal(all.length, 2, 'two binders for the household');
});

t.test('without a requested start, the earliest start whose due date has not passed is used (R8)', async (t) => {
  const cases: [string, string, string][] = [
    // [service clock, expected coverageStart, expected paymentDueDate]
    ['2026-11-23T12:00:00-05:00', '2026-12-01', '2026-11-23'],
    ['2026-11-29T12:00:00-05:00', '2027-01-01', '2026-12-23'],
    ['2026-12-01T00:30:00-05:00', '2027-01-01', '2026-12-23'],
    ['2026-12-10T10:00:00-05:00', '2027-01-01', '2026-12-23'],
    ['2026-12-23T23:59:00-05:00', '2027-01-01', '2026-12-23'],
    // 04:30 UTC on the 24th is still the 23rd in Boston
    ['2026-12-24T04:30:00Z', '2027-01-01', '2026-12-23'],
    ['2026-12-24T00:00:00-05:00', '2027-02-01', '2027-01-23'],
    // the 23rd of January 2027 is a Saturday: still the due date (R1)
    ['2027-01-23T18:00:00-05:00', '2027-02-01', '2027-01-23'],
    ['2027-01-24T09:00:00-05:00', '2027-03-01', '2027-02-23'],
    ['2026-06-23T23:59:00-04:00', '2026-07-01', '2026-06-23'],
    ['2026-06-24T00:01:00-04:00', '2026-08-01', '2026-07-23'],
  ];
  const account = await newAccount(ctx);
  for (const [now, start, due] of cases) {
    await setClock(ctx, now);
    const res = await checkout(ctx, { memberId: account.memberId, carrierId: carrierA.id });
    t.equal(res.statusCode, 201, now);
    const e = res.json() as EnrollmentJson;
    t.equal(e.coverageStart, start, `checkout at ${now} starts ${start}`);
    t.equal(e.chosenCoverageStart, start, `checkout at ${now} chose ${start}`);
    t.equal(e.paymentDueDate, due, `checkout at ${now} is due ${due}`);
    const binder = await getInvoice(ctx, e.binderInvoiceId);
    t.equal(binder.coverageMonth, start);
    t.equal(binder.dueDate, due);
  }
});

t.test('the default start follows the business date of selectedAt, not of the clock', async (t) => {
  // The member checked out at 23:59 on the 23rd; the request reached the service two minutes later.
  await setClock(ctx, '2026-12-24T00:01:00-05:00');
  const account = await newAccount(ctx);
  const res = await checkout(ctx, {
    memberId: account.memberId,
    carrierId: carrierA.id,
    selectedAt: '2026-12-23T23:59:00-05:00',
  });
  t.equal(res.statusCode, 201);
  t.equal(res.json().chosenCoverageStart, '2027-01-01');
  t.equal(res.json().selectedAt, '2026-12-24T04:59:00.000Z');
});

t.test('a requested start is honoured, with its own due date (R8)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const account = await newAccount(ctx);
  for (const [start, due] of [
    ['2027-01-01', '2026-12-23'],
    ['2027-03-01', '2027-02-23'],
    ['2027-12-01', '2027-11-23'],
  ] as const) {
    const res = await checkout(ctx, { memberId: account.memberId, carrierId: carrierA.id, coverageStart: start });
    t.equal(res.statusCode, 201, start);
    const e = res.json() as EnrollmentJson;
    t.equal(e.coverageStart, start);
    t.equal(e.paymentDueDate, due);
    const binder = await getInvoice(ctx, e.binderInvoiceId);
    t.equal(binder.coverageMonth, start);
    t.equal(binder.dueDate, due);
  }
});

t.test('a requested start whose due date has passed is 422 deadline_passed with earliestCoverageStart', async (t) => {
  await setClock(ctx, '2026-12-24T09:00:00-05:00');
  const account = await newAccount(ctx);
  for (const start of ['2027-01-01', '2026-12-01', '2026-06-01']) {
    const res = await checkout(ctx, { memberId: account.memberId, carrierId: carrierA.id, coverageStart: start });
    t.equal(res.statusCode, 422, start);
    t.match(res.headers['content-type'], PROBLEM);
    t.match(res.json(), { status: 422, code: 'deadline_passed', earliestCoverageStart: '2027-02-01' });
    t.type(res.json().detail, 'string');
  }
  const list = await ctx.request({ method: 'GET', url: `/v1/enrollments?memberId=${account.memberId}` });
  t.same(list.json().data, [], 'a refused checkout creates nothing');
});

t.test('the due date ends at midnight in Boston: 23:59 on the 23rd is in time, 00:01 on the 24th is not', async (t) => {
  const cases: { name: string; clock: string; selectedAt: string; start: string; earliest?: string }[] = [
    {
      name: 'winter (EST), 23:59 on the 23rd',
      clock: '2026-12-23T23:59:30-05:00',
      selectedAt: '2026-12-23T23:59:00-05:00',
      start: '2027-01-01',
    },
    {
      name: 'winter (EST), 00:01 on the 24th',
      clock: '2026-12-24T00:01:30-05:00',
      selectedAt: '2026-12-24T00:01:00-05:00',
      start: '2027-01-01',
      earliest: '2027-02-01',
    },
    {
      name: 'winter, the same instants written in UTC: 04:59Z',
      clock: '2026-12-24T04:59:30Z',
      selectedAt: '2026-12-24T04:59:00Z',
      start: '2027-01-01',
    },
    {
      name: 'winter, the same instants written in UTC: 05:01Z',
      clock: '2026-12-24T05:01:30Z',
      selectedAt: '2026-12-24T05:01:00Z',
      start: '2027-01-01',
      earliest: '2027-02-01',
    },
    {
      name: 'summer (EDT), 23:59 on the 23rd',
      clock: '2026-06-23T23:59:30-04:00',
      selectedAt: '2026-06-23T23:59:00-04:00',
      start: '2026-07-01',
    },
    {
      name: 'summer (EDT), 00:01 on the 24th',
      clock: '2026-06-24T00:01:30-04:00',
      selectedAt: '2026-06-24T00:01:00-04:00',
      start: '2026-07-01',
      earliest: '2026-08-01',
    },
    {
      name: 'summer, UTC: 03:59Z is 23:59 EDT',
      clock: '2026-06-24T03:59:30Z',
      selectedAt: '2026-06-24T03:59:00Z',
      start: '2026-07-01',
    },
    {
      name: 'summer, UTC: 04:01Z is 00:01 EDT (a fixed -05:00 offset would wrongly accept it)',
      clock: '2026-06-24T04:01:30Z',
      selectedAt: '2026-06-24T04:01:00Z',
      start: '2026-07-01',
      earliest: '2026-08-01',
    },
  ];
  const account = await newAccount(ctx);
  for (const c of cases) {
    await setClock(ctx, c.clock);
    const res = await checkout(ctx, {
      memberId: account.memberId,
      carrierId: carrierA.id,
      coverageStart: c.start,
      selectedAt: c.selectedAt,
    });
    if (c.earliest) {
      t.equal(res.statusCode, 422, c.name);
      t.match(res.json(), { code: 'deadline_passed', earliestCoverageStart: c.earliest }, c.name);
    } else {
      t.equal(res.statusCode, 201, c.name);
      t.equal(res.json().coverageStart, c.start, c.name);
      t.equal(res.json().status, 'pending_payment', c.name);
    }
  }
});

t.test('selectedAt more than 5 minutes ahead of the service clock is 422 timestamp_in_future', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const account = await newAccount(ctx);
  const cases: [string, number][] = [
    ['2026-12-10T10:05:01-05:00', 422],
    ['2026-12-10T11:00:00-05:00', 422],
    ['2027-12-10T10:00:00-05:00', 422],
    ['2026-12-10T10:05:00-05:00', 201],
    ['2026-12-10T10:04:59-05:00', 201],
    ['2026-12-07T10:00:00-05:00', 201], // the past is bounded too: at most 72 hours (business-timestamps.test.ts)
  ];
  for (const [selectedAt, status] of cases) {
    const res = await checkout(ctx, { memberId: account.memberId, carrierId: carrierA.id, selectedAt });
    t.equal(res.statusCode, status, selectedAt);
    if (status === 422) t.match(res.json(), { status: 422, code: 'timestamp_in_future' }, selectedAt);
    else t.equal(res.json().selectedAt, new Date(selectedAt).toISOString());
  }
});

t.test('selectedAt must be an RFC 3339 instant with an offset (400)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const account = await newAccount(ctx);
  for (const selectedAt of ['2026-12-10', 'yesterday', '2026-12-10 10:00', 1796918400000]) {
    const res = await checkout(ctx, { memberId: account.memberId, carrierId: carrierA.id, selectedAt });
    t.equal(res.statusCode, 400, String(selectedAt));
    t.equal(res.json().code, 'validation_failed');
  }
});

t.test('a coverage start that is not the first of a month is 400', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const account = await newAccount(ctx);
  for (const coverageStart of ['2027-01-15', '2027-01-02', '2027-02-28', '2027-13-01', '2027-1-01', 'January 2027']) {
    const res = await checkout(ctx, { memberId: account.memberId, carrierId: carrierA.id, coverageStart });
    t.equal(res.statusCode, 400, coverageStart);
    t.match(res.headers['content-type'], PROBLEM);
    t.ok(
      (res.json().errors ?? []).some((e: { field: string }) => e.field.includes('coverageStart')),
      `${coverageStart}: the error names coverageStart`,
    );
  }
});

t.test(
  'checkout refuses an unknown member (422 account_not_found) and an unknown carrier (422 carrier_not_found)',
  async (t) => {
    await setClock(ctx, '2026-12-10T10:00:00-05:00');
    const unknownMember = await checkout(ctx, { memberId: newMemberId(), carrierId: carrierA.id });
    t.equal(unknownMember.statusCode, 422);
    t.match(unknownMember.headers['content-type'], PROBLEM);
    t.equal(unknownMember.json().code, 'account_not_found');

    const account = await newAccount(ctx);
    const unknownCarrier = await checkout(ctx, { memberId: account.memberId, carrierId: 'no-such-carrier' });
    t.equal(unknownCarrier.statusCode, 422);
    t.equal(unknownCarrier.json().code, 'carrier_not_found');
    const list = await ctx.request({ method: 'GET', url: `/v1/enrollments?memberId=${account.memberId}` });
    t.same(list.json().data, [], 'nothing was created');
  },
);

t.test('the checkout body is validated (400)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const account = await newAccount(ctx);
  const base = { memberId: account.memberId, carrierId: carrierA.id };
  const cases: [string, Record<string, unknown>][] = [
    ['11-digit member id', { ...base, memberId: '12345678901' }],
    ['premium 0', { ...base, monthlyPremiumCents: 0 }],
    ['negative premium', { ...base, monthlyPremiumCents: -100 }],
    ['fractional cents', { ...base, monthlyPremiumCents: 450.5 }],
    ['premium as a string', { ...base, monthlyPremiumCents: '45000' }],
    ['vision coverage', { ...base, coverageType: 'vision' }],
    ['empty plan name', { ...base, planName: '' }],
    ['unknown field', { ...base, discountCode: 'X' }],
  ];
  for (const [name, payload] of cases) {
    const res = await checkout(ctx, payload);
    t.equal(res.statusCode, 400, name);
    t.equal(res.json().code, 'validation_failed', name);
  }
});

t.test('a carrier key may not check out (403), and no key is 401', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const account = await newAccount(ctx);
  const asCarrier = await checkout(ctx, { memberId: account.memberId, carrierId: carrierA.id }, carrierAKey.secret);
  t.equal(asCarrier.statusCode, 403);
  t.equal(asCarrier.json().code, 'forbidden');
  const anonymous = await ctx.request({
    method: 'POST',
    url: '/v1/enrollments',
    key: null,
    payload: {
      memberId: account.memberId,
      carrierId: carrierA.id,
      coverageType: 'health',
      planName: 'x',
      monthlyPremiumCents: 100,
    },
  });
  t.equal(anonymous.statusCode, 401);
});

// R10

t.test(
  'when the due date passes unpaid, every read shows the start, binder month and due date moved (R10)',
  async (t) => {
    await setClock(ctx, '2026-12-10T10:00:00-05:00');
    const e = await newEnrollment(ctx, { carrierId: carrierA.id, coverageStart: '2027-01-01' });

    await setClock(ctx, '2026-12-23T23:59:59-05:00');
    const lastSecond = await getEnrollment(ctx, e.id);
    t.equal(lastSecond.coverageStart, '2027-01-01', 'still January at the last second of the due date');
    t.same(moves(lastSecond), []);

    await setClock(ctx, '2026-12-24T00:00:00-05:00');
    const moved = await getEnrollment(ctx, e.id);
    t.match(moved, {
      status: 'pending_payment',
      coverageStart: '2027-02-01',
      paymentDueDate: '2027-01-23',
      chosenCoverageStart: '2027-01-01',
    });
    t.equal(moves(moved).length, 1);
    t.match(moves(moved)[0], {
      at: '2026-12-24T05:00:00.000Z',
      type: 'coverage_start_moved',
      from: '2027-01-01',
      to: '2027-02-01',
      actor: 'system',
    });
    t.type(moves(moved)[0]?.reason, 'string');

    const binder = await getInvoice(ctx, e.binderInvoiceId);
    t.match(binder, { coverageMonth: '2027-02-01', dueDate: '2027-01-23', status: 'open', balanceCents: 45000 });

    const listed = await ctx.request({ method: 'GET', url: `/v1/enrollments?memberId=${e.memberId}` });
    t.same(listed.json().data, [moved], 'the list shows the same as the single read');
    const listedInvoices = await listInvoices(ctx, `enrollmentId=${e.id}`);
    t.same(listedInvoices, [binder], 'the invoice list shows the moved binder too');

    const asCarrier = await getEnrollment(ctx, e.id, carrierAKey.secret);
    t.equal(asCarrier.coverageStart, '2027-02-01', 'the carrier sees the moved start as well');
  },
);

t.test('two missed due dates move the start two months, with two history entries (R10, R14)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrierA.id, coverageStart: '2027-01-01' });
  await setClock(ctx, '2027-01-24T09:00:00-05:00');
  const read = await getEnrollment(ctx, e.id);
  t.equal(read.coverageStart, '2027-03-01');
  t.equal(read.paymentDueDate, '2027-02-23');
  t.equal(read.chosenCoverageStart, '2027-01-01');
  t.same(
    moves(read).map(({ at, from, to, actor }) => ({ at, from, to, actor })),
    [
      { at: '2026-12-24T05:00:00.000Z', from: '2027-01-01', to: '2027-02-01', actor: 'system' },
      { at: '2027-01-24T05:00:00.000Z', from: '2027-02-01', to: '2027-03-01', actor: 'system' },
    ],
  );
  const binder = await getInvoice(ctx, e.binderInvoiceId);
  t.equal(binder.coverageMonth, '2027-03-01');
  t.equal(binder.dueDate, '2027-02-23');
});

t.test('a later chosen start does not move while its own due date has not passed (R10)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrierA.id, coverageStart: '2027-03-01' });
  await setClock(ctx, '2027-02-23T23:00:00-05:00');
  const read = await getEnrollment(ctx, e.id);
  t.equal(read.coverageStart, '2027-03-01');
  t.same(moves(read), []);
  await setClock(ctx, '2027-02-24T00:00:00-05:00');
  const after = await getEnrollment(ctx, e.id);
  t.equal(after.coverageStart, '2027-04-01');
  t.equal(moves(after)[0]?.from, '2027-03-01');
});

t.test('an enrollment that is not pending payment never moves (R10)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const paid = await newEnrollment(ctx, { carrierId: carrierA.id, coverageStart: '2027-01-01' });
  await markPaidInFull(ctx, paid.id, '2026-12-15T15:00:00Z', '2026-12-22');
  await setClock(ctx, '2027-02-24T09:00:00-05:00');
  const read = await getEnrollment(ctx, paid.id);
  t.equal(read.status, 'awaiting_confirmation');
  t.equal(read.coverageStart, '2027-01-01');
  t.same(moves(read), []);
  t.equal((await getInvoice(ctx, paid.binderInvoiceId)).coverageMonth, '2027-01-01');
});

t.test('the deadline sweep records the moves; reads are identical before and after it (R10)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrierA.id, coverageStart: '2027-01-01' });
  await setClock(ctx, '2027-01-24T09:00:00-05:00');
  const beforeEnrollment = await getEnrollment(ctx, e.id);
  const beforeBinder = await getInvoice(ctx, e.binderInvoiceId);
  const beforeList = (await ctx.request({ method: 'GET', url: `/v1/enrollments?memberId=${e.memberId}` })).json();

  const result = await sweep(ctx);
  t.ok(result.enrollmentsMoved >= 1, 'the sweep moved at least this enrollment');
  t.equal(result.asOf, '2027-01-24T14:00:00.000Z', 'the sweep runs as of the service clock');

  const row = await enrollmentRow(ctx, e.id);
  t.equal(String(row.coverage_start), '2027-03-01', 'the move is recorded in the database');
  const recordedHistory = await ctx.database.db
    .selectFrom('enrollment_history')
    .selectAll()
    .where('enrollment_id', '=', e.id)
    .where('type', '=', 'coverage_start_moved')
    .execute();
  t.equal(recordedHistory.length, 2, 'both moves are recorded in the history table');

  t.same(await getEnrollment(ctx, e.id), beforeEnrollment, 'the enrollment reads the same after the sweep');
  t.same(await getInvoice(ctx, e.binderInvoiceId), beforeBinder, 'the binder reads the same after the sweep');
  t.same(
    (await ctx.request({ method: 'GET', url: `/v1/enrollments?memberId=${e.memberId}` })).json(),
    beforeList,
    'the list reads the same after the sweep',
  );
});

t.test('coverage_start_moved events are written once per move, even when the sweep runs again (R10)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrierA.id, coverageStart: '2027-01-01' });
  const movedEvents = () => eventsOf(ctx, e.id, 'enrollment.coverage_start_moved');

  await setClock(ctx, '2026-12-20T09:00:00-05:00');
  await sweep(ctx);
  t.equal((await movedEvents()).length, 0, 'nothing to record before the due date');

  await setClock(ctx, '2026-12-24T09:00:00-05:00');
  await sweep(ctx);
  await sweep(ctx);
  const first = await movedEvents();
  t.equal(first.length, 1);
  t.match(first[0]?.data, { from: '2027-01-01', to: '2027-02-01', enrollmentId: e.id });
  t.equal(first[0]?.carrier_id, carrierA.id);

  await setClock(ctx, '2027-01-24T09:00:00-05:00');
  const read = await getEnrollment(ctx, e.id);
  await sweep(ctx);
  await sweep(ctx);
  const second = await movedEvents();
  t.equal(second.length, 2);
  t.match(second[1]?.data, { from: '2027-02-01', to: '2027-03-01' });
  const after = await getEnrollment(ctx, e.id);
  t.same(after, read, 'reads agree with what the two sweeps recorded');
  t.equal(moves(after).length, 2, 'the history holds each move once');
});

t.test('concurrent sweeps, and a sweep racing a cancellation, record each move exactly once (R10)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const a = await newEnrollment(ctx, { carrierId: carrierA.id, coverageStart: '2027-01-01' });
  const b = await newEnrollment(ctx, { carrierId: carrierA.id, coverageStart: '2027-01-01' });
  await setClock(ctx, '2027-01-24T09:00:00-05:00');
  const [, , cancelled] = await Promise.all([
    sweep(ctx),
    sweep(ctx),
    cancelEnrollment(ctx, b.id, { reason: 'race' }, connector.secret),
    sweep(ctx),
  ]);
  t.equal(cancelled.statusCode, 200);
  for (const e of [a, b]) {
    const events = await eventsOf(ctx, e.id, 'enrollment.coverage_start_moved');
    t.same(
      events.map((ev) => [ev.data.from, ev.data.to]),
      [
        ['2027-01-01', '2027-02-01'],
        ['2027-02-01', '2027-03-01'],
      ],
      `${e.id}: each move once`,
    );
    const read = await getEnrollment(ctx, e.id);
    t.equal(moves(read).length, 2, `${e.id}: two move entries in the history`);
    t.equal(read.coverageStart, '2027-03-01');
  }
});

t.test('cancelling after a missed due date keeps the move and stops further moves (R10, R13)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrierA.id, coverageStart: '2027-01-01' });
  await setClock(ctx, '2026-12-28T10:00:00-05:00');
  const res = await cancelEnrollment(ctx, e.id, { reason: 'never paid' }, connector.secret);
  t.equal(res.statusCode, 200);
  const cancelled = res.json() as EnrollmentJson;
  t.equal(cancelled.status, 'cancelled');
  t.equal(cancelled.coverageStart, '2027-02-01');
  t.same(
    cancelled.history.map((h) => [h.type, h.from, h.to]),
    [
      ['status_changed', null, 'pending_payment'],
      ['coverage_start_moved', '2027-01-01', '2027-02-01'],
      ['status_changed', 'pending_payment', 'cancelled'],
    ],
  );
  await setClock(ctx, '2027-04-01T10:00:00-04:00');
  await sweep(ctx);
  const later = await getEnrollment(ctx, e.id);
  t.equal(later.coverageStart, '2027-02-01', 'a cancelled enrollment does not move');
  t.equal(later.history.length, 3);
  t.equal((await eventsOf(ctx, e.id, 'enrollment.coverage_start_moved')).length, 1);
});

// R13

t.test(
  'cancelling a pending enrollment: 200 cancelled, history with reason and actor, binder void (R13)',
  async (t) => {
    await setClock(ctx, '2026-12-10T10:00:00-05:00');
    const e = await newEnrollment(ctx, { carrierId: carrierA.id, coverageStart: '2027-01-01' });
    await setClock(ctx, '2026-12-11T09:00:00-05:00');
    const res = await cancelEnrollment(ctx, e.id, { reason: 'member changed plans' }, connector.secret);
    t.equal(res.statusCode, 200);
    const c = res.json() as EnrollmentJson;
    t.match(c, { id: e.id, status: 'cancelled', cancelledAt: '2026-12-11T14:00:00.000Z', creditCents: 0 });
    t.same(c.history.at(-1), {
      at: '2026-12-11T14:00:00.000Z',
      type: 'status_changed',
      from: 'pending_payment',
      to: 'cancelled',
      reason: 'member changed plans',
      actor: connector.id,
    });
    const binder = await getInvoice(ctx, e.binderInvoiceId);
    t.match(binder, { status: 'void', balanceCents: 0, voidedAt: '2026-12-11T14:00:00.000Z' });
    t.same(await getEnrollment(ctx, e.id), c, 'a read shows the cancellation');
    const events = await eventsOf(ctx, e.id, 'enrollment.cancelled');
    t.equal(events.length, 1);
  },
);

t.test('a cancellation without a reason records the actor (the ops key id)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrierA.id });
  const res = await cancelEnrollment(ctx, e.id, {}, ops.secret);
  t.equal(res.statusCode, 200);
  const last = (res.json() as EnrollmentJson).history.at(-1);
  t.match(last, { type: 'status_changed', from: 'pending_payment', to: 'cancelled', actor: ops.id });
});

t.test('cancelling a confirmed enrollment is 409 not_cancellable and changes nothing (R13)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrierA.id, coverageStart: '2027-01-01' });
  await markPaidInFull(ctx, e.id, '2026-12-15T15:00:00Z', '2026-12-22');
  await setEnrollmentStatus(ctx, e.id, 'confirmed');
  const before = await getEnrollment(ctx, e.id);
  const res = await cancelEnrollment(ctx, e.id, { reason: 'too late' }, connector.secret);
  t.equal(res.statusCode, 409);
  t.match(res.headers['content-type'], PROBLEM);
  t.match(res.json(), { status: 409, code: 'not_cancellable' });
  t.same(await getEnrollment(ctx, e.id), before, 'the enrollment is unchanged');
  t.equal((await getInvoice(ctx, e.binderInvoiceId)).status, 'paid', 'the binder is not voided');
});

t.test(
  'cancelling with a partially paid binder voids it and makes the paid amount enrollment credit (R13)',
  async (t) => {
    await setClock(ctx, '2026-12-10T10:00:00-05:00');
    const e = await newEnrollment(ctx, { carrierId: carrierA.id, monthlyPremiumCents: 45000 });
    await setBinderPaid(ctx, e.id, 12345);
    t.equal((await getInvoice(ctx, e.binderInvoiceId)).status, 'partially_paid');
    const res = await cancelEnrollment(ctx, e.id, { reason: 'moved out of state' }, connector.secret);
    t.equal(res.statusCode, 200);
    t.equal(res.json().status, 'cancelled');
    t.equal(res.json().creditCents, 12345, 'the money already paid is credit for ops to refund');
    const binder = await getInvoice(ctx, e.binderInvoiceId);
    t.equal(binder.status, 'void');
    t.equal(binder.balanceCents, 0);
    t.equal(binder.amountPaidCents, 12345, 'the payment record on the invoice is kept');
    t.match((await eventsOf(ctx, e.id, 'enrollment.cancelled'))[0]?.data, { creditedCents: 12345 });
  },
);

t.test('two simultaneous cancellations credit the paid amount once (R13)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrierA.id, monthlyPremiumCents: 45000 });
  await setBinderPaid(ctx, e.id, 9000);
  const results = await Promise.all([
    cancelEnrollment(ctx, e.id, { reason: 'portal' }, connector.secret),
    cancelEnrollment(ctx, e.id, { reason: 'phone' }, connector.secret),
  ]);
  t.ok(
    results.some((r) => r.statusCode === 200),
    'one cancellation succeeds',
  );
  t.ok(
    results.every((r) => r.statusCode < 500),
    'neither is a server error',
  );
  const read = await getEnrollment(ctx, e.id);
  t.equal(read.status, 'cancelled');
  t.equal(read.creditCents, 9000, 'credited once');
  t.equal(read.history.filter((h) => h.to === 'cancelled').length, 1);
});

t.test('existing enrollment credit is kept and added to when cancelling (R13)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrierA.id, monthlyPremiumCents: 45000 });
  await setCredit(ctx, e.id, 500);
  await setBinderPaid(ctx, e.id, 20000);
  const res = await cancelEnrollment(ctx, e.id, {}, connector.secret);
  t.equal(res.statusCode, 200);
  t.equal(res.json().creditCents, 20500);
});

t.test('a repeated cancellation neither credits twice nor adds history', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrierA.id });
  await setBinderPaid(ctx, e.id, 1000);
  const first = await cancelEnrollment(ctx, e.id, { reason: 'first' }, connector.secret);
  t.equal(first.statusCode, 200);
  const again = await cancelEnrollment(ctx, e.id, { reason: 'second' }, connector.secret);
  t.ok([200, 409].includes(again.statusCode), `a repeat is harmless (got ${again.statusCode})`);
  const read = await getEnrollment(ctx, e.id);
  t.equal(read.creditCents, 1000);
  t.equal(read.history.filter((h) => h.to === 'cancelled').length, 1);
  t.equal((await eventsOf(ctx, e.id, 'enrollment.cancelled')).length, 1);
});

t.test('cancelling an enrollment awaiting confirmation voids its open later invoices (R13)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrierA.id, coverageStart: '2027-01-01' });
  await markPaidInFull(ctx, e.id, '2026-12-15T15:00:00Z', '2026-12-22');
  await setClock(ctx, '2027-01-05T10:00:00-05:00');
  expectStatus(await billingRun(ctx, '2027-02-01'), 201);
  const feb = (await listInvoices(ctx, `enrollmentId=${e.id}`)).find((i) => i.coverageMonth === '2027-02-01');
  t.equal(feb?.status, 'open', 'the February invoice was issued');
  const res = await cancelEnrollment(ctx, e.id, { reason: 'found employer coverage' }, connector.secret);
  t.equal(res.statusCode, 200);
  t.match(res.json().history.at(-1), { from: 'awaiting_confirmation', to: 'cancelled', actor: connector.id });
  const after = await listInvoices(ctx, `enrollmentId=${e.id}&status=void`);
  t.ok(
    after.some((i) => i.id === feb?.id),
    'the open February invoice is void',
  );
});

t.test('cancellation: unknown id 404, carrier key 403, unknown body field 400', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrierA.id });
  const unknown = await cancelEnrollment(ctx, 'enr_doesnotexist', {}, connector.secret);
  t.equal(unknown.statusCode, 404);
  t.match(unknown.headers['content-type'], PROBLEM);
  const asCarrier = await cancelEnrollment(ctx, e.id, {}, carrierAKey.secret);
  t.equal(asCarrier.statusCode, 403);
  const extra = await cancelEnrollment(ctx, e.id, { reason: 'x', refund: true }, connector.secret);
  t.equal(extra.statusCode, 400);
  t.equal((await getEnrollment(ctx, e.id)).status, 'pending_payment', 'none of these cancelled it');
});

// R14

t.test('history entries are {at, type, from, to, reason, actor}, oldest first (R14)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const account = await newAccount(ctx);
  const created = await checkout(
    ctx,
    { memberId: account.memberId, carrierId: carrierA.id, coverageStart: '2027-01-01' },
    connector.secret,
  );
  expectStatus(created, 201);
  const e = created.json() as EnrollmentJson;
  await setClock(ctx, '2027-01-24T09:00:00-05:00');
  await sweep(ctx);
  await setClock(ctx, '2027-01-25T09:00:00-05:00');
  expectStatus(await cancelEnrollment(ctx, e.id, { reason: 'no longer needed' }, connector.secret), 200);
  const read = await getEnrollment(ctx, e.id);
  t.equal(read.history.length, 4);
  for (const h of read.history) {
    t.same(Object.keys(h).sort(), HISTORY_KEYS);
    t.match(h.at, RFC3339);
    t.ok(['status_changed', 'coverage_start_moved'].includes(h.type));
    t.type(h.actor, 'string');
    t.ok(h.actor.length > 0);
    if (h.type === 'coverage_start_moved') {
      t.match(h.from, /^\d{4}-\d{2}-01$/);
      t.match(h.to, /^\d{4}-\d{2}-01$/);
    }
  }
  const times = read.history.map((h) => Date.parse(h.at));
  t.same(
    times,
    [...times].sort((a, b) => a - b),
    'entries are in time order',
  );
  t.same(
    read.history.map((h) => [h.type, h.from, h.to, h.actor]),
    [
      ['status_changed', null, 'pending_payment', connector.id],
      ['coverage_start_moved', '2027-01-01', '2027-02-01', 'system'],
      ['coverage_start_moved', '2027-02-01', '2027-03-01', 'system'],
      ['status_changed', 'pending_payment', 'cancelled', connector.id],
    ],
  );
  t.equal(read.history[3]?.reason, 'no longer needed');
});

// Lists

t.test('the enrollment list filters by memberId, status and carrierId', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const account = await newAccount(ctx);
  const pending = await newEnrollment(ctx, { memberId: account.memberId, carrierId: carrierA.id });
  const awaiting = await newEnrollment(ctx, {
    memberId: account.memberId,
    carrierId: carrierB.id,
    coverageType: 'dental',
  });
  await markPaidInFull(ctx, awaiting.id, '2026-12-15T15:00:00Z', '2026-12-22');
  const cancelled = await newEnrollment(ctx, { memberId: account.memberId, carrierId: carrierA.id });
  expectStatus(await cancelEnrollment(ctx, cancelled.id, {}, connector.secret), 200);

  const ids = async (query: string) => {
    const res = await ctx.request({ method: 'GET', url: `/v1/enrollments?${query}`, key: connector.secret });
    expectStatus(res, 200);
    return (res.json().data as EnrollmentJson[]).map((e) => e.id);
  };
  const m = `memberId=${account.memberId}`;
  t.same(await ids(m), [pending.id, awaiting.id, cancelled.id], 'oldest first');
  t.same(await ids(`${m}&status=pending_payment`), [pending.id]);
  t.same(await ids(`${m}&status=awaiting_confirmation`), [awaiting.id]);
  t.same(await ids(`${m}&status=cancelled`), [cancelled.id]);
  t.same(await ids(`${m}&status=confirmed`), []);
  t.same(await ids(`${m}&carrierId=${carrierA.id}`), [pending.id, cancelled.id]);
  t.same(await ids(`${m}&carrierId=${carrierB.id}&status=awaiting_confirmation`), [awaiting.id]);
  t.same(await ids(`${m}&carrierId=no-such-carrier`), []);
  t.same(await ids(`memberId=${newMemberId()}`), [], 'an unknown member is an empty list, not a 404');

  const status = await ids('status=awaiting_confirmation');
  t.ok(status.includes(awaiting.id));
  for (const e of (
    await ctx.request({ method: 'GET', url: '/v1/enrollments?status=awaiting_confirmation&limit=500' })
  ).json().data as EnrollmentJson[]) {
    t.equal(e.status, 'awaiting_confirmation');
  }

  const empty = await ctx.request({ method: 'GET', url: `/v1/enrollments?memberId=${newMemberId()}` });
  t.same(empty.json(), { data: [], nextCursor: null });
});

t.test('the enrollment list pages with limit and after; the last page has nextCursor null', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const account = await newAccount(ctx);
  const created: string[] = [];
  for (let i = 0; i < 3; i++) {
    created.push((await newEnrollment(ctx, { memberId: account.memberId, carrierId: carrierA.id })).id);
  }
  const pages = await allPages<EnrollmentJson>(ctx, '/v1/enrollments', `memberId=${account.memberId}`, 1);
  t.equal(pages.length, 3);
  t.same(
    pages.map((p) => p.data.length),
    [1, 1, 1],
  );
  t.same(
    pages.flatMap((p) => p.data.map((e) => e.id)),
    created,
    'every enrollment once, in order',
  );
  t.type(pages[0]?.nextCursor, 'string');
  t.type(pages[1]?.nextCursor, 'string');
  t.equal(pages[2]?.nextCursor, null);

  const two = await allPages<EnrollmentJson>(ctx, '/v1/enrollments', `memberId=${account.memberId}`, 2);
  t.same(
    two.map((p) => p.data.length),
    [2, 1],
  );
  t.equal(two[1]?.nextCursor, null);

  const exact = await allPages<EnrollmentJson>(ctx, '/v1/enrollments', `memberId=${account.memberId}`, 3);
  t.equal(exact.length, 1);
  t.equal(exact[0]?.nextCursor, null, 'a page that holds the rest has no next cursor');

  const firstPage = pages[0];
  const filtered = await ctx.request({
    method: 'GET',
    url: `/v1/enrollments?memberId=${account.memberId}&status=pending_payment&limit=1&after=${encodeURIComponent(
      firstPage?.nextCursor ?? '',
    )}`,
  });
  t.same(
    filtered.json().data.map((e: EnrollmentJson) => e.id),
    [created[1]],
    'a cursor combines with filters',
  );
});

t.test('limit must be 1..500 and the cursor well-formed (400)', async (t) => {
  for (const q of ['limit=0', 'limit=501', 'limit=-1', 'limit=abc', 'limit=1.5', 'status=active', 'foo=bar']) {
    const res = await ctx.request({ method: 'GET', url: `/v1/enrollments?${q}` });
    t.equal(res.statusCode, 400, q);
    t.match(res.headers['content-type'], PROBLEM);
    t.equal(res.json().code, 'validation_failed', q);
  }
  for (const q of ['limit=1', 'limit=500']) {
    t.equal((await ctx.request({ method: 'GET', url: `/v1/enrollments?${q}` })).statusCode, 200, q);
  }
  const badCursor = await ctx.request({ method: 'GET', url: '/v1/enrollments?after=not-a-cursor' });
  t.equal(badCursor.statusCode, 400, 'a cursor the service did not issue is a 400, not a server error');
  t.match(badCursor.headers['content-type'], PROBLEM);
});

t.test('a carrier key sees only its own enrollments (R26)', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const account = await newAccount(ctx);
  const own = await newEnrollment(ctx, { memberId: account.memberId, carrierId: carrierA.id });
  const other = await newEnrollment(ctx, {
    memberId: account.memberId,
    carrierId: carrierB.id,
    coverageType: 'dental',
  });

  const ownRead = await ctx.request({ method: 'GET', url: `/v1/enrollments/${own.id}`, key: carrierAKey.secret });
  t.equal(ownRead.statusCode, 200);
  t.equal(ownRead.json().id, own.id);

  const otherRead = await ctx.request({ method: 'GET', url: `/v1/enrollments/${other.id}`, key: carrierAKey.secret });
  t.equal(otherRead.statusCode, 404, "another carrier's enrollment is 404, not 403");
  t.match(otherRead.headers['content-type'], PROBLEM);
  t.equal(otherRead.json().code, 'not_found');

  const list = await ctx.request({
    method: 'GET',
    url: `/v1/enrollments?memberId=${account.memberId}`,
    key: carrierAKey.secret,
  });
  t.equal(list.statusCode, 200);
  t.same(
    list.json().data.map((e: EnrollmentJson) => e.id),
    [own.id],
  );

  const all = await allPages<EnrollmentJson>(ctx, '/v1/enrollments', 'status=pending_payment', 500, carrierAKey.secret);
  const seen = all.flatMap((p) => p.data);
  t.ok(seen.length > 0);
  t.ok(
    seen.every((e) => e.carrierId === carrierA.id),
    'every listed enrollment is the carrier’s own',
  );
  t.notOk(seen.some((e) => e.id === other.id));

  const asking = await ctx.request({
    method: 'GET',
    url: `/v1/enrollments?carrierId=${carrierB.id}`,
    key: carrierAKey.secret,
  });
  t.equal(asking.statusCode, 200);
  t.same(asking.json().data, [], "filtering by another carrier shows nothing of that carrier's");

  const connectorSees = await ctx.request({
    method: 'GET',
    url: `/v1/enrollments?memberId=${account.memberId}`,
    key: connector.secret,
  });
  t.same(
    connectorSees.json().data.map((e: EnrollmentJson) => e.id),
    [own.id, other.id],
    'the connector sees both',
  );
});

t.test('GET /v1/enrollments/{id} for an unknown id is 404; without a key 401', async (t) => {
  const res = await ctx.request({ method: 'GET', url: '/v1/enrollments/enr_unknown' });
  t.equal(res.statusCode, 404);
  t.match(res.headers['content-type'], PROBLEM);
  const anonymous = await ctx.request({ method: 'GET', url: '/v1/enrollments/enr_unknown', key: null });
  t.equal(anonymous.statusCode, 401);
});

t.test('enrollment credit shows on reads as creditCents', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrierA.id });
  await setCredit(ctx, e.id, 777);
  t.equal((await getEnrollment(ctx, e.id)).creditCents, 777);
});
