import type { LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { testApp } from '../helpers/app.js';
import { binderOf, getEnrollment } from '../helpers/billing.js';
import { newCarrier, newEnrollment, setClock } from '../helpers/factories.js';
import {
  applyUnapplied,
  bankAccount,
  check,
  type PaymentJson,
  pay,
  paymentsOf,
  payOk,
  returnPayment,
} from '../helpers/payments.js';
import { expectProblem } from '../helpers/responses.js';

// SPEC Conventions, "Business timestamps": receivedAt, selectedAt, confirmedAt (and returnedAt)
// may not rewrite the past: 422 timestamp_out_of_range naming the field and the allowed range.
const ctx = await testApp(t);
const carrier = await newCarrier(ctx, { name: 'Harbor Health Plan' });
const iso = (s: string) => new Date(s).toISOString();

const online = (enrollmentId: string, extra: Record<string, unknown> = {}) => ({
  channel: 'online',
  method: 'checking',
  amountCents: 45000,
  enrollmentId,
  ...bankAccount(),
  ...extra,
});
const phone = (enrollmentId: string, extra: Record<string, unknown> = {}) => ({
  ...online(enrollmentId, extra),
  channel: 'phone',
});
const mail = (invoiceNumber: string, extra: Record<string, unknown> = {}) => ({
  channel: 'mail',
  method: 'check',
  amountCents: 45000,
  slip: { invoiceNumber },
  ...check(),
  ...extra,
});

function expectRange(
  t: Test,
  res: LightMyRequestResponse,
  field: string,
  earliest: string | null,
  latest: string,
  label: string,
) {
  const p = expectProblem(t, res, 422, 'timestamp_out_of_range', label);
  t.match(
    p,
    { field, earliest: earliest === null ? null : iso(earliest), latest: iso(latest) },
    `${label}: names the range`,
  );
}

t.test(
  'the issue: an online payment a month back neither moves a lapsed start back nor is overdue at once',
  async (t) => {
    await setClock(ctx, '2026-12-10T10:00:00-05:00');
    const e = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
    await setClock(ctx, '2027-01-05T10:00:00-05:00');
    t.equal((await getEnrollment(ctx, e.id)).coverageStart, '2027-02-01', 'the January start lapsed');
    const res = await pay(ctx, online(e.id, { receivedAt: '2026-12-10T10:00:00-05:00' }));
    expectRange(t, res, 'receivedAt', '2027-01-05T09:55:00-05:00', '2027-01-05T10:05:00-05:00', 'a month back');
    const after = await getEnrollment(ctx, e.id);
    t.equal(after.status, 'pending_payment', 'no payment taken');
    t.equal(after.coverageStart, '2027-02-01', 'the start was not moved back');
    t.equal(after.paidInFullAt, null);
    t.equal(after.confirmationOverdue, false);
    t.strictSame(await paymentsOf(ctx, e.memberId), []);
  },
);

t.test('online and phone receivedAt: exactly 5 minutes either side is accepted, a second more is not', async (t) => {
  for (const [name, body] of [
    ['online', online],
    ['phone', phone],
  ] as const) {
    await setClock(ctx, '2026-12-10T10:00:00-05:00');
    const e = await newEnrollment(ctx, {
      carrierId: carrier.id,
      coverageStart: '2027-01-01',
      selectedAt: '2026-12-10T09:00:00-05:00',
    });
    const early = await pay(ctx, body(e.id, { amountCents: 100, receivedAt: '2026-12-10T09:54:59-05:00' }));
    expectRange(
      t,
      early,
      'receivedAt',
      '2026-12-10T09:55:00-05:00',
      '2026-12-10T10:05:00-05:00',
      `${name} 5 min 1 s back`,
    );
    const late = await pay(ctx, body(e.id, { amountCents: 100, receivedAt: '2026-12-10T10:05:01-05:00' }));
    t.equal(late.statusCode, 422, `${name} 5 min 1 s ahead`);
    t.match(late.json(), {
      code: 'timestamp_in_future',
      field: 'receivedAt',
      latest: iso('2026-12-10T10:05:00-05:00'),
    });
    const back = await payOk(ctx, body(e.id, { amountCents: 100, receivedAt: '2026-12-10T09:55:00-05:00' }));
    t.equal(back.receivedAt, iso('2026-12-10T09:55:00-05:00'), `${name} exactly 5 min back`);
    const ahead = await payOk(ctx, body(e.id, { amountCents: 100, receivedAt: '2026-12-10T10:05:00-05:00' }));
    t.equal(ahead.receivedAt, iso('2026-12-10T10:05:00-05:00'), `${name} exactly 5 min ahead`);
  }
});

t.test('mail receivedAt: 10 business days back across the MLK holiday weekend (R3)', async (t) => {
  await setClock(ctx, '2026-12-28T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-02-01' });
  const binder = await binderOf(ctx, e);
  // Tuesday 2027-01-19; Monday the 18th is Martin Luther King Jr. Day: 15, 14, 13, 12, 11, 8, 7, 6, 5, 4.
  await setClock(ctx, '2027-01-19T10:00:00-05:00');
  const tooOld = await pay(
    ctx,
    mail(binder.invoiceNumber, { amountCents: 100, receivedAt: '2027-01-03T23:59:59-05:00' }),
  );
  expectRange(
    t,
    tooOld,
    'receivedAt',
    '2027-01-04T00:00:00-05:00',
    '2027-01-19T10:05:00-05:00',
    '11 business days back',
  );
  const oldest = await payOk(
    ctx,
    mail(binder.invoiceNumber, { amountCents: 100, receivedAt: '2027-01-04T00:00:00-05:00' }),
  );
  t.equal(oldest.receivedAt, iso('2027-01-04T00:00:00-05:00'), 'the 10th business day back, from its first instant');
});

t.test('mail receivedAt across the change to daylight saving time', async (t) => {
  await setClock(ctx, '2027-02-20T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-04-01' });
  const binder = await binderOf(ctx, e);
  // Monday 2027-03-15 (EDT since Sunday the 14th): 10 business days back is Monday 2027-03-01 (EST).
  await setClock(ctx, '2027-03-15T10:00:00-04:00');
  const tooOld = await pay(
    ctx,
    mail(binder.invoiceNumber, { amountCents: 100, receivedAt: '2027-02-28T23:59:59-05:00' }),
  );
  expectRange(t, tooOld, 'receivedAt', '2027-03-01T00:00:00-05:00', '2027-03-15T10:05:00-04:00', 'before midnight EST');
  const ok = await payOk(
    ctx,
    mail(binder.invoiceNumber, { amountCents: 100, receivedAt: '2027-03-01T00:00:00-05:00' }),
  );
  t.equal(ok.receivedAt, '2027-03-01T05:00:00.000Z');
});

t.test('selectedAt: at most 72 elapsed hours back, across daylight saving time', async (t) => {
  await setClock(ctx, '2027-03-15T10:00:00-04:00');
  const tooOld = await ctx.request({
    method: 'POST',
    url: '/v1/enrollments',
    payload: {
      memberId: (await newEnrollment(ctx, { carrierId: carrier.id })).memberId,
      carrierId: carrier.id,
      coverageType: 'dental',
      planName: 'Dental Plus',
      monthlyPremiumCents: 3000,
      selectedAt: '2027-03-12T08:59:59-05:00',
    },
  });
  expectRange(t, tooOld, 'selectedAt', '2027-03-12T09:00:00-05:00', '2027-03-15T10:05:00-04:00', '72 h and 1 s back');
  const exactly = await newEnrollment(ctx, { carrierId: carrier.id, selectedAt: '2027-03-12T09:00:00-05:00' });
  t.equal(exactly.selectedAt, iso('2027-03-12T09:00:00-05:00'), 'exactly 72 hours back');
});

t.test("a payment's receivedAt is never before its enrollment's selectedAt", async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, {
    carrierId: carrier.id,
    coverageStart: '2027-01-01',
    selectedAt: '2026-12-08T10:00:00-05:00',
  });
  const binder = await binderOf(ctx, e);
  const res = await pay(ctx, mail(binder.invoiceNumber, { receivedAt: '2026-12-07T10:00:00-05:00' }));
  expectRange(t, res, 'receivedAt', '2026-12-08T10:00:00-05:00', '2026-12-10T10:05:00-05:00', 'mail before checkout');
  // online: selected 4 minutes ahead of the clock, paid now
  const ahead = await newEnrollment(ctx, {
    carrierId: carrier.id,
    coverageStart: '2027-01-01',
    selectedAt: '2026-12-10T10:04:00-05:00',
  });
  const now = await pay(ctx, online(ahead.id));
  expectRange(t, now, 'receivedAt', '2026-12-10T10:04:00-05:00', '2026-12-10T10:05:00-05:00', 'online before checkout');
  t.equal((await getEnrollment(ctx, e.id)).status, 'pending_payment');
});

t.test('ops may not apply an unapplied payment to an enrollment selected after the money arrived', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const p = await payOk(ctx, {
    channel: 'mail',
    method: 'check',
    amountCents: 45000,
    receivedAt: '2026-12-09T11:00:00-05:00',
    remittance: { memberId: '999999999999', firstName: 'Nobody', lastName: 'Known', carrierName: 'Harbor Health Plan' },
    ...check(),
  });
  t.equal(p.status, 'unapplied');
  const e = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
  const res = await applyUnapplied(ctx, p.id, { enrollmentId: e.id });
  expectRange(t, res, 'receivedAt', e.selectedAt as string, '2026-12-10T10:05:00-05:00', 'applied to a later checkout');
  t.equal((await getEnrollment(ctx, e.id)).status, 'pending_payment');
});

t.test('confirmedAt is never before paidInFullAt', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
  const paid = await payOk(ctx, online(e.id));
  await setClock(ctx, '2026-12-11T10:00:00-05:00');
  const early = await ctx.request({
    method: 'POST',
    url: `/v1/enrollments/${e.id}/confirmation`,
    payload: { confirmedAt: '2026-12-10T09:59:59-05:00' },
  });
  expectRange(t, early, 'confirmedAt', paid.receivedAt, '2026-12-11T10:05:00-05:00', 'before payment');
  t.equal((await getEnrollment(ctx, e.id)).status, 'awaiting_confirmation');
  const ok = await ctx.request({
    method: 'POST',
    url: `/v1/enrollments/${e.id}/confirmation`,
    payload: { confirmedAt: '2026-12-10T10:00:00-05:00' },
  });
  t.equal(ok.statusCode, 200, ok.body);
  t.equal(ok.json().confirmedAt, paid.receivedAt, 'the same instant as paidInFullAt is allowed');
});

t.test("returnedAt is never before the payment's receivedAt", async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
  const p = await payOk(ctx, online(e.id, { amountCents: 1000 }));
  await setClock(ctx, '2026-12-14T10:00:00-05:00');
  const early = await returnPayment(ctx, p.id, { reasonCode: 'R01', returnedAt: '2026-12-10T09:59:59-05:00' });
  expectRange(t, early, 'returnedAt', p.receivedAt, '2026-12-14T10:05:00-05:00', 'returned before received');
  const ok = await returnPayment(ctx, p.id, { reasonCode: 'R01', returnedAt: '2026-12-11T16:00:00-05:00' });
  t.equal(ok.statusCode, 201, ok.body);
  t.equal((ok.json() as PaymentJson).returnedAt, iso('2026-12-11T16:00:00-05:00'));
});
