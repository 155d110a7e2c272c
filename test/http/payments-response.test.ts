import { randomUUID } from 'node:crypto';
import t from 'tap';
import { testApp } from '../helpers/app.js';
import { binderOf, getEnrollment } from '../helpers/billing.js';
import { newCarrier, newEnrollment, newMemberId, setClock } from '../helpers/factories.js';
import {
  applyUnapplied,
  bankAccount,
  card,
  check,
  eventsOfPayment,
  getPayment,
  moneyOrder,
  type PaymentJson,
  pay,
} from '../helpers/payments.js';

// The payment path builds its 201 body from what it decided, without reading the row back (one
// write per payment). These tests hold it to what is stored: the body, a replay of it and a later
// GET must be the same document, for every method and every kind of outcome.
type Compare = {
  equal(found: unknown, wanted: unknown, message: string): boolean;
  strictSame(found: unknown, wanted: unknown, message: string): boolean;
};

const ctx = await testApp(t);
const connector = await ctx.newKey('connector');
const harbor = await newCarrier(ctx, { name: 'Harbor Health Plan' });

async function postAndCompare(t: Compare, label: string, payload: Record<string, unknown>): Promise<PaymentJson> {
  const idempotencyKey = randomUUID();
  const first = await pay(ctx, payload, { key: connector.secret, idempotencyKey });
  t.equal(first.statusCode, 201, `${label}: created (${first.body})`);
  const body = first.json() as PaymentJson;
  const replay = await pay(ctx, payload, { key: connector.secret, idempotencyKey });
  t.equal(replay.headers['idempotent-replayed'], 'true', `${label}: replayed`);
  t.strictSame(replay.json(), body, `${label}: the replay is the same document`);
  t.strictSame(await getPayment(ctx, body.id), body, `${label}: GET returns what POST returned`);
  return body;
}

t.test('POST, replay and GET agree for every method and outcome', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const cases: [string, (e: { id: string; memberId: string; invoiceNumber: string }) => Record<string, unknown>][] = [
    [
      'card, binder in full',
      (e) => ({ channel: 'online', method: 'credit_card', amountCents: 45000, enrollmentId: e.id, ...card() }),
    ],
    [
      'checking, partial',
      (e) => ({
        channel: 'online',
        method: 'checking',
        amountCents: 100,
        invoiceNumber: e.invoiceNumber,
        ...bankAccount(),
      }),
    ],
    [
      'savings, overpayment to credit',
      (e) => ({ channel: 'online', method: 'savings', amountCents: 50000, enrollmentId: e.id, ...bankAccount() }),
    ],
    [
      'guest debit card',
      (e) => ({
        channel: 'online',
        method: 'debit_card',
        guest: true,
        amountCents: 45000,
        invoiceNumber: e.invoiceNumber,
        ...card({ brand: 'mastercard', last4: '4444' }),
      }),
    ],
    [
      'phone by member id',
      (e) => ({ channel: 'phone', method: 'checking', amountCents: 45000, memberId: e.memberId, ...bankAccount() }),
    ],
    [
      'mail check by slip, late receipt date',
      (e) => ({
        channel: 'mail',
        method: 'check',
        amountCents: 45000,
        receivedAt: '2026-12-09T11:00:00-05:00',
        slip: { invoiceNumber: e.invoiceNumber },
        ...check(),
      }),
    ],
    [
      'mail money order matching nothing (unapplied)',
      () => ({
        channel: 'mail',
        method: 'money_order',
        amountCents: 45000,
        remittance: { memberId: newMemberId(), firstName: 'A', lastName: 'B', carrierName: 'Harbor Health Plan' },
        ...moneyOrder(),
      }),
    ],
  ];
  for (const [label, body] of cases) {
    // selected the day before, so the mail check received then is not before the checkout (SPEC)
    const e = await newEnrollment(ctx, {
      carrierId: harbor.id,
      coverageStart: '2027-01-01',
      selectedAt: '2026-12-09T09:00:00-05:00',
    });
    const binder = await binderOf(ctx, e);
    const p = await postAndCompare(t, label, body({ ...e, invoiceNumber: binder.invoiceNumber }));
    const events = await eventsOfPayment(ctx, p.id);
    t.ok(events.length >= 1, `${label}: its events were written with it`);
  }
});

t.test('a payment that misses a deadline and completes the binder: one write, same as the stored rows', async (t) => {
  // Checked out for January, due 2026-12-23; paid on 2026-12-28 (the sweep has not run): the
  // missed deadline is recorded first, then the binder completes for February.
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
  await setClock(ctx, '2026-12-28T10:00:00-05:00');
  const p = await postAndCompare(t, 'late binder', {
    channel: 'online',
    method: 'checking',
    amountCents: 45000,
    enrollmentId: e.id,
    ...bankAccount(),
  });
  t.equal(p.applications.length, 1);
  const after = await getEnrollment(ctx, e.id);
  t.equal(after.status, 'awaiting_confirmation');
  t.equal(after.coverageStart, '2027-02-01');
  t.strictSame(
    after.history.map((h) => [h.type, h.from, h.to]),
    [
      ['status_changed', null, 'pending_payment'],
      ['coverage_start_moved', '2027-01-01', '2027-02-01'],
      ['status_changed', 'pending_payment', 'awaiting_confirmation'],
    ],
    'the missed deadline, then the completion, in order',
  );
  const binder = await binderOf(ctx, e);
  t.equal(binder.coverageMonth, '2027-02-01', 'the binder moved with the coverage');
  t.equal(binder.status, 'paid');
});

t.test('ops applying an unapplied payment answers what is stored', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
  const binder = await binderOf(ctx, e);
  const p = await postAndCompare(t, 'unapplied', {
    channel: 'mail',
    method: 'check',
    amountCents: 46000,
    remittance: { memberId: newMemberId(), firstName: 'A', lastName: 'B', carrierName: 'Harbor Health Plan' },
    ...check(),
  });
  const applied = await applyUnapplied(ctx, p.id, { enrollmentId: e.id });
  t.equal(applied.statusCode, 200, applied.body);
  const body = applied.json() as PaymentJson;
  t.strictSame(await getPayment(ctx, p.id), body, 'GET returns what the application returned');
  t.equal(body.creditedCents, 1000, 'the extra 10.00 is credit');
  t.strictSame(
    body.applications.map((a) => [a.invoiceId, a.amountCents]),
    [[binder.id, 45000]],
  );
  t.equal((await getEnrollment(ctx, e.id)).creditCents, 1000);
});
