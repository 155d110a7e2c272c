import t, { type Test } from 'tap';
import { type TestContext, testApp } from '../helpers/app.js';
import {
  at,
  Calendar,
  confirmedMembers,
  invariantViolations,
  listByDelinquency,
  type NpEnrollment,
  nonpaymentEvents,
  notices,
  PREMIUM,
  payEnrollment,
  type Subsidy,
  sweepOk,
  view,
} from '../helpers/nonpayment.js';
import { type PaymentJson, returnPayment } from '../helpers/payments.js';

// Issue 13 with SPEC R25: "After a confirmed enrollment's payment is returned, its unpaid months
// follow R29-R30." A confirmed member (binder November 2025, December paid; January billed on
// 2025-12-01) pays January in time on 2025-12-10. When that payment is returned after January's due
// date (2025-12-23), the member is delinquent for January at once (past_due as of the clock; the next
// sweep records it with its notice and event) and, with no cure, is terminated per R30 for its
// subsidy. A return before the due date leaves the member in good standing until the due date passes.
// Each scenario has its own app (and database) because the test clock walks through 2025-2026.

const JAN = '2026-01-01';
const FEB = '2026-02-01';
const MAR = '2026-03-01';
const APR = '2026-04-01';

const pastDue = {
  stage: 'past_due',
  firstUnpaidMonth: JAN,
  payBy: '2026-01-23',
  amountOwedCents: 2 * PREMIUM,
  monthsOwed: [JAN, FEB],
};

async function returned(ctx: TestContext, p: PaymentJson): Promise<void> {
  const res = await returnPayment(ctx, p.id, { reasonCode: 'R01' });
  if (res.statusCode !== 201 && res.statusCode !== 200) throw new Error(`return failed: ${res.statusCode} ${res.body}`);
}

/** A confirmed member of `subsidy` who paid January on 2025-12-10 (before its due date, 2025-12-23). */
async function paidJanuaryInTime(ctx: TestContext, subsidy: Subsidy) {
  const [e0] = await confirmedMembers(ctx, [{ subsidy }]);
  const e = e0 as NpEnrollment;
  const cal = new Calendar(ctx);
  await cal.to('2025-12-10', 10); // January's run on 2025-12-01
  const january = await payEnrollment(ctx, e.id, PREMIUM);
  const v = await view(ctx, e.id);
  if (v.status !== 'confirmed' || v.delinquency !== null) throw new Error(`setup: ${JSON.stringify(v.delinquency)}`);
  return { e, cal, january };
}

/** The stage (or terminated) and its pay-by date, with the notice and event the sweep recorded. */
async function expectRecorded(t: Test, ctx: TestContext, e: NpEnrollment, label: string) {
  const events = await nonpaymentEvents(ctx, e.id, 1);
  t.same(
    events.map((x) => [x.type, x.data.stage, x.data.firstUnpaidMonth, x.data.payBy]),
    [['enrollment.delinquent', 'past_due', JAN, '2026-01-23']],
    `${label}: one enrollment.delinquent (past_due, anchored on January)`,
  );
  const n = await notices(ctx, e.memberId, 'past_due');
  t.equal(n.length, 1, `${label}: one past_due notice`);
  t.match(n[0], { enrollmentId: e.id, payBy: '2026-01-23', amountOwedCents: 2 * PREMIUM });
  t.same(n[0]?.monthsOwed, [JAN, FEB], `${label}: the notice lists January and February`);
}

/** No cure: R30 for the subsidy (none: 2026-01-24, coverageEnd 2025-12-31; else 2026-03-24, 2026-01-31). */
async function expectTerminated(t: Test, ctx: TestContext, e: NpEnrollment, cal: Calendar, subsidy: Subsidy) {
  if (subsidy === 'none') {
    await cal.to('2026-01-23', 23, 59);
    t.same((await view(ctx, e.id)).delinquency, pastDue, 'still past_due at 23:59 on the pay-by date');
    await cal.to('2026-01-24', 2);
  } else {
    await cal.to('2026-01-24', 2);
    t.match((await view(ctx, e.id)).delinquency, {
      stage: 'termination_warning',
      firstUnpaidMonth: JAN,
      payBy: '2026-02-23',
      monthsOwed: [JAN, FEB, MAR],
    });
    await cal.to('2026-02-24', 2);
    t.match((await view(ctx, e.id)).delinquency, {
      stage: 'final_termination_warning',
      firstUnpaidMonth: JAN,
      payBy: '2026-03-23',
      monthsOwed: [JAN, FEB, MAR, APR],
    });
    await cal.to('2026-03-24', 2);
  }
  const end = subsidy === 'none' ? '2025-12-31' : '2026-01-31';
  const v = await view(ctx, e.id);
  t.equal(v.status, 'terminated', `${subsidy}: terminated with no cure`);
  t.equal(v.terminationReason, 'non_payment');
  t.equal(v.coverageEnd, end, `R30 (${subsidy}): coverageEnd ${end}`);
  t.match(await notices(ctx, e.memberId, 'termination'), [{ enrollmentId: e.id, coverageEnd: end }]);
  const stages = subsidy === 'none' ? 1 : 3;
  const events = await nonpaymentEvents(ctx, e.id, stages + 1);
  t.same(
    events.map((x) => x.type),
    [...Array(stages).fill('enrollment.delinquent'), 'enrollment.terminated'],
    'each stage once, then terminated',
  );
  t.match(events.at(-1)?.data, { enrollmentId: e.id, coverageEnd: end, reason: 'non_payment' });
  t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
}

for (const subsidy of ['none', 'aptc', 'connectorcare'] as const) {
  t.test(`R25 -> R29-R30 (${subsidy}): January paid in time, returned after its due date`, async (t) => {
    const ctx = await testApp(t);
    const { e, cal, january } = await paidJanuaryInTime(ctx, subsidy);

    await cal.to('2025-12-26', 10); // the 2025-12-24 sweep found January paid
    t.equal((await view(ctx, e.id)).delinquency, null, 'good standing before the return');
    t.same(await notices(ctx, e.memberId, 'past_due'), [], 'no notice yet');
    await returned(ctx, january);

    let v = await view(ctx, e.id);
    t.equal(v.status, 'confirmed', 'R25: a confirmed enrollment stays confirmed');
    t.same(v.flags, ['payment_returned'], 'and is flagged for ops');
    t.same(v.delinquency, pastDue, 'past_due for January as of the clock, pay January and February by 2026-01-23');
    t.same(
      (await listByDelinquency(ctx, 'past_due', e.memberId)).map((x) => x.id),
      [e.id],
      '?delinquency=past_due lists it',
    );

    await at(ctx, '2025-12-27', 1);
    await sweepOk(ctx); // the next sweep records it (if the return did not already)
    v = await view(ctx, e.id);
    t.same(v.delinquency, pastDue, 'the sweep recorded the same standing');
    await expectRecorded(t, ctx, e, 'after the sweep');
    await sweepOk(ctx);
    await expectRecorded(t, ctx, e, 'a second sweep records nothing again');

    await expectTerminated(t, ctx, e, cal, subsidy);
  });
}

for (const subsidy of ['none', 'aptc'] as const) {
  t.test(`R25 (${subsidy}): a return before the due date leaves good standing until the due date passes`, async (t) => {
    const ctx = await testApp(t);
    const { e, cal, january } = await paidJanuaryInTime(ctx, subsidy);

    await cal.to('2025-12-15', 10);
    await returned(ctx, january);
    let v = await view(ctx, e.id);
    t.equal(v.status, 'confirmed');
    t.same(v.flags, ['payment_returned'], 'flagged for ops');
    t.equal(v.delinquency, null, 'January is not late yet: good standing');
    await sweepOk(ctx);
    t.equal((await view(ctx, e.id)).delinquency, null, 'a sweep before the due date records nothing');
    t.same(await listByDelinquency(ctx, 'any', e.memberId), [], 'not in ?delinquency=any');

    await cal.to('2025-12-23', 23, 59);
    t.equal((await view(ctx, e.id)).delinquency, null, 'still good standing at 23:59 on the due date');
    t.same(await notices(ctx, e.memberId, 'past_due'), [], 'no notice before the due date passes');

    await cal.to('2025-12-24', 0, 0);
    v = await view(ctx, e.id);
    t.same(v.delinquency, pastDue, '2025-12-24: past_due (read before the sweep)');
    await cal.to('2025-12-24', 2); // the calendar's sweep at 01:00
    t.same((await view(ctx, e.id)).delinquency, pastDue, 'the sweep recorded the same standing');
    await expectRecorded(t, ctx, e, 'after the sweep');

    await expectTerminated(t, ctx, e, cal, subsidy);
  });
}
