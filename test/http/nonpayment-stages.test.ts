import t, { type Test } from 'tap';
import { testApp } from '../helpers/app.js';
import { checkout } from '../helpers/billing.js';
import { newAccount, newCarrier, setClock } from '../helpers/factories.js';
import {
  businessDateOf,
  Calendar,
  confirmedMembers,
  invariantViolations,
  invoiceTable,
  listByDelinquency,
  type NpEnrollment,
  nonpaymentEvents,
  notices,
  PREMIUM,
  payEnrollment,
  type Subsidy,
  view,
} from '../helpers/nonpayment.js';
import { PROBLEM } from '../helpers/responses.js';

// Issue 13, SPEC R28 (subsidy at checkout) and R29 (the delinquency stages, their pay-by dates, what
// is owed by then, cure, partial payments), with R30's end of the subsidised ladder. Black-box over
// HTTP with the test clock; each scenario has its own app (and database) because the clock moves
// through 2025-2026 and must not move backwards under another scenario.

const JAN = '2026-01-01';
const FEB = '2026-02-01';
const MAR = '2026-03-01';
const APR = '2026-04-01';
const MAY = '2026-05-01';

/** The five non-payment fields every enrollment view carries, in good standing. */
function goodStanding(t: Test, e: NpEnrollment, subsidy: Subsidy, where: string) {
  t.equal(e.subsidy, subsidy, `${where}: subsidy ${subsidy}`);
  t.equal(e.delinquency, null, `${where}: delinquency null in good standing`);
  t.equal(e.coverageEnd, null, `${where}: coverageEnd null`);
  t.equal(e.terminationReason, null, `${where}: terminationReason null`);
  t.equal(e.terminatedAt, null, `${where}: terminatedAt null`);
}

t.test('R28: checkout takes subsidy (default none, 400 for an unknown value); every view shows it', async (t) => {
  const ctx = await testApp(t);
  await setClock(ctx, '2025-10-10T10:00:00-04:00');
  const carrier = await newCarrier(ctx, { name: 'Subsidy Health' });
  const carrierKey = (await ctx.newKey('carrier', carrier.id)).secret;
  const connectorKey = (await ctx.newKey('connector')).secret;

  const plain = await checkout(ctx, { memberId: (await newAccount(ctx)).memberId, carrierId: carrier.id });
  t.equal(plain.statusCode, 201, 'checkout without subsidy');
  goodStanding(t, plain.json(), 'none', 'checkout answer (default)');

  for (const subsidy of ['none', 'aptc', 'connectorcare'] as const) {
    const res = await checkout(
      ctx,
      { memberId: (await newAccount(ctx)).memberId, carrierId: carrier.id, subsidy },
      connectorKey,
    );
    t.equal(res.statusCode, 201, `checkout with subsidy ${subsidy}`);
    const e = res.json() as NpEnrollment;
    goodStanding(t, e, subsidy, `checkout answer (${subsidy})`);
    goodStanding(t, await view(ctx, e.id), subsidy, `GET /v1/enrollments/{id} (${subsidy})`);
    goodStanding(t, await view(ctx, e.id, carrierKey), subsidy, `carrier's GET (${subsidy})`);
    const list = await ctx.request({ method: 'GET', url: `/v1/enrollments?memberId=${e.memberId}` });
    t.equal(list.statusCode, 200);
    const listed = (list.json() as { data: NpEnrollment[] }).data;
    t.equal(listed.length, 1);
    goodStanding(t, listed[0] as NpEnrollment, subsidy, `list view (${subsidy})`);
    await payEnrollment(ctx, e.id, PREMIUM);
    const queue = await ctx.request({
      method: 'GET',
      url: '/v1/enrollments?status=awaiting_confirmation',
      key: carrierKey,
    });
    const queued = (queue.json() as { data: NpEnrollment[] }).data.find((x) => x.id === e.id);
    t.ok(queued, `the carrier's work queue lists it (${subsidy})`);
    if (queued) goodStanding(t, queued, subsidy, `carrier's work queue (${subsidy})`);
    const confirmation = await ctx.request({
      method: 'POST',
      url: `/v1/enrollments/${e.id}/confirmation`,
      payload: {},
      key: carrierKey,
    });
    t.equal(confirmation.statusCode, 200);
    goodStanding(t, confirmation.json(), subsidy, `confirmation answer (${subsidy})`);
  }

  for (const bad of ['medicaid', 'APTC', '', 1, null]) {
    const memberId = (await newAccount(ctx)).memberId;
    const res = await checkout(ctx, { memberId, carrierId: carrier.id, subsidy: bad });
    t.equal(res.statusCode, 400, `subsidy ${JSON.stringify(bad)} is refused by the schema`);
    t.match(String(res.headers['content-type']), PROBLEM, 'as problem+json');
    const listed = await ctx.request({ method: 'GET', url: `/v1/enrollments?memberId=${memberId}` });
    t.same(listed.json().data, [], 'and no enrollment was made');
  }

  // The confirmation answer and the delinquency filter carry the fields too.
  const [e] = await confirmedMembers(ctx, [{ carrierId: carrier.id, subsidy: 'aptc' }]);
  const confirmed = await view(ctx, (e as NpEnrollment).id);
  t.equal(confirmed.status, 'confirmed');
  goodStanding(t, confirmed, 'aptc', 'confirmed member');
  t.same(await listByDelinquency(ctx, 'any', confirmed.memberId), [], 'good standing is not in ?delinquency=any');
  for (const filter of ['past_due', 'termination_warning', 'final_termination_warning']) {
    t.same(await listByDelinquency(ctx, filter, confirmed.memberId), [], `nor in ?delinquency=${filter}`);
  }
  const bad = await ctx.request({ method: 'GET', url: '/v1/enrollments?delinquency=overdue' });
  t.equal(bad.statusCode, 400, 'an unknown delinquency filter is 400');
});

/** Asserts the standing of a stage (R29) on the enrollment, in the filter and (after the sweep) the notice. */
async function expectStage(
  t: Test,
  ctx: Awaited<ReturnType<typeof testApp>>,
  id: string,
  want: {
    stage: string;
    payBy: string;
    monthsOwed: readonly string[];
    amountOwedCents: number;
    firstUnpaidMonth?: string;
  },
  label: string,
) {
  const e = await view(ctx, id);
  t.equal(e.status, 'confirmed', `${label}: still confirmed`);
  t.same(
    e.delinquency,
    {
      stage: want.stage,
      firstUnpaidMonth: want.firstUnpaidMonth ?? JAN,
      payBy: want.payBy,
      amountOwedCents: want.amountOwedCents,
      monthsOwed: [...want.monthsOwed],
    },
    `${label}: delinquency ${want.stage}, pay ${want.monthsOwed.join(', ')} by ${want.payBy}`,
  );
  const filtered = await listByDelinquency(ctx, want.stage, e.memberId);
  t.same(
    filtered.map((x) => x.id),
    [id],
    `${label}: listed by ?delinquency=${want.stage}`,
  );
  t.same(
    (await listByDelinquency(ctx, 'any', e.memberId)).map((x) => x.id),
    [id],
    `${label}: listed by ?delinquency=any`,
  );
  for (const other of ['past_due', 'termination_warning', 'final_termination_warning'].filter(
    (s) => s !== want.stage,
  )) {
    t.same(await listByDelinquency(ctx, other, e.memberId), [], `${label}: not listed by ?delinquency=${other}`);
  }
  return e;
}

async function expectNotice(
  t: Test,
  ctx: Awaited<ReturnType<typeof testApp>>,
  e: NpEnrollment,
  type: string,
  want: { payBy: string; monthsOwed: string[]; amountOwedCents: number },
) {
  const list = await notices(ctx, e.memberId, type);
  t.equal(list.length, 1, `one ${type} notice`);
  t.match(list[0], { type, memberId: e.memberId, enrollmentId: e.id, ...want }, `${type} notice content`);
  t.same(list[0]?.monthsOwed, want.monthsOwed, `${type} notice lists the months owed`);
}

const LADDER = [
  { stage: 'past_due', payBy: '2026-01-23', monthsOwed: [JAN, FEB], amountOwedCents: 2 * PREMIUM },
  { stage: 'termination_warning', payBy: '2026-02-23', monthsOwed: [JAN, FEB, MAR], amountOwedCents: 3 * PREMIUM },
  {
    stage: 'final_termination_warning',
    payBy: '2026-03-23',
    monthsOwed: [JAN, FEB, MAR, APR],
    amountOwedCents: 4 * PREMIUM,
  },
] as const;
/** The day each stage begins (the first date after the previous pay-by date; R29's example). */
const STAGE_BEGINS = ['2025-12-24', '2026-01-24', '2026-02-24'] as const;

for (const subsidy of ['aptc', 'connectorcare'] as const) {
  t.test(`R29-R30 (${subsidy}): the Connector's example, past_due to terminated over three months`, async (t) => {
    const ctx = await testApp(t);
    const [e0] = await confirmedMembers(ctx, [{ subsidy }]);
    const e = e0 as NpEnrollment;
    const cal = new Calendar(ctx);

    await cal.to('2025-12-23', 23, 59);
    t.equal((await view(ctx, e.id)).delinquency, null, 'January unpaid, but its due date 2025-12-23 has not passed');

    for (const [i, want] of LADDER.entries()) {
      const begins = STAGE_BEGINS[i] as string;
      // 00:00 New York on the first date after the previous pay-by date: before the sweep has run,
      // reads already show the stage (R29: reads are never stale while a sweep is pending).
      await cal.to(begins, 0, 0);
      await expectStage(t, ctx, e.id, { ...want }, `${begins} 00:00, before the sweep`);
      await cal.to(begins, 2, 0); // the 01:00 sweep has run
      const after = await expectStage(t, ctx, e.id, { ...want }, `${begins}, after the sweep`);
      await expectNotice(t, ctx, after, want.stage, {
        payBy: want.payBy,
        monthsOwed: [...want.monthsOwed],
        amountOwedCents: want.amountOwedCents,
      });
    }

    await cal.to('2026-03-24', 2, 0);
    const ended = await view(ctx, e.id);
    t.equal(ended.status, 'terminated', '2026-03-24: terminated after the final pay-by date');
    t.equal(ended.terminationReason, 'non_payment');
    t.equal(ended.coverageEnd, '2026-01-31', 'R30: subsidised coverage ends on the last day of U (January)');
    t.ok(ended.terminatedAt, 'terminatedAt is set');
    t.equal(businessDateOf(String(ended.terminatedAt)), '2026-03-24', 'terminated on 2026-03-24 (business date)');
    t.ok(
      ended.history.some((h) => h.type === 'status_changed' && h.from === 'confirmed' && h.to === 'terminated'),
      'R14: the termination is in the history',
    );
    t.same(
      await invoiceTable(ctx, e.id),
      [
        ['2025-11-01', 'paid', PREMIUM],
        ['2025-12-01', 'paid', PREMIUM],
        [JAN, 'open', 0],
        [FEB, 'void', null],
        [MAR, 'void', null],
        [APR, 'void', null],
      ],
      'January (the grace month) stays owed; February-April are void',
    );
    const termination = await notices(ctx, e.memberId, 'termination');
    t.equal(termination.length, 1, 'one termination notice');
    t.match(termination[0], { type: 'termination', enrollmentId: e.id, coverageEnd: '2026-01-31' });

    const events = await nonpaymentEvents(ctx, e.id, 4);
    t.same(
      events.map((x) => [x.type, x.data.stage ?? null]),
      [
        ['enrollment.delinquent', 'past_due'],
        ['enrollment.delinquent', 'termination_warning'],
        ['enrollment.delinquent', 'final_termination_warning'],
        ['enrollment.terminated', null],
      ],
      'one delinquent event per stage, then terminated, in order',
    );
    for (const [i, want] of LADDER.entries()) {
      t.match(events[i]?.data, { enrollmentId: e.id, stage: want.stage, payBy: want.payBy, firstUnpaidMonth: JAN });
    }
    t.match(events[3]?.data, { enrollmentId: e.id, coverageEnd: '2026-01-31', reason: 'non_payment' });

    await cal.to('2026-04-24', 2, 0); // the May billing run on 2026-04-01 and another sweep
    const may = await invoiceTable(ctx, e.id);
    t.notOk(
      may.some(([month]) => month === MAY),
      'R30: the May billing run issues nothing after coverageEnd',
    );
    t.equal((await view(ctx, e.id)).status, 'terminated');
    t.equal((await notices(ctx, e.memberId, 'termination')).length, 1, 'a later sweep sends no second notice');
    t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
  });
}

// Cure at each stage by paying everything owed on the pay-by date at 23:59 New York time.
for (const [i, want] of LADDER.entries()) {
  const subsidy: Subsidy = i === 2 ? 'connectorcare' : 'aptc';
  t.test(`R29 (${subsidy}): paying in full at 23:59 on ${want.payBy} cures ${want.stage}`, async (t) => {
    const ctx = await testApp(t);
    const [e0] = await confirmedMembers(ctx, [{ subsidy }]);
    const e = e0 as NpEnrollment;
    const cal = new Calendar(ctx);
    await cal.to(want.payBy, 23, 59);
    await expectStage(t, ctx, e.id, { ...want, monthsOwed: [...want.monthsOwed] }, `${want.payBy} 23:59`);
    await payEnrollment(ctx, e.id, want.amountOwedCents);
    let now = await view(ctx, e.id);
    t.equal(now.delinquency, null, 'cured at once: every invoice past its due date is paid in full');
    t.equal(now.status, 'confirmed');
    t.equal(now.creditCents, 0, 'the payment was exactly what was owed');
    t.same(await listByDelinquency(ctx, 'any', e.memberId), [], 'no longer listed as delinquent');

    const nextDay = i < 2 ? (STAGE_BEGINS[i + 1] as string) : '2026-03-24';
    await cal.to(nextDay, 2, 0); // the sweep after the pay-by date
    now = await view(ctx, e.id);
    t.equal(now.status, 'confirmed', `${nextDay}: not terminated`);
    t.equal(now.delinquency, null, `${nextDay}: still in good standing`);
    for (const [j, stage] of LADDER.entries()) {
      t.equal(
        (await notices(ctx, e.memberId, stage.stage)).length,
        j <= i ? 1 : 0,
        `${stage.stage} notice ${j <= i ? 'sent once' : 'never sent'}`,
      );
    }
    t.same(await notices(ctx, e.memberId, 'termination'), [], 'no termination notice');
    const events = await nonpaymentEvents(ctx, e.id, i + 2);
    t.same(
      events.map((x) => x.type),
      [...Array.from({ length: i + 1 }, () => 'enrollment.delinquent'), 'enrollment.delinquency_cured'],
      'the stages reached, then one delinquency_cured',
    );
    t.equal(events.at(-1)?.data.enrollmentId, e.id);
    t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
  });
}

// One minute after the pay-by date the next stage has begun (or, after the last, termination).
// Paying then does not undo what began: for the first two stages the payment still cures (R29: the
// cure is "as soon as every invoice whose due date has passed is paid in full"), but the next
// stage's notice was already recorded; after the final stage the member is terminated and the late
// money is credit (R24), to be used by a reinstatement (R31).
for (const [i, want] of LADDER.entries()) {
  t.test(`R29-R30 (aptc): one minute after ${want.payBy} 23:59, ${want.stage} is past`, async (t) => {
    const ctx = await testApp(t);
    const [e0] = await confirmedMembers(ctx, [{ subsidy: 'aptc' }]);
    const e = e0 as NpEnrollment;
    const cal = new Calendar(ctx);
    const nextDay = i < 2 ? (STAGE_BEGINS[i + 1] as string) : '2026-03-24';
    await cal.to(nextDay, 0, 0); // = the pay-by date at 23:59 plus one minute
    if (i < 2) {
      const next = LADDER[i + 1] as (typeof LADDER)[number];
      await expectStage(t, ctx, e.id, { ...next, monthsOwed: [...next.monthsOwed] }, `${nextDay} 00:00`);
    }
    await cal.to(nextDay, 2, 0); // the sweep
    await payEnrollment(ctx, e.id, want.amountOwedCents);
    const now = await view(ctx, e.id);
    if (i < 2) {
      const next = LADDER[i + 1] as (typeof LADDER)[number];
      t.equal((await notices(ctx, e.memberId, next.stage)).length, 1, `the ${next.stage} notice was recorded`);
      t.equal(now.status, 'confirmed');
      t.equal(now.delinquency, null, 'the late payment covers every past-due invoice, so it cures from now on');
      const events = await nonpaymentEvents(ctx, e.id, i + 3);
      t.same(
        events.map((x) => [x.type, x.data.stage ?? null]),
        [
          ...LADDER.slice(0, i + 2).map((s) => ['enrollment.delinquent', s.stage]),
          ['enrollment.delinquency_cured', null],
        ],
        'the next stage was emitted before the cure',
      );
    } else {
      t.equal(now.status, 'terminated', 'too late: terminated');
      t.equal(now.coverageEnd, '2026-01-31');
      t.equal(now.creditCents, want.amountOwedCents, 'the late payment is credit on the terminated enrollment (R24)');
      const events = await nonpaymentEvents(ctx, e.id, 4);
      t.notOk(
        events.some((x) => x.type === 'enrollment.delinquency_cured'),
        'no cure after termination',
      );
    }
    t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
  });
}

t.test('R29 (aptc): partial payments leave the stage and its anchor (firstUnpaidMonth) unchanged', async (t) => {
  const ctx = await testApp(t);
  const [e0] = await confirmedMembers(ctx, [{ subsidy: 'aptc' }]);
  const e = e0 as NpEnrollment;
  const cal = new Calendar(ctx);

  await cal.to('2025-12-28', 10);
  await payEnrollment(ctx, e.id, 20000); // part of January
  await expectStage(
    t,
    ctx,
    e.id,
    { stage: 'past_due', payBy: '2026-01-23', monthsOwed: [JAN, FEB], amountOwedCents: 2 * PREMIUM - 20000 },
    'after 200.00 of January',
  );

  await cal.to('2026-01-24', 2);
  await expectStage(
    t,
    ctx,
    e.id,
    {
      stage: 'termination_warning',
      payBy: '2026-02-23',
      monthsOwed: [JAN, FEB, MAR],
      amountOwedCents: 3 * PREMIUM - 20000,
    },
    'a partial payment did not stop the next stage',
  );

  await cal.to('2026-01-28', 10);
  await payEnrollment(ctx, e.id, 50000); // the rest of January (25,000) and 25,000 of February
  // January is now paid in full, but February (due 2026-01-23) still has a balance: not cured, and
  // the anchor U stays January (R29: U is fixed until the delinquency is cured). "Owed by then"
  // lists the months not paid in full, so January leaves monthsOwed while staying the anchor.
  await expectStage(
    t,
    ctx,
    e.id,
    {
      stage: 'termination_warning',
      firstUnpaidMonth: JAN,
      payBy: '2026-02-23',
      monthsOwed: [FEB, MAR],
      amountOwedCents: 3 * PREMIUM - 70000,
    },
    'January paid, February in part',
  );
  t.same(
    (await invoiceTable(ctx, e.id)).filter(([m]) => m >= JAN),
    [
      [JAN, 'paid', PREMIUM],
      [FEB, 'partially_paid', 25000],
      // March is billed on 2026-02-01 (the 1st of the month before coverage): not invoiced yet.
    ],
    'the money went to the oldest invoices first (R24)',
  );

  await cal.to('2026-03-24', 2);
  const ended = await view(ctx, e.id);
  t.equal(ended.status, 'terminated');
  t.equal(ended.coverageEnd, '2026-01-31', 'R30: the last day of U, the anchor January');
  t.same(
    (await invoiceTable(ctx, e.id)).filter(([m]) => m >= JAN),
    [
      [JAN, 'paid', PREMIUM],
      [FEB, 'void', null],
      [MAR, 'void', null],
      [APR, 'void', null],
    ],
    'months after coverageEnd are void',
  );
  t.equal(ended.creditCents, 25000, "February's 250.00 became credit (R30)");
  const events = await nonpaymentEvents(ctx, e.id, 4);
  t.same(
    events.map((x) => x.type),
    ['enrollment.delinquent', 'enrollment.delinquent', 'enrollment.delinquent', 'enrollment.terminated'],
    'no cure was ever emitted',
  );
  t.ok(
    events.filter((x) => x.type === 'enrollment.delinquent').every((x) => x.data.firstUnpaidMonth === JAN),
    'every stage is anchored on January',
  );
  t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
});
