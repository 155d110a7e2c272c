import t from 'tap';
import { type TestContext, testApp } from '../helpers/app.js';
import {
  billingRun,
  cancelEnrollment,
  type InvoiceJson,
  invoicesOfEnrollment,
  listInvoices,
} from '../helpers/billing.js';
import { newEnrollment } from '../helpers/factories.js';
import {
  at,
  businessDateOf,
  Calendar,
  chronological,
  historyOf,
  invariantViolations,
  liveInvoiceOf,
  mailCheck,
  type NpEnrollment,
  nonpaymentEvents,
  notices,
  ny,
  PREMIUM,
  payEnrollment,
  reinstate,
  sweepOk,
  unpaidJanuary,
  view,
} from '../helpers/nonpayment.js';
import { bankAccount, check, type PaymentJson, payOk, returnPayment } from '../helpers/payments.js';
import { expectProblem, expectStatus } from '../helpers/responses.js';

// Issue 13, the black-box review's findings (docs/review-issue13.md), each written from SPEC as a
// scenario before the fix. The rule under each: a payment is judged by its business date (R2), a
// write acts on the enrollment as reads show it (R10/R29: reads are never stale while a sweep is
// pending), a filtered list agrees with the reads, a termination is never dated before what caused
// it (R14 history in order), and a return on an enrollment the carrier confirmed is flagged (R25).

const DEC = '2025-12-01';
const JAN = '2026-01-01';
const FEB = '2026-02-01';
const MAR = '2026-03-01';

t.test(
  'F6 (R2, R29): an online payment whose business date is the pay-by date cures, posted after midnight',
  async (t) => {
    const ctx = await testApp(t);
    const e = await unpaidJanuary(ctx);
    const cal = new Calendar(ctx);
    await cal.to('2026-01-24', 0, 2); // the sweep of 2026-01-24 runs at 01:00: not yet
    t.equal((await view(ctx, e.id)).status, 'terminated', 'as of the clock (no payment yet) the read shows terminated');
    const p = await payOk(ctx, {
      channel: 'online',
      method: 'checking',
      amountCents: 2 * PREMIUM,
      enrollmentId: e.id,
      receivedAt: ny('2026-01-23', 23, 59),
      ...bankAccount(),
    });
    t.equal(p.creditedCents, 0, 'nothing to credit: the money paid January and February');
    t.same(
      p.applications.map((a) => a.amountCents),
      [PREMIUM, PREMIUM],
    );
    const v = await view(ctx, e.id);
    t.equal(v.status, 'confirmed', 'paid in full by the pay-by date (business date 2026-01-23): not terminated');
    t.equal(v.delinquency, null, 'cured');
    t.equal(v.coverageEnd ?? null, null);
    await sweepOk(ctx);
    t.equal((await view(ctx, e.id)).status, 'confirmed', 'the sweep agrees');
    t.same(await notices(ctx, e.memberId, 'termination'), [], 'no termination notice');
    const events = await nonpaymentEvents(ctx, e.id, 2);
    t.same(
      events.map((x) => x.type),
      ['enrollment.delinquent', 'enrollment.delinquency_cured'],
      'past_due then cured, never terminated',
    );
    t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
  },
);

t.test('F6 (R2, R22): a mail check received before the pay-by date and posted later cures', async (t) => {
  const ctx = await testApp(t);
  const e = await unpaidJanuary(ctx);
  const cal = new Calendar(ctx, { sweeps: false }); // only the billing runs: no sweep records anything
  await cal.to('2026-01-26', 10);
  const january = (await invoicesOfEnrollment(ctx, e.id)).find((i) => i.coverageMonth === JAN) as InvoiceJson;
  const p = await payOk(ctx, mailCheck(2 * PREMIUM, ny('2026-01-22', 10), january.invoiceNumber));
  t.equal(p.applications.length > 0, true, 'the check paid the January invoice its slip names');
  const v = await view(ctx, e.id);
  t.equal(v.status, 'confirmed', 'received by the lockbox on 2026-01-22: on time, not terminated');
  t.equal(v.delinquency, null);
  t.equal(v.creditCents, 0, 'the rest paid February (credit applied oldest first)');
  t.same(
    (await invoicesOfEnrollment(ctx, e.id)).filter((i) => i.status !== 'void').map((i) => [i.coverageMonth, i.status]),
    [
      ['2025-11-01', 'paid'],
      [DEC, 'paid'],
      [JAN, 'paid'],
      [FEB, 'paid'],
    ],
  );
  t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
});

t.test(
  'F6 (R2, R31): a check received in time but posted after the sweep recorded the termination restores the enrollment',
  async (t) => {
    const ctx = await testApp(t);
    const e = await unpaidJanuary(ctx);
    const cal = new Calendar(ctx);
    await cal.to('2026-01-26', 10); // the 2026-01-24 sweep recorded the termination
    const before = await view(ctx, e.id);
    t.equal(before.status, 'terminated');
    const january = (await invoicesOfEnrollment(ctx, e.id)).find((i) => i.coverageMonth === JAN) as InvoiceJson;
    const p = await payOk(ctx, mailCheck(2 * PREMIUM, ny('2026-01-22', 10), january.invoiceNumber));
    t.equal(p.amountCents, 2 * PREMIUM);
    const v = await view(ctx, e.id);
    t.equal(v.status, 'confirmed', 'the member paid everything owed by the pay-by date: the termination is undone');
    t.equal(v.coverageEnd ?? null, null);
    t.equal(v.creditCents, 0, 'the money pays January and February again');
    t.ok(await liveInvoiceOf(ctx, e.id, JAN), 'January has a live invoice');
    t.equal((await liveInvoiceOf(ctx, e.id, FEB))?.status, 'paid', 'February is paid');
    const events = await nonpaymentEvents(ctx, e.id, 3);
    t.same(
      events.map((x) => x.type),
      ['enrollment.delinquent', 'enrollment.terminated', 'enrollment.reinstated'],
      'the carrier is told the termination is undone',
    );
    chronological(t, v, 'after the undo');
    t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
  },
);

t.test('F6 (R2, R23): unapplied mail received in time and applied by ops after the pay-by date cures', async (t) => {
  const ctx = await testApp(t);
  const e = await unpaidJanuary(ctx);
  const cal = new Calendar(ctx, { sweeps: false });
  await cal.to('2026-01-22', 10);
  const p = await payOk(ctx, {
    channel: 'mail',
    method: 'check',
    amountCents: 2 * PREMIUM,
    remittance: { memberId: '999999999999', firstName: 'Nobody', lastName: 'Known', carrierName: 'Nobody Health' },
    ...check(),
  });
  t.equal(p.status, 'unapplied');
  await cal.to('2026-01-26', 10);
  const res = await ctx.request({
    method: 'POST',
    url: `/v1/ops/unapplied-payments/${p.id}/application`,
    payload: { enrollmentId: e.id },
  });
  expectStatus(res, 200);
  t.equal((res.json() as PaymentJson).creditedCents, 0, 'the money paid January and February');
  const v = await view(ctx, e.id);
  t.equal(v.status, 'confirmed', 'received 2026-01-22, before the pay-by date: cured, not terminated');
  t.equal(v.delinquency, null);
});

/** An unsubsidised member whose binder is paid but who is never confirmed, December unpaid. */
async function awaitingWithDecemberUnpaid(ctx: TestContext) {
  await at(ctx, '2025-10-10', 10);
  const e = (await newEnrollment(ctx, { coverageStart: '2025-11-01' })) as NpEnrollment;
  await payEnrollment(ctx, e.id, PREMIUM);
  await at(ctx, '2025-11-01', 9);
  expectStatus(await billingRun(ctx, DEC), 201);
  return e;
}

t.test('F4 (R12, R30): a confirmation on an enrollment that reads terminated is refused', async (t) => {
  const ctx = await testApp(t);
  const e = await awaitingWithDecemberUnpaid(ctx);
  await at(ctx, '2025-11-24', 1);
  await sweepOk(ctx); // past_due recorded, pay-by 2025-12-23
  await at(ctx, '2025-12-24', 0, 5); // the pay-by date passed; no sweep yet
  t.equal((await view(ctx, e.id)).status, 'terminated', 'the read shows terminated');
  const res = await ctx.request({ method: 'POST', url: `/v1/enrollments/${e.id}/confirmation`, payload: {} });
  expectProblem(t, res, 409, 'not_awaiting_confirmation', 'confirming a terminated enrollment');
  await sweepOk(ctx);
  const v = await view(ctx, e.id);
  t.equal(v.status, 'terminated');
  t.equal(v.confirmedAt ?? null, null, 'never confirmed');
  chronological(t, v, 'F4');
  const types = (await nonpaymentEvents(ctx, e.id, 2)).map((x) => x.type);
  t.same(types, ['enrollment.delinquent', 'enrollment.terminated']);
});

t.test('F5 (R13, R30): a cancellation of an enrollment that reads terminated is refused', async (t) => {
  const ctx = await testApp(t);
  const e = await awaitingWithDecemberUnpaid(ctx);
  await at(ctx, '2025-12-24', 0, 5);
  const res = await cancelEnrollment(ctx, e.id, { reason: 'changed my mind' });
  expectProblem(t, res, 409, 'not_cancellable', 'cancelling a terminated enrollment');
  const v = await view(ctx, e.id);
  t.equal(v.status, 'terminated');
  t.equal(v.coverageEnd, '2025-11-30', 'November (paid) stays covered');
  t.equal(v.creditCents, 0, 'the paid November binder is not refunded');
  t.equal((await invoicesOfEnrollment(ctx, e.id)).find((i) => i.coverageMonth === '2025-11-01')?.status, 'paid');
});

t.test('F8 (R30, I2): a billing run before the sweep issues nothing after a termination the reads show', async (t) => {
  const ctx = await testApp(t);
  const e = await unpaidJanuary(ctx);
  const cal = new Calendar(ctx, { sweeps: false, skipRuns: [FEB, MAR] });
  await cal.to('2026-01-24', 0, 0);
  t.equal((await view(ctx, e.id)).coverageEnd, '2025-12-31');
  for (const month of [FEB, MAR]) {
    const res = await billingRun(ctx, month);
    expectStatus(res, 201);
    t.equal((res.json() as { issuedCount: number }).issuedCount, 0, `nothing issued for ${month}`);
  }
  const live = (await invoicesOfEnrollment(ctx, e.id)).filter((i) => i.status !== 'void').map((i) => i.coverageMonth);
  t.same(live, ['2025-11-01', DEC], 'no live invoice after coverageEnd');
  t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
});

t.test('F3 (R29, R30): status filters agree with the reads before the sweep', async (t) => {
  const ctx = await testApp(t);
  const e = await unpaidJanuary(ctx);
  const waiting = await awaitingWithDecemberUnpaid(ctx); // same member database, its own member
  const cal = new Calendar(ctx, { sweeps: false });
  await cal.to('2026-01-24', 0, 0);
  const ids = async (query: string) => {
    const res = await ctx.request({ method: 'GET', url: `/v1/enrollments?${query}` });
    expectStatus(res, 200);
    return (res.json() as { data: NpEnrollment[] }).data.map((x) => [x.id, x.status]);
  };
  t.same(await ids(`status=confirmed&memberId=${e.memberId}`), [], 'not listed as confirmed');
  t.same(await ids(`status=terminated&memberId=${e.memberId}`), [[e.id, 'terminated']], 'listed as terminated');
  t.same(await ids(`status=awaiting_confirmation&memberId=${waiting.memberId}`), [], 'not awaiting confirmation');
  t.same(await ids(`status=terminated&memberId=${waiting.memberId}`), [[waiting.id, 'terminated']]);
  const statuses = async (status: string) =>
    (await listInvoices(ctx, `enrollmentId=${e.id}&status=${status}`)).map((i) => [i.coverageMonth, i.status]);
  t.same(await statuses('open'), [], 'no open invoice: January and February read void');
  t.same(
    (await statuses('void')).sort(),
    [
      [JAN, 'void'],
      [FEB, 'void'],
    ],
    'January and February are listed as void',
  );
  const overdue = await ctx.request({ method: 'GET', url: '/v1/ops/overdue-confirmations?limit=200' });
  expectStatus(overdue, 200);
  const listed = (overdue.json() as { data: NpEnrollment[] }).data.map((x) => x.id);
  t.notOk(listed.includes(waiting.id), 'a terminated enrollment is not overdue for confirmation');
  t.equal((await view(ctx, waiting.id)).confirmationOverdue, false);
});

t.test('F1 (R25): a return on a terminated enrollment the carrier had confirmed is flagged', async (t) => {
  const ctx = await testApp(t);
  const e = await unpaidJanuary(ctx);
  const cal = new Calendar(ctx);
  await cal.to('2025-12-10', 10);
  const january = await payEnrollment(ctx, e.id, PREMIUM); // February is never paid
  await cal.to('2026-02-24', 2);
  const terminated = await view(ctx, e.id);
  t.equal(terminated.status, 'terminated');
  t.equal(terminated.coverageEnd, '2026-01-31');
  await cal.to('2026-03-02', 10);
  expectStatus(await returnPayment(ctx, january.id, { reasonCode: 'R01' }), 201);
  const v = await view(ctx, e.id);
  t.same(v.flags, ['payment_returned'], 'flagged for ops: the carrier had confirmed');
  const flagged = await ctx.request({ method: 'GET', url: '/v1/ops/flagged-enrollments?limit=200' });
  t.ok(
    (flagged.json() as { data: { id: string }[] }).data.some((x) => x.id === e.id),
    'listed for ops',
  );
});

t.test('F2 (R14, R31): a termination after a return is dated at the return, after the reinstatement', async (t) => {
  const ctx = await testApp(t);
  const e = await unpaidJanuary(ctx);
  const cal = new Calendar(ctx);
  await cal.to('2026-01-25', 10);
  t.equal((await view(ctx, e.id)).status, 'terminated');
  const p = await payEnrollment(ctx, e.id, 2 * PREMIUM); // credit on a terminated enrollment (R24)
  expectStatus(await reinstate(ctx, e.id), 200);
  t.equal((await view(ctx, e.id)).status, 'confirmed');
  await at(ctx, '2026-01-26', 10);
  expectStatus(await returnPayment(ctx, p.id, { reasonCode: 'R01' }), 201);
  const v = await view(ctx, e.id);
  t.equal(v.status, 'terminated', 'the money is gone: terminated again');
  t.equal(businessDateOf(String(v.terminatedAt)), '2026-01-26', 'dated at the return, not back on 2026-01-24');
  chronological(t, v, 'F2');
  await at(ctx, '2026-03-02', 23, 59); // day 35 after 2026-01-26
  expectProblem(t, await reinstate(ctx, e.id), 422, 'reinstatement_payment_required', 'the window is still open');
  await at(ctx, '2026-03-03', 0, 0);
  expectProblem(t, await reinstate(ctx, e.id), 422, 'reinstatement_window_closed', 'day 36');
});

t.test('F9 (R14, R25): a returned binder of a confirmed enrollment never terminates before the return', async (t) => {
  const ctx = await testApp(t);
  await at(ctx, '2025-10-10', 10);
  const e = (await newEnrollment(ctx, { coverageStart: '2025-11-01' })) as NpEnrollment;
  const binder = await payEnrollment(ctx, e.id, PREMIUM);
  expectStatus(await ctx.request({ method: 'POST', url: `/v1/enrollments/${e.id}/confirmation`, payload: {} }), 200);
  await at(ctx, '2025-11-01', 9);
  expectStatus(await billingRun(ctx, DEC), 201);
  await at(ctx, '2025-11-10', 10);
  await payEnrollment(ctx, e.id, PREMIUM);
  await at(ctx, '2025-11-28', 10);
  expectStatus(await returnPayment(ctx, binder.id, { reasonCode: 'R01' }), 201);
  const v = await view(ctx, e.id);
  t.same(v.flags, ['payment_returned']);
  if (v.status === 'terminated') {
    t.equal(businessDateOf(String(v.terminatedAt)), '2025-11-28', 'not before the return that caused it');
  }
  chronological(t, v, 'F9');
  t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
});

t.test('F10 (R14): a cure recorded by a payment names the API key that paid', async (t) => {
  const ctx = await testApp(t);
  const e = await unpaidJanuary(ctx);
  const cal = new Calendar(ctx);
  await cal.to('2026-01-05', 10); // past_due recorded by the 2025-12-24 sweep
  await payEnrollment(ctx, e.id, 2 * PREMIUM);
  const h = historyOf(await view(ctx, e.id));
  const confirmation = h.find((x) => x.to === 'confirmed');
  const cure = h.find((x) => x.to === 'cured');
  t.ok(cure, 'the cure is in the history');
  t.equal(cure?.actor, confirmation?.actor, 'the ops key that paid (it also confirmed) is the actor');
  t.not(cure?.actor, 'system');
});

t.test('F11 (R24): a payment naming a live invoice inside coverage of a terminated enrollment pays it', async (t) => {
  const ctx = await testApp(t);
  const e = await unpaidJanuary(ctx, 'aptc');
  const cal = new Calendar(ctx);
  await cal.to('2026-03-25', 10);
  const v = await view(ctx, e.id);
  t.equal(v.coverageEnd, '2026-01-31');
  const january = (await liveInvoiceOf(ctx, e.id, JAN)) as InvoiceJson;
  t.equal(january.status, 'open', 'January, inside coverage, is still owed');
  const p = await payOk(ctx, {
    channel: 'online',
    method: 'checking',
    amountCents: PREMIUM,
    invoiceNumber: january.invoiceNumber,
    ...bankAccount(),
  });
  t.same(
    p.applications.map((a) => a.amountCents),
    [PREMIUM],
    'the payment pays the invoice it names',
  );
  t.equal(p.creditedCents, 0);
  t.equal((await liveInvoiceOf(ctx, e.id, JAN))?.status, 'paid');
  t.same(await invariantViolations(ctx, [e.id]), [], 'I1-I4 hold');
});
