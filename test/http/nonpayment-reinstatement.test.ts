import t from 'tap';
import { testApp } from '../helpers/app.js';
import { cancelEnrollment } from '../helpers/billing.js';
import { newCarrier, newEnrollment } from '../helpers/factories.js';
import {
  at,
  Calendar,
  confirmedMembers,
  invariantViolations,
  invoiceTable,
  type NpEnrollment,
  nonpaymentEvents,
  PREMIUM,
  payEnrollment,
  reinstate,
  view,
} from '../helpers/nonpayment.js';
import { expectProblem } from '../helpers/responses.js';

// Issue 13, SPEC R31 (reinstatement within 35 calendar days after the termination's business date,
// once the credit covers every premium from the month after coverageEnd through the month after the
// current business month), with R24 (money for a terminated enrollment is credit), R30 and I1-I4.
//
// One app, one walk through the calendar: three unsubsidised members A, B and C are confirmed, pay
// December, never pay January (A pays part of it) and are terminated on 2026-01-24 with coverageEnd
// 2025-12-31 (R30). A is reinstated on 2026-01-26 after two refusals for lack of credit; B on day 35
// (2026-02-28); C asks on day 36 (2026-03-01), too late.

const DEC = '2025-12-01';
const JAN = '2026-01-01';
const FEB = '2026-02-01';
const MAR = '2026-03-01';

t.test('R31 reinstatement', async (t) => {
  const ctx = await testApp(t);
  const carrier = await newCarrier(ctx, { name: 'Reinstatement Health' });
  const carrierKey = (await ctx.newKey('carrier', carrier.id)).secret;
  const connectorKey = (await ctx.newKey('connector')).secret;
  const [a0, b0, c0, d0] = await confirmedMembers(ctx, [
    { carrierId: carrier.id },
    { carrierId: carrier.id },
    { carrierId: carrier.id },
    { carrierId: carrier.id },
  ]);
  const [a, b, c, d] = [a0, b0, c0, d0] as NpEnrollment[] as [NpEnrollment, NpEnrollment, NpEnrollment, NpEnrollment];
  const cal = new Calendar(ctx);

  await t.test('409 not_reinstatable unless terminated for non-payment; 403 for carriers; 404 unknown', async (t) => {
    await at(ctx, '2025-11-12', 10);
    const cancelled = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2026-01-01' });
    t.equal((await cancelEnrollment(ctx, cancelled.id, { reason: 'changed plans' })).statusCode, 200);
    const res = await reinstate(ctx, cancelled.id);
    expectProblem(t, res, 409, 'not_reinstatable', 'a cancelled enrollment');
    t.equal((await view(ctx, cancelled.id)).status, 'cancelled', 'and it stays cancelled');

    await cal.to('2025-12-10', 10);
    expectProblem(t, await reinstate(ctx, d.id), 409, 'not_reinstatable', 'a confirmed enrollment in good standing');
    const pending = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2026-01-01' });
    expectProblem(t, await reinstate(ctx, pending.id), 409, 'not_reinstatable', 'a pending_payment enrollment');
    t.equal((await reinstate(ctx, a.id, carrierKey)).statusCode, 403, 'carriers may not reinstate');
    expectProblem(t, await reinstate(ctx, 'no-such-enrollment'), 404, 'not_found', 'an unknown id');
  });

  await t.test('the three are terminated on 2026-01-24 with coverageEnd 2025-12-31', async (t) => {
    await cal.to('2026-01-10', 10);
    await payEnrollment(ctx, a.id, 20000); // part of January
    await payEnrollment(ctx, d.id, 2 * PREMIUM); // D pays January and February and stays in good standing
    await cal.to('2026-01-24', 2, 0);
    for (const e of [a, b, c]) {
      const now = await view(ctx, e.id);
      t.equal(now.status, 'terminated');
      t.equal(now.coverageEnd, '2025-12-31');
    }
    t.equal((await view(ctx, a.id)).creditCents, 20000, "A's January money is credit (R30)");
    expectProblem(t, await reinstate(ctx, d.id), 409, 'not_reinstatable', 'D is still not reinstatable');
  });

  await t.test('inside the window: refused with the exact shortfall until the credit covers it', async (t) => {
    await cal.to('2026-01-26', 10);
    // Required: January (the month after coverageEnd) through February (the month after the
    // current business month, January) = 2 x 450.00.
    let res = await reinstate(ctx, a.id, connectorKey);
    let problem = expectProblem(t, res, 422, 'reinstatement_payment_required', 'credit 200.00');
    t.equal(problem.amountRequiredCents, 2 * PREMIUM, 'amountRequiredCents: January and February');
    t.equal(problem.shortfallCents, 2 * PREMIUM - 20000, 'shortfallCents: required minus credit');

    await payEnrollment(ctx, a.id, 30000);
    t.equal((await view(ctx, a.id)).creditCents, 50000, 'R24: a payment to a terminated enrollment is credit');
    res = await reinstate(ctx, a.id);
    problem = expectProblem(t, res, 422, 'reinstatement_payment_required', 'credit 500.00');
    t.equal(problem.amountRequiredCents, 2 * PREMIUM);
    t.equal(problem.shortfallCents, 40000, 'shortfallCents 400.00');
    let now = await view(ctx, a.id);
    t.equal(now.status, 'terminated', 'a refused reinstatement changes nothing');
    t.equal(now.coverageEnd, '2025-12-31');
    t.equal(now.creditCents, 50000);

    await payEnrollment(ctx, a.id, 40000);
    res = await reinstate(ctx, a.id, connectorKey);
    t.equal(res.statusCode, 200, `reinstated: ${res.body.slice(0, 300)}`);
    now = await view(ctx, a.id);
    t.equal(now.status, 'confirmed', 'the status before termination returns');
    t.equal(now.coverageEnd, null, 'coverageEnd is cleared');
    t.equal(now.delinquency, null, 'in good standing');
    t.equal(now.creditCents, 0, 'the credit paid the reissued invoices');
    t.ok(
      now.history.some((h) => h.type === 'status_changed' && h.from === 'terminated' && h.to === 'confirmed'),
      'R14: the reinstatement is in the history',
    );
    t.same(
      (await invoiceTable(ctx, a.id)).filter(([, status]) => status !== 'void'),
      [
        ['2025-11-01', 'paid', PREMIUM],
        [DEC, 'paid', PREMIUM],
        [JAN, 'paid', PREMIUM],
        [FEB, 'paid', PREMIUM],
      ],
      'January and February have live invoices again, paid from the credit (one live invoice per month)',
    );
    const events = await nonpaymentEvents(ctx, a.id, 3);
    t.same(
      events.map((x) => x.type),
      ['enrollment.delinquent', 'enrollment.terminated', 'enrollment.reinstated'],
      'one enrollment.reinstated after the termination',
    );
    t.equal(events[2]?.data.enrollmentId, a.id);
    expectProblem(t, await reinstate(ctx, a.id), 409, 'not_reinstatable', 'reinstating again');
    t.same(await invariantViolations(ctx, [a.id]), [], 'I1-I4 hold');
  });

  await t.test('day 35 (2026-02-28) is inside the window; the months through March are required', async (t) => {
    await cal.to('2026-02-28', 10);
    const short = expectProblem(t, await reinstate(ctx, b.id), 422, 'reinstatement_payment_required', 'no credit');
    t.equal(short.amountRequiredCents, 3 * PREMIUM, 'January through March (the month after February)');
    t.equal(short.shortfallCents, 3 * PREMIUM);
    await payEnrollment(ctx, b.id, 3 * PREMIUM);
    await cal.to('2026-02-28', 23, 30);
    const res = await reinstate(ctx, b.id);
    t.equal(res.statusCode, 200, `reinstated on day 35: ${res.body.slice(0, 300)}`);
    const now = await view(ctx, b.id);
    t.equal(now.status, 'confirmed');
    t.equal(now.coverageEnd, null);
    t.equal(now.creditCents, 0);
    t.same(
      (await invoiceTable(ctx, b.id)).filter(([m, status]) => m >= JAN && status !== 'void'),
      [
        [JAN, 'paid', PREMIUM],
        [FEB, 'paid', PREMIUM],
        [MAR, 'paid', PREMIUM],
      ],
      'January-March live and paid, including March, which the 2026-02-01 run skipped while terminated',
    );
    t.same(await invariantViolations(ctx, [b.id]), [], 'I1-I4 hold');
  });

  await t.test('day 36 (2026-03-01) is outside the window, whatever the credit', async (t) => {
    await cal.to('2026-02-28', 23, 40);
    await payEnrollment(ctx, c.id, 5 * PREMIUM);
    await cal.to('2026-03-01', 0, 0);
    const res = await reinstate(ctx, c.id);
    expectProblem(t, res, 422, 'reinstatement_window_closed', 'day 36');
    const now = await view(ctx, c.id);
    t.equal(now.status, 'terminated', 'still terminated');
    t.equal(now.coverageEnd, '2025-12-31');
    t.equal(now.creditCents, 5 * PREMIUM, 'the credit stays for ops to refund');
    t.same(
      (await invoiceTable(ctx, c.id)).filter(([m, status]) => m >= JAN && status !== 'void'),
      [],
      'no live invoice after coverageEnd',
    );
    t.equal((await nonpaymentEvents(ctx, c.id, 2)).length, 2, 'no reinstated event for C');
  });

  await t.test('after reinstatement the month after is billed again', async (t) => {
    await cal.to('2026-03-01', 10); // the April run on 2026-03-01 09:00
    t.ok(
      (await invoiceTable(ctx, b.id)).some(([m, status]) => m === '2026-04-01' && status === 'open'),
      'B, reinstated, is billed for April',
    );
    t.notOk(
      (await invoiceTable(ctx, c.id)).some(([m, status]) => m === '2026-04-01' && status !== 'void'),
      'C, terminated, is not',
    );
    t.same(await invariantViolations(ctx, [a.id, b.id, c.id, d.id]), [], 'I1-I4 hold for all four');
  });
});
