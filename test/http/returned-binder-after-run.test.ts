import t, { type Test } from 'tap';
import { testApp } from '../helpers/app.js';
import {
  billingRun,
  cancelEnrollment,
  getEnrollment,
  type InvoiceJson,
  invoicesOfEnrollment,
  sweep,
} from '../helpers/billing.js';
import { newCarrier, newEnrollment, setClock } from '../helpers/factories.js';
import { bankAccount, payOk, returnPayment } from '../helpers/payments.js';
import { moneyViolations } from '../helpers/safety.js';

// Issue 11 item 4: R25 (new text), R10, I1, I4. A binder paid, the next month billed by a run, the
// binder payment returned after its due date: the start moves as R10 does, the run-issued invoices
// the binder passes are voided, their money becomes credit applied to the binder first, and nothing
// afterwards (pay, cancel, sweep) answers 500.
const ctx = await testApp(t);
const carrier = await newCarrier(ctx, { name: 'Returned Binder Health' });

const bank = (amountCents: number, target: Record<string, unknown>) => ({
  channel: 'online',
  method: 'checking',
  amountCents,
  ...target,
  ...bankAccount(),
});

/** I1: at most one live invoice per coverage month. */
function liveMonths(invoices: InvoiceJson[]): string[] {
  return invoices
    .filter((i) => i.status !== 'void')
    .map((i) => i.coverageMonth)
    .sort();
}

async function ok(res: { statusCode: number; body: string }, status: number, what: string) {
  if (res.statusCode !== status) throw new Error(`${what}: expected ${status}, got ${res.statusCode} ${res.body}`);
}

/** An enrollment starting 2027-01-01 whose binder (45,000) is paid on 2026-12-05. */
async function binderPaid() {
  await setClock(ctx, '2026-12-05T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
  const binderPayment = await payOk(ctx, bank(45000, { enrollmentId: e.id }));
  return { e, binderPayment };
}

/** Sets the clock, then runs billing for a coverage month (201 or throws). */
async function runAt(now: string, coverageMonth: string, what: string) {
  await setClock(ctx, now);
  await ok(await billingRun(ctx, coverageMonth), 201, what);
}

/** Returns a payment and asserts the return is recorded (201). */
async function returned(t: Test, paymentId: string, reasonCode: string) {
  t.equal((await returnPayment(ctx, paymentId, { reasonCode })).statusCode, 201);
}

t.test('the issue: a binder returned after its due date once the next month was billed', async (t) => {
  const { e, binderPayment } = await binderPaid();
  await runAt('2026-12-20T10:00:00-05:00', '2027-02-01', 'February run');
  const feb = (await invoicesOfEnrollment(ctx, e.id)).find((i) => i.coverageMonth === '2027-02-01' && !i.binder);
  if (!feb) throw new Error('no February invoice');
  // The member also pays 10,000 of February, naming its invoice.
  await payOk(ctx, bank(10000, { invoiceNumber: feb.invoiceNumber }));

  await setClock(ctx, '2026-12-28T10:00:00-05:00'); // after the binder's due date, 2026-12-23
  const ret = await returnPayment(ctx, binderPayment.id, { reasonCode: 'R01' });
  t.equal(ret.statusCode, 201, 'the return is recorded');

  let view = await getEnrollment(ctx, e.id);
  t.equal(view.status, 'pending_payment', 'the binder is open again');
  t.equal(view.coverageStart, '2027-02-01', 'R10: the start moved to the first month still open');
  t.equal(view.paymentDueDate, '2027-01-23');
  t.ok(
    view.history.some((h) => h.type === 'coverage_start_moved' && h.from === '2027-01-01' && h.to === '2027-02-01'),
    'the move is in the history',
  );
  let invoices = await invoicesOfEnrollment(ctx, e.id);
  t.same(liveMonths(invoices), ['2027-02-01'], 'I1: one live invoice for February');
  const binder = invoices.find((i) => i.id === e.binderInvoiceId);
  t.equal(binder?.coverageMonth, '2027-02-01', 'the binder moved into February');
  t.equal(binder?.dueDate, '2027-01-23');
  t.equal(binder?.amountPaidCents, 10000, "February's money became credit, applied to the binder first");
  t.equal(binder?.balanceCents, 35000);
  t.equal(invoices.find((i) => i.id === feb.id)?.status, 'void', "February's regular invoice is void");
  t.equal(view.creditCents, 0, 'no credit left beside a balance (I3)');
  t.same(await moneyViolations(ctx, [e.memberId]), [], 'I4: money conserved');

  // Nothing that follows answers 500.
  t.equal((await sweep(ctx)).enrollmentsFailed, 0, 'the sweep records nothing wrong');
  await payOk(ctx, bank(35000, { enrollmentId: e.id }));
  view = await getEnrollment(ctx, e.id);
  t.equal(view.status, 'awaiting_confirmation', 'paying the rest completes the binder');
  t.equal(view.coverageStart, '2027-02-01');
  invoices = await invoicesOfEnrollment(ctx, e.id);
  t.same(liveMonths(invoices), ['2027-02-01']);
  t.same(await moneyViolations(ctx, [e.memberId]), [], 'money conserved after paying');
  await ok(await cancelEnrollment(ctx, e.id, { reason: 'changed plans' }), 200, 'cancellation');
  view = await getEnrollment(ctx, e.id);
  t.equal(view.status, 'cancelled');
  t.equal(view.creditCents, 45000, 'every cent still held (10,000 + 35,000) is credit for ops to refund');
  t.same(await moneyViolations(ctx, [e.memberId]), [], 'money conserved after cancelling');
  await sweep(ctx);
});

t.test('returned even later: run-issued months before the new start are voided too', async (t) => {
  const { e, binderPayment } = await binderPaid();
  await runAt('2027-01-05T10:00:00-05:00', '2027-02-01', 'February run');
  await ok(await billingRun(ctx, '2027-03-01'), 201, 'March run');
  await payOk(ctx, bank(20000, { enrollmentId: e.id })); // pays February in part

  await setClock(ctx, '2027-01-26T10:00:00-05:00'); // after January's and February's due dates
  await returned(t, binderPayment.id, 'R10');
  const view = await getEnrollment(ctx, e.id);
  t.equal(view.status, 'pending_payment');
  t.equal(view.coverageStart, '2027-03-01', 'moved past both missed due dates');
  const invoices = await invoicesOfEnrollment(ctx, e.id);
  t.same(liveMonths(invoices), ['2027-03-01'], 'only the binder is live, in March');
  const binder = invoices.find((i) => i.id === e.binderInvoiceId);
  t.equal(binder?.amountPaidCents, 20000, 'the money paid on February pays the binder');
  t.same(
    invoices
      .filter((i) => !i.binder)
      .map((i) => [i.coverageMonth, i.status])
      .sort(),
    [
      ['2027-02-01', 'void'],
      ['2027-03-01', 'void'],
    ],
  );
  t.equal(view.creditCents, 0);
  t.same(await moneyViolations(ctx, [e.memberId]), [], 'money conserved');
  t.equal((await sweep(ctx)).enrollmentsFailed, 0);
});

t.test('returned before the due date, the sweep moves it later and voids the month it moves into', async (t) => {
  const { e, binderPayment } = await binderPaid();
  await runAt('2026-12-10T10:00:00-05:00', '2027-02-01', 'February run');
  await setClock(ctx, '2026-12-15T10:00:00-05:00');
  await returned(t, binderPayment.id, 'R01');
  let invoices = await invoicesOfEnrollment(ctx, e.id);
  t.same(liveMonths(invoices), ['2027-01-01', '2027-02-01'], 'January (binder) and February still stand');

  await setClock(ctx, '2026-12-28T10:00:00-05:00');
  invoices = await invoicesOfEnrollment(ctx, e.id);
  t.same(liveMonths(invoices), ['2027-02-01'], 'reads project the move before the sweep records it (R10, I1)');
  t.equal((await sweep(ctx)).enrollmentsFailed, 0);
  const view = await getEnrollment(ctx, e.id);
  t.equal(view.coverageStart, '2027-02-01');
  invoices = await invoicesOfEnrollment(ctx, e.id);
  t.same(liveMonths(invoices), ['2027-02-01'], 'one live February invoice: the binder');
  t.equal(invoices.find((i) => i.id === e.binderInvoiceId)?.coverageMonth, '2027-02-01');
  t.same(await moneyViolations(ctx, [e.memberId]), [], 'money conserved');
  await payOk(ctx, bank(45000, { enrollmentId: e.id }));
  t.equal((await getEnrollment(ctx, e.id)).status, 'awaiting_confirmation');
});

t.test('returned before the due date, a late payment arriving before the sweep records the move itself', async (t) => {
  const { e, binderPayment } = await binderPaid();
  await runAt('2026-12-10T10:00:00-05:00', '2027-02-01', 'February run');
  await setClock(ctx, '2026-12-15T10:00:00-05:00');
  await returned(t, binderPayment.id, 'R01');
  await setClock(ctx, '2026-12-28T10:00:00-05:00');
  await payOk(ctx, bank(45000, { enrollmentId: e.id })); // no sweep in between
  const view = await getEnrollment(ctx, e.id);
  t.equal(view.status, 'awaiting_confirmation');
  t.equal(view.coverageStart, '2027-02-01');
  t.same(liveMonths(await invoicesOfEnrollment(ctx, e.id)), ['2027-02-01']);
  t.same(await moneyViolations(ctx, [e.memberId]), [], 'money conserved');
});

t.test('sibling (I3): a payment naming an invoice pays it, and its overpayment pays what else is open', async (t) => {
  const { e } = await binderPaid();
  await runAt('2027-01-05T10:00:00-05:00', '2027-02-01', 'February run');
  await ok(await billingRun(ctx, '2027-03-01'), 201, 'March run');
  const feb = (await invoicesOfEnrollment(ctx, e.id)).find((i) => i.coverageMonth === '2027-02-01');
  const p = await payOk(ctx, bank(60000, { invoiceNumber: feb?.invoiceNumber }));
  t.equal(p.creditedCents, 15000, 'the overpayment is credit');
  const invoices = await invoicesOfEnrollment(ctx, e.id);
  t.equal(invoices.find((i) => i.coverageMonth === '2027-02-01')?.balanceCents, 0);
  t.equal(invoices.find((i) => i.coverageMonth === '2027-03-01')?.amountPaidCents, 15000, 'and pays March at once');
  t.equal((await getEnrollment(ctx, e.id)).creditCents, 0, 'no credit beside a balance');
  t.same(await moneyViolations(ctx, [e.memberId]), [], 'money conserved');
  // Returning it takes the credit back from March, where it went.
  await returned(t, p.id, 'R01');
  const after = await invoicesOfEnrollment(ctx, e.id);
  t.same(
    after.filter((i) => !i.binder).map((i) => [i.coverageMonth, i.amountPaidCents]),
    [
      ['2027-02-01', 0],
      ['2027-03-01', 0],
    ],
  );
  t.same(await moneyViolations(ctx, [e.memberId]), [], 'money conserved after the return');
});

t.test('sibling (I1): a late payment naming the regular invoice the binder moves into pays the binder', async (t) => {
  const { e, binderPayment } = await binderPaid();
  await runAt('2026-12-10T10:00:00-05:00', '2027-02-01', 'February run');
  const feb = (await invoicesOfEnrollment(ctx, e.id)).find((i) => i.coverageMonth === '2027-02-01' && !i.binder);
  await setClock(ctx, '2026-12-15T10:00:00-05:00');
  await returned(t, binderPayment.id, 'R01');
  await setClock(ctx, '2026-12-28T10:00:00-05:00');
  await payOk(ctx, bank(45000, { invoiceNumber: feb?.invoiceNumber }));
  const view = await getEnrollment(ctx, e.id);
  t.equal(view.status, 'awaiting_confirmation', 'the money reached the binder through credit');
  t.equal(view.creditCents, 0);
  t.same(liveMonths(await invoicesOfEnrollment(ctx, e.id)), ['2027-02-01']);
  t.same(await moneyViolations(ctx, [e.memberId]), [], 'money conserved');
});
