import t from 'tap';
import { testApp } from '../helpers/app.js';
import { billingRunOk } from '../helpers/billing.js';
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
  sweepOk,
  view,
} from '../helpers/nonpayment.js';

// Issue 13, SPEC R29-R30 for unsubsidised members (subsidy `none`: one stage, then termination with
// coverageEnd = the last day of the last month paid in full), with R16 (billing runs skip months
// after coverageEnd), R24 (money for a terminated enrollment is credit) and I1-I4. Each scenario has
// its own app (and database) because the test clock walks from October 2025 into 2026.

const DEC = '2025-12-01';
const JAN = '2026-01-01';
const FEB = '2026-02-01';
const MAR = '2026-03-01';

t.test("R29-R30 (none): the Connector's example, past_due on 2025-12-24, terminated on 2026-01-24", async (t) => {
  const ctx = await testApp(t);
  const [e0] = await confirmedMembers(ctx, [{}]); // no subsidy given: `none`
  const e = e0 as NpEnrollment;
  const cal = new Calendar(ctx);

  await cal.to('2025-12-23', 23, 59);
  t.equal((await view(ctx, e.id)).delinquency, null, 'January due 2025-12-23: not late yet at 23:59');

  await cal.to('2025-12-24', 0, 0);
  const pastDue = {
    stage: 'past_due',
    firstUnpaidMonth: JAN,
    payBy: '2026-01-23',
    amountOwedCents: 2 * PREMIUM,
    monthsOwed: [JAN, FEB],
  };
  let now = await view(ctx, e.id);
  t.equal(now.subsidy, 'none');
  t.same(now.delinquency, pastDue, 'read before the sweep: past_due, pay January and February by 2026-01-23');
  t.same(
    (await listByDelinquency(ctx, 'past_due', e.memberId)).map((x) => x.id),
    [e.id],
    '?delinquency=past_due lists it before the sweep',
  );

  await cal.to('2025-12-24', 2, 0);
  now = await view(ctx, e.id);
  t.same(now.delinquency, pastDue, 'the sweep recorded the same standing');
  t.equal(now.status, 'confirmed');
  const pastDueNotices = await notices(ctx, e.memberId, 'past_due');
  t.equal(pastDueNotices.length, 1, 'one past_due notice');
  t.match(pastDueNotices[0], {
    type: 'past_due',
    memberId: e.memberId,
    enrollmentId: e.id,
    payBy: '2026-01-23',
    amountOwedCents: 2 * PREMIUM,
  });
  t.same(pastDueNotices[0]?.monthsOwed, [JAN, FEB], 'the notice lists January and February');

  await cal.to('2026-01-23', 23, 59); // February was billed on 2026-01-01
  now = await view(ctx, e.id);
  t.same(now.delinquency, pastDue, 'still past_due at 23:59 on the pay-by date, same anchor and amount');

  await cal.to('2026-01-24', 2, 0); // the sweep after the pay-by date
  now = await view(ctx, e.id);
  t.equal(now.status, 'terminated', '2026-01-24: terminated (no warning stages for unsubsidised members)');
  t.equal(now.terminationReason, 'non_payment');
  t.equal(now.coverageEnd, '2025-12-31', 'R30: the last day of December, the last month paid in full');
  t.equal(businessDateOf(String(now.terminatedAt)), '2026-01-24');
  t.ok(
    now.history.some((h) => h.type === 'status_changed' && h.from === 'confirmed' && h.to === 'terminated' && h.reason),
    'R14: the termination is in the history with a reason',
  );
  // R30: "Invoices of months after coverageEnd are voided": January and February are both after
  // 2025-12-31 (the issue names February's; January is after coverageEnd as well).
  t.same(
    await invoiceTable(ctx, e.id),
    [
      ['2025-11-01', 'paid', PREMIUM],
      [DEC, 'paid', PREMIUM],
      [JAN, 'void', null],
      [FEB, 'void', null],
    ],
    "February's (and January's) invoice is void",
  );
  t.equal(now.creditCents, 0, 'nothing was paid on the voided months');
  t.same(await notices(ctx, e.memberId, 'termination_warning'), [], 'no termination_warning for `none`');
  const termination = await notices(ctx, e.memberId, 'termination');
  t.equal(termination.length, 1, 'one termination notice');
  t.match(termination[0], { type: 'termination', enrollmentId: e.id, coverageEnd: '2025-12-31' });

  const events = await nonpaymentEvents(ctx, e.id, 2);
  t.same(
    events.map((x) => x.type),
    ['enrollment.delinquent', 'enrollment.terminated'],
    'delinquent, then terminated, once each',
  );
  t.match(events[0]?.data, { enrollmentId: e.id, stage: 'past_due', payBy: '2026-01-23', firstUnpaidMonth: JAN });
  t.match(events[1]?.data, { enrollmentId: e.id, coverageEnd: '2025-12-31', reason: 'non_payment' });

  await cal.to('2026-02-24', 2, 0); // the March run on 2026-02-01 and another sweep
  await billingRunOk(ctx, FEB); // February's run again
  t.same(
    (await invoiceTable(ctx, e.id)).filter(([, status]) => status !== 'void').map(([m]) => m),
    ['2025-11-01', DEC],
    'R16/R30: billing runs issue nothing for months after coverageEnd',
  );
  t.equal((await notices(ctx, e.memberId, 'termination')).length, 1, 'later sweeps send nothing again');
  t.equal((await nonpaymentEvents(ctx, e.id, 2)).length, 2, 'and emit nothing again');
  t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
});

t.test('R29 (none): paying in full at 23:59 on 2026-01-23 New York time cures past_due', async (t) => {
  const ctx = await testApp(t);
  const [e0] = await confirmedMembers(ctx, [{ subsidy: 'none' }]);
  const e = e0 as NpEnrollment;
  const cal = new Calendar(ctx);
  await cal.to('2026-01-23', 23, 59); // 2026-01-23T23:59:00-05:00
  t.equal((await view(ctx, e.id)).delinquency?.stage, 'past_due');
  await payEnrollment(ctx, e.id, 2 * PREMIUM);
  let now = await view(ctx, e.id);
  t.equal(now.delinquency, null, 'cured by the payment');
  t.same(await listByDelinquency(ctx, 'any', e.memberId), [], 'not listed as delinquent');
  await cal.to('2026-01-24', 2, 0);
  now = await view(ctx, e.id);
  t.equal(now.status, 'confirmed', 'not terminated the next day');
  t.equal(now.coverageEnd, null);
  t.equal(now.delinquency, null);
  t.same(
    (await invoiceTable(ctx, e.id)).filter(([m]) => m >= JAN),
    [
      [JAN, 'paid', PREMIUM],
      [FEB, 'paid', PREMIUM],
    ],
  );
  t.same(await notices(ctx, e.memberId, 'termination'), []);
  const events = await nonpaymentEvents(ctx, e.id, 2);
  t.same(
    events.map((x) => x.type),
    ['enrollment.delinquent', 'enrollment.delinquency_cured'],
  );
  t.equal(events[1]?.data.enrollmentId, e.id);
  t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
});

t.test('R30 (none): one minute later (2026-01-24 00:00) is too late: terminated, the money is credit', async (t) => {
  const ctx = await testApp(t);
  const [e0] = await confirmedMembers(ctx, [{}]);
  const e = e0 as NpEnrollment;
  const cal = new Calendar(ctx);
  await cal.to('2026-01-24', 0, 0);
  await sweepOk(ctx);
  await payEnrollment(ctx, e.id, 2 * PREMIUM);
  const now = await view(ctx, e.id);
  t.equal(now.status, 'terminated', 'the payment one minute after the pay-by date does not cure');
  t.equal(now.coverageEnd, '2025-12-31');
  t.equal(now.creditCents, 2 * PREMIUM, 'R24: money naming a terminated enrollment is credit on it');
  const events = await nonpaymentEvents(ctx, e.id, 2);
  t.same(
    events.map((x) => x.type),
    ['enrollment.delinquent', 'enrollment.terminated'],
    'no cure',
  );
  t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
});

t.test(
  'R29-R30 (none): a partial payment keeps stage, anchor and pay-by; its money is credit at termination',
  async (t) => {
    const ctx = await testApp(t);
    const [e0] = await confirmedMembers(ctx, [{}]);
    const e = e0 as NpEnrollment;
    const cal = new Calendar(ctx);
    await cal.to('2025-12-28', 10);
    await payEnrollment(ctx, e.id, 20000);
    t.same(
      (await view(ctx, e.id)).delinquency,
      {
        stage: 'past_due',
        firstUnpaidMonth: JAN,
        payBy: '2026-01-23',
        amountOwedCents: 2 * PREMIUM - 20000,
        monthsOwed: [JAN, FEB],
      },
      'past_due, anchored on January, owing the rest',
    );
    await cal.to('2026-01-23', 23, 59);
    t.equal((await view(ctx, e.id)).delinquency?.firstUnpaidMonth, JAN, 'anchor unchanged on the pay-by date');
    await cal.to('2026-01-24', 2, 0);
    const now = await view(ctx, e.id);
    t.equal(now.status, 'terminated');
    t.equal(now.coverageEnd, '2025-12-31', 'January was not paid in full');
    t.equal(now.creditCents, 20000, "R30: the money on January's voided invoice became credit");
    t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
  },
);

// The issue: "Unsubsidised member who pays January but not February by the pay-by date: terminated
// with coverageEnd 2026-01-31 and the January money kept." Reading of SPEC R29: the delinquency is
// cured "as soon as every invoice whose due date has passed is paid in full". Paying January on
// 2026-01-10 (February is due 2026-01-23, not yet passed) therefore cures the January delinquency.
// February still unpaid on 2026-01-24 starts a NEW delinquency anchored on February (U = February):
// past_due with pay-by 2026-02-23 (months owed February and March), and termination on 2026-02-24
// with coverageEnd 2026-01-31, the last day of the last month paid in full. (Under the other reading,
// "owed by the pay-by date" without a cure, termination would come on 2026-01-24; coverageEnd and
// the January money are the same either way.)
t.test('R29-R30 (none): pays January but not February: coverage ends 2026-01-31, January money kept', async (t) => {
  const ctx = await testApp(t);
  const [e0] = await confirmedMembers(ctx, [{}]);
  const e = e0 as NpEnrollment;
  const cal = new Calendar(ctx);

  await cal.to('2026-01-10', 10);
  t.equal((await view(ctx, e.id)).delinquency?.stage, 'past_due', 'past_due since 2025-12-24');
  await payEnrollment(ctx, e.id, PREMIUM); // January only
  t.equal((await view(ctx, e.id)).delinquency, null, 'every invoice past its due date is paid: cured');

  await cal.to('2026-01-23', 23, 59);
  t.equal((await view(ctx, e.id)).delinquency, null, "February's due date has not passed at 23:59");

  await cal.to('2026-01-24', 0, 0);
  t.same(
    (await view(ctx, e.id)).delinquency,
    {
      stage: 'past_due',
      firstUnpaidMonth: FEB,
      payBy: '2026-02-23',
      amountOwedCents: 2 * PREMIUM,
      monthsOwed: [FEB, MAR],
    },
    'a new delinquency anchored on February (read before the sweep)',
  );
  await cal.to('2026-01-24', 2, 0);
  t.equal((await notices(ctx, e.memberId, 'past_due')).length, 2, 'a second past_due notice, for February');

  await cal.to('2026-02-24', 2, 0);
  const now = await view(ctx, e.id);
  t.equal(now.status, 'terminated');
  t.equal(now.coverageEnd, '2026-01-31', 'coverage ends with January, the last month paid in full');
  t.same(
    (await invoiceTable(ctx, e.id)).filter(([m]) => m >= JAN),
    [
      [JAN, 'paid', PREMIUM],
      [FEB, 'void', null],
      [MAR, 'void', null],
    ],
    'the January money is kept on January; February and March are void',
  );
  t.equal(now.creditCents, 0, 'no money was on the voided months');
  const termination = await notices(ctx, e.memberId, 'termination');
  t.equal(termination.length, 1);
  t.match(termination[0], { coverageEnd: '2026-01-31' });
  const events = await nonpaymentEvents(ctx, e.id, 4);
  t.same(
    events.map((x) => [x.type, x.data.firstUnpaidMonth ?? null]),
    [
      ['enrollment.delinquent', JAN],
      // The cure names the episode it ends (its anchor, January); SPEC leaves the cure's fields open.
      ['enrollment.delinquency_cured', JAN],
      ['enrollment.delinquent', FEB],
      ['enrollment.terminated', null],
    ],
  );
  t.match(events[3]?.data, { coverageEnd: '2026-01-31', reason: 'non_payment' });
  t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
});
