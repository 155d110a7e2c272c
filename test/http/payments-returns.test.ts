import t from 'tap';
import { testApp } from '../helpers/app.js';
import {
  billingRunOk,
  binderOf,
  confirmInDb,
  eventsOf,
  getEnrollment,
  getInvoice,
  invoicesOfEnrollment,
} from '../helpers/billing.js';
import { type EnrollmentJson, newCarrier, newEnrollment, newMemberId, setClock } from '../helpers/factories.js';
import {
  bankAccount,
  card,
  check,
  eventsOfPayment,
  getPayment,
  moneyOrder,
  type PaymentJson,
  payOk,
  returnPayment,
  unappliedQueue,
} from '../helpers/payments.js';
import { expectProblem } from '../helpers/responses.js';

// R25: returned payments (ACH returns and bounced checks) through POST /v1/payments/{id}/returns.
const ctx = await testApp(t);
const connector = await ctx.newKey('connector');
const carrier = await newCarrier(ctx, { name: 'Harbor Health Plan' });

const iso = (s: string | null) => (s ? new Date(s).toISOString() : null);
const statusChanges = (e: EnrollmentJson) => e.history.filter((h) => h.type === 'status_changed');

async function enrollment() {
  await setClock(ctx, '2026-12-01T10:00:00-05:00');
  return newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
}

const bankPayment = (amountCents: number, enrollmentId: string, method = 'checking') => ({
  channel: 'online',
  method,
  amountCents,
  enrollmentId,
  ...bankAccount(),
});

async function returned(paymentId: string, reasonCode: string, key = connector.secret): Promise<PaymentJson> {
  const res = await returnPayment(ctx, paymentId, { reasonCode }, { key });
  if (res.statusCode !== 201 && res.statusCode !== 200) {
    throw new Error(`return failed: ${res.statusCode} ${res.body}`);
  }
  return res.json() as PaymentJson;
}

t.test(
  'R25: an ACH return reverses the payment and puts an unconfirmed enrollment back to pending_payment',
  async (t) => {
    const e = await enrollment();
    await setClock(ctx, '2026-12-05T10:00:00-05:00');
    const p = await payOk(ctx, bankPayment(45000, e.id), { key: connector.secret });
    t.equal((await getEnrollment(ctx, e.id)).status, 'awaiting_confirmation');

    await setClock(ctx, '2026-12-09T10:00:00-05:00');
    const res = await returnPayment(ctx, p.id, { reasonCode: 'R01' }, { key: connector.secret });
    t.ok([200, 201].includes(res.statusCode), `return accepted (${res.statusCode} ${res.body})`);
    const r = res.json() as PaymentJson;
    t.equal(r.id, p.id);
    t.equal(r.status, 'returned');
    t.equal(r.returnReasonCode, 'R01');
    t.equal(iso(r.returnedAt), '2026-12-09T15:00:00.000Z', 'returnedAt defaults to the service clock');
    t.ok(r.applications.length > 0 && r.applications.every((a) => a.reversedAt), 'every application is reversed');
    t.equal((await getPayment(ctx, p.id)).status, 'returned');

    const invoice = await binderOf(ctx, e);
    t.equal(invoice.amountPaidCents, 0);
    t.equal(invoice.balanceCents, 45000);
    t.equal(invoice.status, 'open');
    const after = await getEnrollment(ctx, e.id);
    t.equal(after.status, 'pending_payment');
    t.equal(after.paidInFullAt, null);
    t.equal(after.confirmationExpectedBy, null);
    t.equal(after.idCardExpectedBy, null);
    t.strictSame(after.flags, [], 'not flagged: the carrier had not confirmed');
    const change = statusChanges(after).at(-1);
    t.match(change, { from: 'awaiting_confirmation', to: 'pending_payment', actor: connector.id });
    t.ok(change?.reason, 'with a reason');
    const events = await eventsOfPayment(ctx, p.id, 'payment.returned');
    t.equal(events.length, 1, 'a payment.returned event');
    t.equal(events[0]?.enrollment_id, e.id);

    // the member can still pay and complete it
    const again = await payOk(ctx, bankPayment(45000, e.id, 'savings'));
    const completed = await getEnrollment(ctx, e.id);
    t.equal(completed.status, 'awaiting_confirmation');
    t.equal(iso(completed.paidInFullAt), iso(again.receivedAt));
    t.equal(completed.confirmationExpectedBy, '2026-12-16');
  },
);

t.test('R25: returning one of two payments leaves the binder partially paid and the enrollment pending', async (t) => {
  const e = await enrollment();
  await setClock(ctx, '2026-12-05T10:00:00-05:00');
  const first = await payOk(ctx, bankPayment(20000, e.id));
  const second = await payOk(ctx, bankPayment(25000, e.id, 'savings'));
  t.equal((await getEnrollment(ctx, e.id)).status, 'awaiting_confirmation');
  await returned(second.id, 'R02');
  const invoice = await binderOf(ctx, e);
  t.equal(invoice.status, 'partially_paid');
  t.equal(invoice.amountPaidCents, 20000);
  t.equal(invoice.balanceCents, 25000);
  t.equal((await getEnrollment(ctx, e.id)).status, 'pending_payment');
  t.equal((await getPayment(ctx, first.id)).status, 'received', 'the other payment stands');

  // a return while the binder was never complete changes amounts only
  await returned(first.id, 'R03');
  const none = await binderOf(ctx, e);
  t.equal(none.status, 'open');
  t.equal(none.amountPaidCents, 0);
  const still = await getEnrollment(ctx, e.id);
  t.equal(still.status, 'pending_payment');
  t.equal(
    statusChanges(still).filter((h) => h.to === 'pending_payment').length,
    2,
    'checkout and the first return only',
  );
});

t.test('R25: after the carrier confirmed, a return flags the enrollment for ops and tells the carrier', async (t) => {
  const e = await enrollment();
  await setClock(ctx, '2026-12-05T10:00:00-05:00');
  const p = await payOk(ctx, bankPayment(45000, e.id));
  await confirmInDb(ctx, e.id, '2026-12-08T12:00:00-05:00');
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  await returned(p.id, 'R01');

  const after = await getEnrollment(ctx, e.id);
  t.equal(after.status, 'confirmed', 'a confirmed enrollment stays confirmed');
  t.strictSame(after.flags, ['payment_returned']);
  const invoice = await binderOf(ctx, e);
  t.equal(invoice.status, 'open', 'the money is gone from the invoice');
  t.equal(invoice.balanceCents, 45000);

  const flagged = await ctx.request({ method: 'GET', url: '/v1/ops/flagged-enrollments' });
  t.equal(flagged.statusCode, 200);
  const list = (flagged.json() as { data: EnrollmentJson[] }).data;
  const listed = list.find((x) => x.id === e.id);
  t.ok(listed, 'listed for ops');
  t.strictSame(listed?.flags, ['payment_returned']);
  t.ok(
    list.every((x) => x.flags.includes('payment_returned')),
    'only flagged enrollments are listed',
  );
  const asConnector = await ctx.request({ method: 'GET', url: '/v1/ops/flagged-enrollments', key: connector.secret });
  t.equal(asConnector.statusCode, 403, 'the flagged list is for ops');

  const events = await eventsOf(ctx, e.id, 'payment.returned');
  t.equal(events.length, 1, 'a payment.returned event for the enrollment');
  t.equal(events[0]?.carrier_id, carrier.id, "on the carrier's feed");
  t.equal(events[0]?.payment_id, p.id);
  t.match(events[0]?.data, { enrollmentId: e.id, paymentId: p.id });
});

t.test('R25: a payment can be returned once; again is 409 already_returned', async (t) => {
  const e = await enrollment();
  await setClock(ctx, '2026-12-05T10:00:00-05:00');
  await payOk(ctx, bankPayment(10000, e.id));
  const p = await payOk(ctx, bankPayment(20000, e.id));
  await returned(p.id, 'R01');
  const again = await returnPayment(ctx, p.id, { reasonCode: 'R01' });
  expectProblem(t, again, 409, 'already_returned', 'same code');
  const otherCode = await returnPayment(ctx, p.id, { reasonCode: 'R02' });
  expectProblem(t, otherCode, 409, 'already_returned', 'other code');
  const invoice = await binderOf(ctx, e);
  t.equal(invoice.amountPaidCents, 10000, 'reversed once only');
  t.equal((await getPayment(ctx, p.id)).returnReasonCode, 'R01', 'the first return stands');
});

t.test('R25: CHECK_RETURNED returns a mailed check or money order', async (t) => {
  const e = await enrollment();
  const binder = await binderOf(ctx, e);
  await setClock(ctx, '2026-12-05T10:00:00-05:00');
  const viaCheck = await payOk(ctx, {
    channel: 'mail',
    method: 'check',
    amountCents: 45000,
    slip: { invoiceNumber: binder.invoiceNumber },
    ...check(),
  });
  t.equal((await getEnrollment(ctx, e.id)).status, 'awaiting_confirmation');
  const r = await returned(viaCheck.id, 'CHECK_RETURNED');
  t.equal(r.status, 'returned');
  t.equal(r.returnReasonCode, 'CHECK_RETURNED');
  t.equal((await binderOf(ctx, e)).status, 'open');
  t.equal((await getEnrollment(ctx, e.id)).status, 'pending_payment');

  const viaMoneyOrder = await payOk(ctx, {
    channel: 'mail',
    method: 'money_order',
    amountCents: 1000,
    slip: { invoiceNumber: binder.invoiceNumber },
    ...moneyOrder(),
  });
  const mo = await returned(viaMoneyOrder.id, 'CHECK_RETURNED');
  t.equal(mo.status, 'returned');
  t.equal((await binderOf(ctx, e)).amountPaidCents, 0);
});

t.test('R25: a reason code that does not fit the method is 422 invalid_reason_code and changes nothing', async (t) => {
  const e = await enrollment();
  const binder = await binderOf(ctx, e);
  await setClock(ctx, '2026-12-05T10:00:00-05:00');
  const slip = { slip: { invoiceNumber: binder.invoiceNumber } };
  const payments = {
    check: await payOk(ctx, { channel: 'mail', method: 'check', amountCents: 1000, ...slip, ...check() }),
    moneyOrder: await payOk(ctx, {
      channel: 'mail',
      method: 'money_order',
      amountCents: 1000,
      ...slip,
      ...moneyOrder(),
    }),
    checking: await payOk(ctx, bankPayment(1000, e.id)),
    savings: await payOk(ctx, bankPayment(1000, e.id, 'savings')),
    card: await payOk(ctx, {
      channel: 'online',
      method: 'credit_card',
      amountCents: 1000,
      enrollmentId: e.id,
      ...card(),
    }),
  };
  const cases: [keyof typeof payments, string][] = [
    ['check', 'R01'],
    ['check', 'R20'],
    ['moneyOrder', 'R01'],
    ['checking', 'CHECK_RETURNED'],
    ['savings', 'CHECK_RETURNED'],
    // a card payment has no ACH return and does not bounce: disputes go through the processor
    ['card', 'R01'],
    ['card', 'CHECK_RETURNED'],
  ];
  for (const [which, reasonCode] of cases) {
    const res = await returnPayment(ctx, payments[which].id, { reasonCode });
    expectProblem(t, res, 422, 'invalid_reason_code', `${reasonCode} on ${which}`);
    t.equal((await getPayment(ctx, payments[which].id)).status, 'received', `${which} still received`);
  }
  t.equal((await binderOf(ctx, e)).amountPaidCents, 5000, 'nothing reversed');
});

t.test('R25: malformed return bodies are 400 (R00, R100, X01, ...)', async (t) => {
  const e = await enrollment();
  await setClock(ctx, '2026-12-05T10:00:00-05:00');
  const p = await payOk(ctx, bankPayment(1000, e.id));
  const bodies: [string, Record<string, unknown>][] = [
    ['R00', { reasonCode: 'R00' }],
    ['R100', { reasonCode: 'R100' }],
    ['X01', { reasonCode: 'X01' }],
    ['R1', { reasonCode: 'R1' }],
    ['lower case r01', { reasonCode: 'r01' }],
    ['empty', { reasonCode: '' }],
    ['number', { reasonCode: 1 }],
    ['missing', {}],
    ['unknown field', { reasonCode: 'R01', note: 'NSF' }],
    ['returnedAt not an instant', { reasonCode: 'R01', returnedAt: 'yesterday' }],
  ];
  for (const [label, body] of bodies) {
    const res = await returnPayment(ctx, p.id, body);
    expectProblem(t, res, 400, 'validation_failed', label);
  }
  t.equal((await getPayment(ctx, p.id)).status, 'received');
  for (const code of ['R01', 'R10', 'R99']) {
    const q = await payOk(ctx, bankPayment(100, e.id));
    const r = await returned(q.id, code);
    t.equal(r.returnReasonCode, code, `${code} is an ACH return code`);
  }
});

t.test('R25: returns need an Idempotency-Key, and a replayed return is not a second return', async (t) => {
  const e = await enrollment();
  await setClock(ctx, '2026-12-05T10:00:00-05:00');
  const p = await payOk(ctx, bankPayment(45000, e.id));
  const missing = await returnPayment(ctx, p.id, { reasonCode: 'R01' }, { idempotencyKey: null });
  expectProblem(t, missing, 400, 'idempotency_key_required', 'no key');
  t.equal((await getPayment(ctx, p.id)).status, 'received', 'not returned');

  const first = await returnPayment(ctx, p.id, { reasonCode: 'R01' }, { idempotencyKey: 'return-1' });
  t.ok([200, 201].includes(first.statusCode), first.body);
  const replay = await returnPayment(ctx, p.id, { reasonCode: 'R01' }, { idempotencyKey: 'return-1' });
  t.equal(replay.statusCode, first.statusCode, 'the original status');
  t.equal(replay.headers['idempotent-replayed'], 'true');
  t.strictSame(replay.json(), first.json(), 'the original body');
  const reused = await returnPayment(ctx, p.id, { reasonCode: 'R02' }, { idempotencyKey: 'return-1' });
  expectProblem(t, reused, 422, 'idempotency_key_reused', 'same key, other code');
  t.equal((await binderOf(ctx, e)).amountPaidCents, 0);
  t.equal((await eventsOfPayment(ctx, p.id, 'payment.returned')).length, 1, 'one return event');
});

t.test('R25: a returned overpayment takes its credit back', async (t) => {
  const e = await enrollment();
  await setClock(ctx, '2026-12-05T10:00:00-05:00');
  const p = await payOk(ctx, bankPayment(50000, e.id));
  t.equal(p.creditedCents, 5000);
  t.equal((await getEnrollment(ctx, e.id)).creditCents, 5000);
  await returned(p.id, 'R01');
  const after = await getEnrollment(ctx, e.id);
  t.equal(after.creditCents, 0, 'the credit went back with the money');
  t.equal(after.status, 'pending_payment');
  t.equal((await binderOf(ctx, e)).amountPaidCents, 0);
});

t.test(
  'R25: a returned overpayment whose credit already paid a later invoice takes it back from that invoice',
  async (t) => {
    const e = await enrollment();
    await setClock(ctx, '2026-12-05T10:00:00-05:00');
    const p = await payOk(ctx, bankPayment(90000, e.id));
    t.equal(p.creditedCents, 45000);
    await billingRunOk(ctx, '2027-02-01');
    const feb = (await invoicesOfEnrollment(ctx, e.id)).find((i) => i.coverageMonth === '2027-02-01');
    if (!feb) throw new Error('no February invoice');
    t.equal(feb.amountPaidCents, 45000, 'February was paid from the credit');
    t.equal((await getEnrollment(ctx, e.id)).creditCents, 0);
    await returned(p.id, 'R01');
    const febAfter = await getInvoice(ctx, feb.id);
    t.equal(febAfter.amountPaidCents, 0, 'the credit is taken back from February');
    t.equal(febAfter.status, 'open');
    t.equal((await binderOf(ctx, e)).amountPaidCents, 0);
    t.equal((await getEnrollment(ctx, e.id)).creditCents, 0, 'no credit is left behind');
  },
);

t.test('R25: a bounced unapplied check leaves the ops unapplied queue', async (t) => {
  await setClock(ctx, '2026-12-05T10:00:00-05:00');
  const p = await payOk(ctx, {
    channel: 'mail',
    method: 'check',
    amountCents: 7000,
    remittance: { memberId: newMemberId(), firstName: 'Nobody', lastName: 'Known', carrierName: 'Harbor Health Plan' },
    ...check(),
  });
  t.equal(p.status, 'unapplied');
  t.ok((await unappliedQueue(ctx)).some((q) => q.id === p.id));
  const r = await returned(p.id, 'CHECK_RETURNED');
  t.equal(r.status, 'returned');
  t.notOk(
    (await unappliedQueue(ctx)).some((q) => q.id === p.id),
    'no longer waiting for ops',
  );
});

t.test(
  'R25: returnedAt may be sent but not in the future; unknown payments are 404; carriers may not return',
  async (t) => {
    const e = await enrollment();
    await setClock(ctx, '2026-12-08T10:00:00-05:00');
    const p = await payOk(ctx, bankPayment(1000, e.id));
    const future = await returnPayment(ctx, p.id, { reasonCode: 'R01', returnedAt: '2026-12-08T10:10:00-05:00' });
    expectProblem(t, future, 422, 'timestamp_in_future', 'returnedAt ahead of the clock');
    const carrierKey = await ctx.newKey('carrier', carrier.id);
    const asCarrier = await returnPayment(ctx, p.id, { reasonCode: 'R01' }, { key: carrierKey.secret });
    t.equal(asCarrier.statusCode, 403);
    t.equal((await getPayment(ctx, p.id)).status, 'received');
    // the bank's return date, days later and never before the money arrived (SPEC business timestamps)
    await setClock(ctx, '2026-12-10T10:00:00-05:00');
    const r = await returnPayment(ctx, p.id, { reasonCode: 'R01', returnedAt: '2026-12-09T16:00:00-05:00' });
    t.ok([200, 201].includes(r.statusCode), r.body);
    t.equal(iso((r.json() as PaymentJson).returnedAt), '2026-12-09T21:00:00.000Z', 'the bank date is kept');
    const unknown = await returnPayment(ctx, 'pay_doesnotexist', { reasonCode: 'R01' });
    t.equal(unknown.statusCode, 404);
  },
);

t.test('R25/R10: a binder payment returned after the due date leaves the member facing the next start', async (t) => {
  await setClock(ctx, '2026-11-29T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrier.id });
  t.equal(e.coverageStart, '2027-01-01');
  await setClock(ctx, '2026-12-18T10:00:00-05:00');
  const p = await payOk(ctx, bankPayment(45000, e.id));
  await setClock(ctx, '2026-12-28T10:00:00-05:00');
  t.equal((await getEnrollment(ctx, e.id)).coverageStart, '2027-01-01', 'paid in time, January holds');
  await returned(p.id, 'R01');
  const after = await getEnrollment(ctx, e.id);
  t.equal(after.status, 'pending_payment');
  t.equal(after.coverageStart, '2027-02-01', 'the January due date has passed unpaid');
  t.equal(after.paymentDueDate, '2027-01-23');
  const binder = await binderOf(ctx, e);
  t.equal(binder.coverageMonth, '2027-02-01');
  t.equal(binder.dueDate, '2027-01-23');
  t.equal(binder.status, 'open');
});

t.test(
  'R25 with I3: after a return, credit a billing run had spent on a later month goes back to the reopened binder (oldest first)',
  async (t) => {
    // Issue-16 black-box run (second round, M3): premium 50,000; two payments of 30,000 (binder paid,
    // 10,000 credit); the October run spends the credit on October; the first payment is returned.
    // Before: binder 20,000/50,000 and October kept 10,000, so the member was asked for 30,000 when
    // 20,000 completes the enrollment (and paying 20,000 left the binder short past its due date).
    await setClock(ctx, '2027-08-03T10:00:00-04:00');
    const e = await newEnrollment(ctx, {
      carrierId: carrier.id,
      coverageStart: '2027-09-01',
      monthlyPremiumCents: 50000,
    });
    const a = await payOk(ctx, bankPayment(30000, e.id));
    await payOk(ctx, bankPayment(30000, e.id));
    t.equal((await getEnrollment(ctx, e.id)).creditCents, 10000);
    await billingRunOk(ctx, '2027-10-01');
    const october = (await invoicesOfEnrollment(ctx, e.id)).find((i) => i.coverageMonth === '2027-10-01');
    t.equal(october?.amountPaidCents, 10000, 'the run spent the credit on October');
    await returned(a.id, 'R01');
    const binder = await binderOf(ctx, e);
    const after = (await invoicesOfEnrollment(ctx, e.id)).find((i) => i.coverageMonth === '2027-10-01');
    t.equal(binder.amountPaidCents, 30000, 'the binder holds the money still held');
    t.equal(after?.amountPaidCents, 0, 'October gave its credit back to the binder');
    const now = await getEnrollment(ctx, e.id);
    t.equal(now.status, 'pending_payment');
    t.equal(now.creditCents, 0);
    // The 20,000 really missing completes it.
    await payOk(ctx, bankPayment(20000, e.id));
    t.equal((await getEnrollment(ctx, e.id)).status, 'awaiting_confirmation', '20,000 completes the binder');
  },
);

t.test(
  'R25 then R10: a start moved forward by a return and back by an in-time check reissues the month between',
  async (t) => {
    // Issue-16 black-box run (third round, M1): after the start moved back, November had only its void
    // invoice: no bill, yet delinquency counted it as owed.
    await setClock(ctx, '2028-09-15T10:00:00-04:00');
    const e = await newEnrollment(ctx, {
      carrierId: carrier.id,
      coverageStart: '2028-10-01',
      monthlyPremiumCents: 10000,
    });
    const p = await payOk(ctx, bankPayment(15000, e.id));
    await billingRunOk(ctx, '2028-11-01');
    const novemberOf = async () =>
      (await invoicesOfEnrollment(ctx, e.id)).filter((i) => i.coverageMonth === '2028-11-01' && i.status !== 'void');
    t.equal((await novemberOf())[0]?.amountPaidCents, 5000, 'the run spent the 5,000 credit on November');
    await setClock(ctx, '2028-09-29T10:00:00-04:00');
    await returned(p.id, 'R01');
    t.equal((await getEnrollment(ctx, e.id)).coverageStart, '2028-11-01', 'the return moved the start (R25)');
    // A check the lockbox received on 09-22, in time for October, posted now.
    const binder = await binderOf(ctx, e);
    await payOk(ctx, {
      channel: 'mail',
      method: 'check',
      amountCents: 10000,
      slip: { invoiceNumber: binder.invoiceNumber },
      receivedAt: '2028-09-22T12:00:00-04:00',
      ...check(),
    });
    const after = await getEnrollment(ctx, e.id);
    t.equal(after.coverageStart, '2028-10-01', 'the in-time check moved the start back (R10)');
    t.equal(after.status, 'awaiting_confirmation');
    const november = await novemberOf();
    t.equal(november.length, 1, 'November has a live invoice again (I1)');
    t.equal(november[0]?.amountDueCents, 10000, 'for the month billed');
    t.equal(november[0]?.amountPaidCents, 0, 'nothing paid on it yet: the returned money is gone');
    const events = await eventsOf(ctx, e.id);
    t.ok(
      events.some((ev) => ev.type === 'invoice.issued' && ev.invoice_id === november[0]?.id),
      'and its invoice.issued event is on the feed',
    );
  },
);
