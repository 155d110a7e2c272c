import t from 'tap';
import { testApp } from '../helpers/app.js';
import { binderOf, eventsOf, getEnrollment, getInvoice } from '../helpers/billing.js';
import { type EnrollmentJson, newCarrier, newEnrollment, setClock } from '../helpers/factories.js';
import { bankAccount, check, eventsOfPayment, paymentsOf, payOk } from '../helpers/payments.js';

// R9-R11 and the R2 time-zone edge, driven by payments through the HTTP API: partial payments,
// the payment that completes the binder, late and on-time completion, history and events.
const ctx = await testApp(t);
const connector = await ctx.newKey('connector');
const carrier = await newCarrier(ctx, { name: 'Harbor Health Plan' });

const iso = (s: string | null) => (s ? new Date(s).toISOString() : null);
const statusChanges = (e: EnrollmentJson) => e.history.filter((h) => h.type === 'status_changed');
const moves = (e: EnrollmentJson) => e.history.filter((h) => h.type === 'coverage_start_moved');

/** An enrollment checked out on 2026-11-29 (real "today"): coverage 2027-01-01, due 2026-12-23. */
async function januaryEnrollment(premium = 45000) {
  await setClock(ctx, '2026-11-29T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrier.id, monthlyPremiumCents: premium });
  if (e.coverageStart !== '2027-01-01' || e.paymentDueDate !== '2026-12-23') {
    throw new Error(`unexpected checkout: ${e.coverageStart} due ${e.paymentDueDate}`);
  }
  return e;
}

const online = (amountCents: number, enrollmentId: string, extra: Record<string, unknown> = {}) => ({
  channel: 'online',
  method: 'checking',
  amountCents,
  enrollmentId,
  ...bankAccount(),
  ...extra,
});

/** A mailed check paying this invoice by its slip. */
const mailed = (amountCents: number, invoiceNumber: string, extra: Record<string, unknown> = {}) => ({
  channel: 'mail',
  method: 'check',
  amountCents,
  ...extra,
  slip: { invoiceNumber },
  ...check(),
});

t.test('R9: partial payments are kept and counted; the enrollment stays pending_payment', async (t) => {
  const e = await januaryEnrollment();
  await setClock(ctx, '2026-12-05T10:00:00-05:00');
  const first = await payOk(ctx, online(20000, e.id), { key: connector.secret });
  let invoice = await binderOf(ctx, e);
  t.equal(invoice.status, 'partially_paid');
  t.equal(invoice.amountPaidCents, 20000);
  t.equal(invoice.balanceCents, 25000);
  let enrollment = await getEnrollment(ctx, e.id);
  t.equal(enrollment.status, 'pending_payment');
  t.equal(enrollment.paidInFullAt, null);
  t.equal(enrollment.confirmationExpectedBy, null);

  await setClock(ctx, '2026-12-08T10:00:00-05:00');
  const second = await payOk(ctx, mailed(10000, invoice.invoiceNumber), { key: connector.secret });
  invoice = await binderOf(ctx, e);
  t.equal(invoice.amountPaidCents, 30000, 'both partial payments count');
  t.equal(invoice.status, 'partially_paid');
  enrollment = await getEnrollment(ctx, e.id);
  t.equal(enrollment.status, 'pending_payment', 'still not paid in full');
  t.strictSame(
    (await paymentsOf(ctx, e.memberId)).map((p) => [p.id, p.status, p.amountCents]),
    [
      [first.id, 'received', 20000],
      [second.id, 'received', 10000],
    ],
    'both payments are kept',
  );
  t.equal((await eventsOf(ctx, e.id, 'payment.received')).length, 2, 'a payment.received event each');
  t.equal((await eventsOf(ctx, e.id, 'enrollment.awaiting_confirmation')).length, 0, 'not complete yet');
});

t.test('R11: the payment that completes the binder moves the enrollment to awaiting_confirmation', async (t) => {
  const e = await januaryEnrollment();
  await setClock(ctx, '2026-12-05T10:00:00-05:00');
  await payOk(ctx, online(20000, e.id), { key: connector.secret });
  // Saturday 2026-12-12: 5 business days after is Friday 2026-12-18 (R4), ID card 14 days after
  await setClock(ctx, '2026-12-12T11:30:00-05:00');
  const completing = await payOk(ctx, online(25000, e.id), { key: connector.secret });
  const invoice = await binderOf(ctx, e);
  t.equal(invoice.status, 'paid');
  t.equal(invoice.balanceCents, 0);
  const enrollment = await getEnrollment(ctx, e.id);
  t.equal(enrollment.status, 'awaiting_confirmation');
  t.equal(iso(enrollment.paidInFullAt), iso(completing.receivedAt), 'paidInFullAt is the completing receivedAt');
  t.equal(iso(enrollment.paidInFullAt), '2026-12-12T16:30:00.000Z');
  t.equal(enrollment.confirmationExpectedBy, '2026-12-18');
  t.equal(enrollment.idCardExpectedBy, '2026-12-26');
  t.equal(enrollment.coverageStart, '2027-01-01');
  t.equal(enrollment.confirmationOverdue, false);

  const change = statusChanges(enrollment).at(-1);
  t.match(change, {
    type: 'status_changed',
    from: 'pending_payment',
    to: 'awaiting_confirmation',
    actor: connector.id,
  });
  t.ok(change?.reason, 'the change has a reason');

  const received = await eventsOfPayment(ctx, completing.id, 'payment.received');
  t.equal(received.length, 1, 'payment.received event');
  t.equal(received[0]?.enrollment_id, e.id);
  const awaiting = await eventsOf(ctx, e.id, 'enrollment.awaiting_confirmation');
  t.equal(awaiting.length, 1, 'one enrollment.awaiting_confirmation event');
  t.equal(awaiting[0]?.carrier_id, carrier.id, 'addressed to the carrier');
  t.match(awaiting[0]?.data, { enrollmentId: e.id });
});

t.test('R11: confirmationExpectedBy skips holidays (paid Monday 2026-12-21 -> Tuesday 2026-12-29)', async (t) => {
  const e = await januaryEnrollment();
  await setClock(ctx, '2026-12-21T09:00:00-05:00');
  const p = await payOk(ctx, online(45000, e.id), { key: connector.secret });
  const enrollment = await getEnrollment(ctx, e.id);
  t.equal(enrollment.status, 'awaiting_confirmation');
  t.equal(iso(enrollment.paidInFullAt), iso(p.receivedAt));
  t.equal(enrollment.confirmationExpectedBy, '2026-12-29', 'Dec 22, 23, 24, 28, 29 (Christmas is a holiday)');
  t.equal(enrollment.idCardExpectedBy, '2027-01-04');
});

t.test('R11: an overpaying completion keeps the rest as credit and completes the binder once', async (t) => {
  const e = await januaryEnrollment();
  await setClock(ctx, '2026-12-09T09:00:00-05:00');
  const p = await payOk(ctx, online(50000, e.id), { key: connector.secret });
  t.equal(p.creditedCents, 5000);
  const enrollment = await getEnrollment(ctx, e.id);
  t.equal(enrollment.status, 'awaiting_confirmation');
  t.equal(enrollment.creditCents, 5000);
  t.equal(enrollment.confirmationExpectedBy, '2026-12-16');
  // a later payment does not complete it again
  await setClock(ctx, '2026-12-14T09:00:00-05:00');
  await payOk(ctx, online(1000, e.id), { key: connector.secret });
  const later = await getEnrollment(ctx, e.id);
  t.equal(iso(later.paidInFullAt), iso(p.receivedAt), 'paidInFullAt unchanged');
  t.equal(later.confirmationExpectedBy, '2026-12-16', 'confirmationExpectedBy unchanged');
  t.equal(statusChanges(later).filter((h) => h.to === 'awaiting_confirmation').length, 1);
  t.equal((await eventsOf(ctx, e.id, 'enrollment.awaiting_confirmation')).length, 1);
});

t.test('R2: paid at 23:59 Boston time on the due date is in time (coverage stays 2027-01-01)', async (t) => {
  const e = await januaryEnrollment();
  await setClock(ctx, '2026-12-24T00:05:00-05:00');
  const p = await payOk(
    ctx,
    mailed(45000, (await binderOf(ctx, e)).invoiceNumber, { receivedAt: '2026-12-23T23:59:00-05:00' }),
    { key: connector.secret },
  );
  t.equal(iso(p.receivedAt), '2026-12-24T04:59:00.000Z', 'already Dec 24 in UTC');
  const enrollment = await getEnrollment(ctx, e.id);
  t.equal(enrollment.status, 'awaiting_confirmation');
  t.equal(enrollment.coverageStart, '2027-01-01', 'by the due date in Boston');
  t.equal(enrollment.paymentDueDate, '2026-12-23');
  t.equal(iso(enrollment.paidInFullAt), '2026-12-24T04:59:00.000Z');
  t.equal(enrollment.confirmationExpectedBy, '2026-12-31', 'Dec 24, 28, 29, 30, 31');
  t.equal(enrollment.idCardExpectedBy, '2027-01-06');
  const binder = await binderOf(ctx, e);
  t.equal(binder.coverageMonth, '2027-01-01');
  t.equal(binder.dueDate, '2026-12-23');
  const lastMove = moves(enrollment).at(-1);
  if (lastMove) t.equal(lastMove.to, '2027-01-01', 'history ends on the start in effect');
});

t.test('R2: paid at 00:01 Boston time the day after the due date starts coverage 2027-02-01', async (t) => {
  const e = await januaryEnrollment();
  await setClock(ctx, '2026-12-24T00:05:00-05:00');
  const p = await payOk(ctx, online(45000, e.id, { receivedAt: '2026-12-24T00:01:00-05:00' }), {
    key: connector.secret,
  });
  t.equal(iso(p.receivedAt), '2026-12-24T05:01:00.000Z');
  const enrollment = await getEnrollment(ctx, e.id);
  t.equal(enrollment.status, 'awaiting_confirmation');
  t.equal(enrollment.coverageStart, '2027-02-01', 'the January due date was missed');
  t.equal(enrollment.paymentDueDate, '2027-01-23');
  t.equal(enrollment.confirmationExpectedBy, '2027-01-04', 'Dec 28, 29, 30, 31, Jan 4 (New Year)');
  t.equal(enrollment.idCardExpectedBy, '2027-01-07');
  const binder = await binderOf(ctx, e);
  t.equal(binder.coverageMonth, '2027-02-01', 'the binder invoice moved with the start');
  t.equal(binder.dueDate, '2027-01-23');
  t.equal(binder.status, 'paid');
  const move = moves(enrollment).find((h) => h.from === '2027-01-01' && h.to === '2027-02-01');
  t.ok(move, 'the move is in the history');
});

t.test(
  'R10: a check received 12-22 but posted 12-28 keeps January though reads on 12-27 showed February',
  async (t) => {
    const e = await januaryEnrollment();
    const binder = await binderOf(ctx, e);
    await setClock(ctx, '2026-12-27T12:00:00-05:00');
    const stale = await getEnrollment(ctx, e.id);
    t.equal(stale.coverageStart, '2027-02-01', 'a read after the due date shows February');
    t.equal(stale.paymentDueDate, '2027-01-23');
    t.equal((await getInvoice(ctx, binder.id)).coverageMonth, '2027-02-01', 'and so does the binder');

    await setClock(ctx, '2026-12-28T10:00:00-05:00');
    const p = await payOk(ctx, mailed(45000, binder.invoiceNumber, { receivedAt: '2026-12-22T14:00:00-05:00' }), {
      key: connector.secret,
    });
    t.equal(p.status, 'received');
    const enrollment = await getEnrollment(ctx, e.id);
    t.equal(enrollment.status, 'awaiting_confirmation');
    t.equal(enrollment.coverageStart, '2027-01-01', 'the lockbox had the money by the due date');
    t.equal(enrollment.paymentDueDate, '2026-12-23');
    t.equal(iso(enrollment.paidInFullAt), iso('2026-12-22T14:00:00-05:00'));
    t.equal(enrollment.confirmationExpectedBy, '2026-12-30', '5 business days after Dec 22');
    const after = await getInvoice(ctx, binder.id);
    t.equal(after.coverageMonth, '2027-01-01');
    t.equal(after.dueDate, '2026-12-23');
    t.equal(after.status, 'paid');
    const lastMove = moves(enrollment).at(-1);
    t.ok(lastMove, 'the moves are in the history');
    t.equal(lastMove?.to, '2027-01-01', 'history ends on the start in effect');
    t.match(statusChanges(enrollment).at(-1), {
      from: 'pending_payment',
      to: 'awaiting_confirmation',
      actor: connector.id,
    });
  },
);

t.test('R9/R10: a binder finished after the due date starts a month later even if most was paid in time', async (t) => {
  const e = await januaryEnrollment();
  await setClock(ctx, '2026-12-20T10:00:00-05:00');
  await payOk(ctx, online(40000, e.id), { key: connector.secret });
  await setClock(ctx, '2026-12-26T10:00:00-05:00');
  const last = await payOk(ctx, online(5000, e.id), { key: connector.secret });
  const enrollment = await getEnrollment(ctx, e.id);
  t.equal(enrollment.status, 'awaiting_confirmation');
  t.equal(enrollment.coverageStart, '2027-02-01', 'not paid IN FULL by 2026-12-23');
  t.equal(iso(enrollment.paidInFullAt), iso(last.receivedAt));
  t.equal((await binderOf(ctx, e)).coverageMonth, '2027-02-01');
});

t.test('R10: paid weeks late, coverage starts on the first month whose due date is still ahead', async (t) => {
  const e = await januaryEnrollment();
  await setClock(ctx, '2027-02-10T10:00:00-05:00');
  await payOk(ctx, online(45000, e.id), { key: connector.secret });
  const enrollment = await getEnrollment(ctx, e.id);
  t.equal(enrollment.status, 'awaiting_confirmation');
  t.equal(enrollment.coverageStart, '2027-03-01', 'due 2027-02-23');
  t.equal(enrollment.paymentDueDate, '2027-02-23');
  const binder = await binderOf(ctx, e);
  t.equal(binder.coverageMonth, '2027-03-01');
  t.equal(binder.amountDueCents, 45000);
  t.equal(binder.status, 'paid');
});

t.test('R10: coverage never starts earlier than the start the member chose', async (t) => {
  await setClock(ctx, '2026-12-01T10:00:00-05:00');
  const march = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-03-01' });
  t.equal(march.coverageStart, '2027-03-01');
  await setClock(ctx, '2026-12-05T10:00:00-05:00');
  await payOk(ctx, online(45000, march.id), { key: connector.secret });
  const paidEarly = await getEnrollment(ctx, march.id);
  t.equal(paidEarly.status, 'awaiting_confirmation');
  t.equal(paidEarly.coverageStart, '2027-03-01', 'paying early does not pull the start forward');
  t.equal((await binderOf(ctx, march)).coverageMonth, '2027-03-01');
  t.equal(moves(paidEarly).length, 0, 'no move recorded');

  await setClock(ctx, '2026-11-29T10:00:00-05:00');
  const february = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-02-01' });
  await setClock(ctx, '2026-12-23T16:00:00-05:00');
  await payOk(ctx, online(45000, february.id), { key: connector.secret });
  const e = await getEnrollment(ctx, february.id);
  t.equal(e.coverageStart, '2027-02-01', 'paid by the January due date, but February was chosen');
});

t.test('R14: history of a completed binder lists checkout then completion, each with its actor', async (t) => {
  const other = await ctx.newKey('connector');
  const e = await januaryEnrollment();
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  await payOk(ctx, online(45000, e.id), { key: other.secret });
  const enrollment = await getEnrollment(ctx, e.id);
  const changes = statusChanges(enrollment);
  t.match(changes[0], { from: null, to: 'pending_payment' });
  t.match(changes.at(-1), { from: 'pending_payment', to: 'awaiting_confirmation', actor: other.id });
  t.equal(iso(changes.at(-1)?.at ?? null), '2026-12-10T15:00:00.000Z', 'recorded at the service clock');
  for (const h of enrollment.history)
    t.strictSame(Object.keys(h).sort(), ['actor', 'at', 'from', 'reason', 'to', 'type']);
});
