import t from 'tap';
import { testApp } from '../helpers/app.js';
import { billingRunOk, binderOf, getEnrollment, getInvoice, invoicesOfEnrollment } from '../helpers/billing.js';
import { newAccount, newCarrier, newEnrollment, newMemberId, setClock } from '../helpers/factories.js';
import {
  applyUnapplied,
  bankAccount,
  check,
  getPayment,
  moneyOrder,
  type PaymentJson,
  pay,
  paymentCount,
  paymentsOf,
  payOk,
  sorted,
  unappliedQueue,
  uniquePhone,
} from '../helpers/payments.js';
import { expectProblem, expectStatus } from '../helpers/responses.js';

// R21-R24: what a payment pays, by channel; unmatched mail (R23) and where the money goes (R24).
// One database for the file; every test sets the service clock itself and works on its own data.
const ctx = await testApp(t);
const connector = await ctx.newKey('connector');
const harbor = await newCarrier(ctx, { name: 'Harbor Health Plan' });
const dentalCarrier = await newCarrier(ctx, { name: 'Bay State Dental' });

const DEC_10 = '2026-12-10T10:00:00-05:00';

async function healthAndDental(memberId?: string) {
  const m = memberId ?? (await newAccount(ctx)).memberId;
  const health = await newEnrollment(ctx, { memberId: m, carrierId: harbor.id, coverageStart: '2027-01-01' });
  const dental = await newEnrollment(ctx, {
    memberId: m,
    carrierId: dentalCarrier.id,
    coverageType: 'dental',
    planName: 'Dental Plus',
    monthlyPremiumCents: 3000,
    coverageStart: '2027-01-01',
  });
  return { memberId: m, health, dental };
}

const phoneBank = (extra: Record<string, unknown>) => ({
  channel: 'phone',
  method: 'checking',
  ...bankAccount(),
  ...extra,
});
const mailCheck = (extra: Record<string, unknown>) => ({ channel: 'mail', method: 'check', ...check(), ...extra });
const appliedTo = (p: PaymentJson) =>
  p.applications.map((a) => ({ invoiceId: a.invoiceId, amountCents: a.amountCents }));

t.test('R21: a phone payment by memberId goes to the one enrollment with a balance', async (t) => {
  await setClock(ctx, DEC_10);
  const e = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
  const p = await payOk(ctx, phoneBank({ amountCents: 45000, memberId: e.memberId }), { key: connector.secret });
  t.equal(p.enrollmentId, e.id);
  t.strictSame(appliedTo(p), [{ invoiceId: e.binderInvoiceId, amountCents: 45000 }]);
  t.equal((await binderOf(ctx, e)).status, 'paid');
  t.equal((await getEnrollment(ctx, e.id)).status, 'awaiting_confirmation');
});

t.test('R21: with health paid and dental still owing, a memberId payment goes to dental', async (t) => {
  await setClock(ctx, DEC_10);
  const { memberId, health, dental } = await healthAndDental();
  await payOk(ctx, phoneBank({ amountCents: 45000, enrollmentId: health.id }));
  const p = await payOk(ctx, phoneBank({ amountCents: 3000, memberId }));
  t.equal(p.enrollmentId, dental.id, 'the only enrollment with a balance');
  t.strictSame(appliedTo(p), [{ invoiceId: dental.binderInvoiceId, amountCents: 3000 }]);
  t.equal((await binderOf(ctx, health)).amountPaidCents, 45000, 'health untouched');
});

t.test('R21: two enrollments with a balance make a memberId payment 422 target_ambiguous', async (t) => {
  await setClock(ctx, DEC_10);
  const { memberId, health, dental } = await healthAndDental();
  const res = await pay(ctx, phoneBank({ amountCents: 3000, memberId }), { key: connector.secret });
  expectProblem(t, res, 422, 'target_ambiguous');
  t.strictSame(await paymentsOf(ctx, memberId), [], 'nothing recorded');
  t.equal((await binderOf(ctx, health)).amountPaidCents, 0);
  t.equal((await binderOf(ctx, dental)).amountPaidCents, 0);
});

t.test('R21: a member with nothing owing, or no such member, is 422 target_not_found', async (t) => {
  await setClock(ctx, DEC_10);
  const noEnrollments = await newAccount(ctx);
  const paidUp = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
  await payOk(ctx, phoneBank({ amountCents: 45000, enrollmentId: paidUp.id }));
  const before = await paymentCount(ctx);
  for (const [label, memberId] of [
    ['account without enrollments', noEnrollments.memberId],
    ['account whose only enrollment is paid', paidUp.memberId],
    ['unknown member', newMemberId()],
  ] as const) {
    const res = await pay(ctx, phoneBank({ amountCents: 100, memberId }));
    expectProblem(t, res, 422, 'target_not_found', label);
  }
  t.equal(await paymentCount(ctx), before, 'nothing recorded');
});

t.test('R21: a phone payment by phone number finds the account whatever the formatting', async (t) => {
  await setClock(ctx, DEC_10);
  const phone = uniquePhone();
  const account = await newAccount(ctx, { phoneNumbers: [phone.e164] });
  const e = await newEnrollment(ctx, { memberId: account.memberId, carrierId: harbor.id, coverageStart: '2027-01-01' });
  const lookup = await ctx.request({
    method: 'GET',
    url: `/v1/accounts?phoneNumber=${encodeURIComponent(phone.local)}`,
  });
  expectStatus(lookup, 200);
  t.strictSame(
    (lookup.json() as { data: { memberId: string }[] }).data.map((a) => a.memberId),
    [account.memberId],
    'the accounts lookup normalises the number',
  );
  const digits = phone.e164.slice(2);
  const formats = [
    phone.e164,
    phone.local,
    `${digits.slice(0, 3)}-${digits.slice(3, 6)}-${digits.slice(6)}`,
    `+1 ${digits.slice(0, 3)} ${digits.slice(3, 6)} ${digits.slice(6)}`,
    digits,
  ];
  for (const phoneNumber of formats) {
    const res = await pay(ctx, phoneBank({ amountCents: 1000, phoneNumber }));
    t.equal(res.statusCode, 201, `"${phoneNumber}" finds the account (got ${res.statusCode}: ${res.body})`);
    if (res.statusCode === 201) t.equal((res.json() as PaymentJson).enrollmentId, e.id);
  }
});

t.test('R21: an unknown phone number is 422 target_not_found; a number on two accounts is ambiguous', async (t) => {
  await setClock(ctx, DEC_10);
  const unknown = uniquePhone();
  const before = await paymentCount(ctx);
  const res = await pay(ctx, phoneBank({ amountCents: 1000, phoneNumber: unknown.e164 }));
  expectProblem(t, res, 422, 'target_not_found', 'unknown phone');
  const shared = uniquePhone();
  for (let i = 0; i < 2; i++) {
    const a = await newAccount(ctx, { phoneNumbers: [shared.e164] });
    await newEnrollment(ctx, { memberId: a.memberId, carrierId: harbor.id, coverageStart: '2027-01-01' });
  }
  const both = await pay(ctx, phoneBank({ amountCents: 1000, phoneNumber: shared.e164 }));
  expectProblem(t, both, 422, 'target_ambiguous', 'shared phone');
  t.equal(await paymentCount(ctx), before, 'nothing recorded');
});

t.test('R21: memberId and phoneNumber are phone targets, not online ones', async (t) => {
  await setClock(ctx, DEC_10);
  const e = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
  const res = await pay(ctx, {
    channel: 'online',
    method: 'checking',
    amountCents: 100,
    memberId: e.memberId,
    ...bankAccount(),
  });
  t.equal(res.statusCode, 422, 'online by memberId is refused');
  t.strictSame(await paymentsOf(ctx, e.memberId), []);
});

t.test('R22: a mailed check or money order with its payment slip pays the slip invoice', async (t) => {
  await setClock(ctx, DEC_10);
  const e = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
  const binder = await binderOf(ctx, e);
  const first = await payOk(ctx, mailCheck({ amountCents: 20000, slip: { invoiceNumber: binder.invoiceNumber } }));
  t.equal(first.status, 'received');
  t.strictSame(appliedTo(first), [{ invoiceId: binder.id, amountCents: 20000 }]);
  const second = await payOk(ctx, {
    channel: 'mail',
    method: 'money_order',
    amountCents: 25000,
    slip: { invoiceNumber: binder.invoiceNumber },
    ...moneyOrder(),
  });
  t.strictSame(appliedTo(second), [{ invoiceId: binder.id, amountCents: 25000 }]);
  t.equal((await binderOf(ctx, e)).status, 'paid');
});

t.test('R22: a check without slip is matched by Member ID, subscriber name and carrier name', async (t) => {
  await setClock(ctx, DEC_10);
  const e = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
  const p = await payOk(
    ctx,
    mailCheck({
      amountCents: 45000,
      remittance: {
        memberId: e.memberId,
        firstName: 'Maria',
        lastName: 'Santos',
        carrierName: 'Harbor Health Plan',
        mailingAddress: { line1: '12 Elm St', city: 'Worcester', state: 'MA', postalCode: '01608' },
      },
    }),
  );
  t.equal(p.status, 'received');
  t.equal(p.enrollmentId, e.id);
  t.strictSame(appliedTo(p), [{ invoiceId: e.binderInvoiceId, amountCents: 45000 }]);
});

t.test('R22: remittance names and carrier name match ignoring case and repeated spaces', async (t) => {
  await setClock(ctx, DEC_10);
  const account = await newAccount(ctx, { firstName: 'Mary Ann', lastName: 'de la Cruz' });
  const e = await newEnrollment(ctx, { memberId: account.memberId, carrierId: harbor.id, coverageStart: '2027-01-01' });
  const p = await payOk(
    ctx,
    mailCheck({
      amountCents: 45000,
      remittance: {
        memberId: account.memberId,
        firstName: 'MARY   ANN',
        lastName: ' De La  cruz ',
        carrierName: 'harbor   HEALTH plan',
      },
    }),
  );
  t.equal(p.status, 'received', 'matched, not unapplied');
  t.equal(p.enrollmentId, e.id);
  t.equal((await binderOf(ctx, e)).status, 'paid');
});

t.test('R22: names match however their letters were typed (combining accents, full-width letters, ß)', async (t) => {
  await setClock(ctx, DEC_10);
  const account = await newAccount(ctx, { firstName: 'Zo\u00eb', lastName: 'Stra\u00dfe' });
  const e = await newEnrollment(ctx, { memberId: account.memberId, carrierId: harbor.id, coverageStart: '2027-01-01' });
  const p = await payOk(
    ctx,
    mailCheck({
      amountCents: 45000,
      remittance: {
        memberId: account.memberId,
        firstName: 'ZOE\u0308',
        lastName: 'STRASSE',
        carrierName: '\uff28arbor Health Plan',
      },
    }),
  );
  t.equal(p.status, 'received', 'matched, not unapplied');
  t.equal(p.enrollmentId, e.id);
});

t.test('R22: missing remittance details are 422 remittance_incomplete listing exactly what is missing', async (t) => {
  await setClock(ctx, DEC_10);
  const e = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
  const full = { memberId: e.memberId, firstName: 'Maria', lastName: 'Santos', carrierName: 'Harbor Health Plan' };
  const without = (...fields: (keyof typeof full)[]) =>
    Object.fromEntries(Object.entries(full).filter(([k]) => !fields.includes(k as keyof typeof full)));
  const cases: [string, Record<string, unknown> | undefined, string[]][] = [
    ['no memberId', without('memberId'), ['memberId']],
    ['no firstName', without('firstName'), ['firstName']],
    ['no lastName', without('lastName'), ['lastName']],
    ['no carrierName', without('carrierName'), ['carrierName']],
    ['no names', without('firstName', 'lastName'), ['firstName', 'lastName']],
    ['only the carrier', without('memberId', 'firstName', 'lastName'), ['memberId', 'firstName', 'lastName']],
    ['empty remittance', {}, ['memberId', 'firstName', 'lastName', 'carrierName']],
    ['no remittance and no slip', undefined, ['memberId', 'firstName', 'lastName', 'carrierName']],
    // Blank names are 400 like every blank name (names.test.ts); a blank Member ID is a missing detail.
    ['blank member id', { ...full, memberId: ' ' }, ['memberId']],
    [
      'only a mailing address',
      { mailingAddress: { line1: '1 Main St', city: 'Boston', state: 'MA', postalCode: '02108' } },
      ['memberId', 'firstName', 'lastName', 'carrierName'],
    ],
  ];
  const before = await paymentCount(ctx);
  for (const [label, remittance, missing] of cases) {
    const res = await pay(ctx, mailCheck({ amountCents: 45000, ...(remittance ? { remittance } : {}) }));
    const body = expectProblem(t, res, 422, 'remittance_incomplete', label) as { missing?: string[] };
    t.strictSame(sorted(body.missing ?? []), sorted(missing), `${label}: missing lists ${missing.join(', ')}`);
  }
  t.equal(await paymentCount(ctx), before, 'nothing recorded');
  t.equal((await binderOf(ctx, e)).amountPaidCents, 0);
});

t.test('R22: a check or money order not payable to "Health Connector" is 422 payee_mismatch', async (t) => {
  await setClock(ctx, DEC_10);
  const e = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
  const binder = await binderOf(ctx, e);
  const slip = { slip: { invoiceNumber: binder.invoiceNumber } };
  const before = await paymentCount(ctx);
  for (const payableTo of [
    'Health Connecter',
    'Harbor Health Plan',
    'Maria Santos',
    'Health Connector Inc',
    'Connector',
  ]) {
    const viaCheck = await pay(ctx, {
      channel: 'mail',
      method: 'check',
      amountCents: 1000,
      ...slip,
      ...check({ payableTo }),
    });
    expectProblem(t, viaCheck, 422, 'payee_mismatch', `check to "${payableTo}"`);
    const viaMoneyOrder = await pay(ctx, {
      channel: 'mail',
      method: 'money_order',
      amountCents: 1000,
      ...slip,
      ...moneyOrder({ payableTo }),
    });
    expectProblem(t, viaMoneyOrder, 422, 'payee_mismatch', `money order to "${payableTo}"`);
  }
  // the lockbox returns a mis-payable check even when it also matches nothing: not an unapplied payment
  const unmatched = await pay(ctx, {
    channel: 'mail',
    method: 'check',
    amountCents: 1000,
    slip: { invoiceNumber: '9999999999' },
    ...check({ payableTo: 'Maria Santos' }),
  });
  expectProblem(t, unmatched, 422, 'payee_mismatch', 'unmatched and mis-payable');
  t.equal(await paymentCount(ctx), before, 'returned to sender: nothing recorded');

  for (const payableTo of ['health connector', '  HEALTH   Connector ', 'Health  CONNECTOR']) {
    const res = await pay(ctx, {
      channel: 'mail',
      method: 'check',
      amountCents: 1000,
      ...slip,
      ...check({ payableTo }),
    });
    t.equal(res.statusCode, 201, `"${payableTo}" is payable to Health Connector (${res.body})`);
  }
  t.equal((await binderOf(ctx, e)).amountPaidCents, 3000);
});

t.test('R23: mail that matches nothing is kept as unapplied (201) and queued for ops', async (t) => {
  await setClock(ctx, DEC_10);
  const e = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
  const full = { memberId: e.memberId, firstName: 'Maria', lastName: 'Santos', carrierName: 'Harbor Health Plan' };
  const cases: [string, Record<string, unknown>][] = [
    ['unknown member', { remittance: { ...full, memberId: newMemberId() } }],
    ['malformed member id', { remittance: { ...full, memberId: '12345' } }],
    ['wrong first name', { remittance: { ...full, firstName: 'Marta' } }],
    ['wrong last name', { remittance: { ...full, lastName: 'Santo' } }],
    ['unknown carrier', { remittance: { ...full, carrierName: 'Nowhere Health' } }],
    ['carrier the member has no enrollment with', { remittance: { ...full, carrierName: 'Bay State Dental' } }],
    ['unknown slip number', { slip: { invoiceNumber: '9999999999' } }],
  ];
  let amount = 1234;
  const ids: string[] = [];
  for (const [label, target] of cases) {
    amount++;
    const res = await pay(ctx, mailCheck({ amountCents: amount, ...target }), { key: connector.secret });
    t.equal(res.statusCode, 201, `${label}: recorded (${res.body})`);
    const p = res.json() as PaymentJson;
    t.equal(p.status, 'unapplied', `${label}: unapplied`);
    t.equal(p.unappliedCents, amount, `${label}: unappliedCents is the whole amount`);
    t.strictSame(p.applications, [], `${label}: applied to nothing`);
    t.equal(p.creditedCents, 0, `${label}: no credit`);
    t.equal((await getPayment(ctx, p.id)).status, 'unapplied', `${label}: readable`);
    ids.push(p.id);
  }
  const queue = await unappliedQueue(ctx);
  for (const id of ids)
    t.ok(
      queue.some((q) => q.id === id),
      `${id} is in the ops unapplied queue`,
    );
  t.ok(
    queue.every((q) => q.status === 'unapplied'),
    'the queue lists unapplied payments only',
  );
  const binder = await binderOf(ctx, e);
  t.equal(binder.amountPaidCents, 0, 'no invoice was touched');
  const asConnector = await ctx.request({ method: 'GET', url: '/v1/ops/unapplied-payments', key: connector.secret });
  t.equal(asConnector.statusCode, 403, 'the queue is for ops');
});

t.test('R23: ops applies an unapplied payment by invoiceNumber; applying it again is 409 not_unapplied', async (t) => {
  await setClock(ctx, DEC_10);
  // selected before the check arrived: a payment is never received before its enrollment's selectedAt
  const e = await newEnrollment(ctx, {
    carrierId: harbor.id,
    coverageStart: '2027-01-01',
    selectedAt: '2026-12-09T09:00:00-05:00',
  });
  const binder = await binderOf(ctx, e);
  const receivedAt = '2026-12-09T11:00:00-05:00';
  const p = await payOk(
    ctx,
    mailCheck({
      amountCents: 45000,
      receivedAt,
      remittance: {
        memberId: newMemberId(),
        firstName: 'Maria',
        lastName: 'Santos',
        carrierName: 'Harbor Health Plan',
      },
    }),
  );
  t.equal(p.status, 'unapplied');

  const asConnector = await applyUnapplied(ctx, p.id, { invoiceNumber: binder.invoiceNumber }, connector.secret);
  t.equal(asConnector.statusCode, 403, 'only ops applies');
  const nowhere = await applyUnapplied(ctx, p.id, { invoiceNumber: '9999999999' });
  expectProblem(t, nowhere, 422, 'target_not_found', 'unknown invoice');
  t.equal((await getPayment(ctx, p.id)).status, 'unapplied', 'a failed application leaves it unapplied');

  const applied = await applyUnapplied(ctx, p.id, { invoiceNumber: binder.invoiceNumber });
  t.equal(applied.statusCode, 200, applied.body);
  const body = applied.json() as PaymentJson;
  t.equal(body.status, 'received');
  t.equal(body.unappliedCents, 0);
  t.equal(body.enrollmentId, e.id);
  t.equal(body.memberId, e.memberId);
  t.strictSame(appliedTo(body), [{ invoiceId: binder.id, amountCents: 45000 }]);
  const invoice = await getInvoice(ctx, binder.id);
  t.equal(invoice.status, 'paid');
  t.equal(invoice.balanceCents, 0);
  const enrollment = await getEnrollment(ctx, e.id);
  t.equal(enrollment.status, 'awaiting_confirmation');
  t.equal(
    enrollment.paidInFullAt && new Date(enrollment.paidInFullAt).toISOString(),
    new Date(receivedAt).toISOString(),
    'paid in full when the lockbox received it',
  );
  t.notOk(
    (await unappliedQueue(ctx)).some((q) => q.id === p.id),
    'gone from the queue',
  );

  const again = await applyUnapplied(ctx, p.id, { invoiceNumber: binder.invoiceNumber });
  expectProblem(t, again, 409, 'not_unapplied', 'applied twice');
  t.equal((await getInvoice(ctx, binder.id)).amountPaidCents, 45000, 'counted once');
  const unknown = await applyUnapplied(ctx, 'pay_doesnotexist', { invoiceNumber: binder.invoiceNumber });
  t.equal(unknown.statusCode, 404, 'unknown payment id');
});

t.test('R23: ops applies an unapplied payment by enrollmentId', async (t) => {
  await setClock(ctx, DEC_10);
  const e = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
  const p = await payOk(ctx, {
    channel: 'mail',
    method: 'money_order',
    amountCents: 45000,
    slip: { invoiceNumber: '8888888888' },
    ...moneyOrder(),
  });
  t.equal(p.status, 'unapplied');
  const applied = await applyUnapplied(ctx, p.id, { enrollmentId: e.id });
  t.equal(applied.statusCode, 200, applied.body);
  const body = applied.json() as PaymentJson;
  t.equal(body.status, 'received');
  t.equal(body.unappliedCents, 0);
  t.strictSame(appliedTo(body), [{ invoiceId: e.binderInvoiceId, amountCents: 45000 }]);
  t.equal((await binderOf(ctx, e)).status, 'paid');
  t.equal((await getEnrollment(ctx, e.id)).status, 'awaiting_confirmation');
  const again = await applyUnapplied(ctx, p.id, { enrollmentId: e.id });
  expectProblem(t, again, 409, 'not_unapplied', 'applied twice');
  const both = await payOk(ctx, mailCheck({ amountCents: 100, slip: { invoiceNumber: '7777777777' } }));
  const twoTargets = await applyUnapplied(ctx, both.id, { enrollmentId: e.id, invoiceNumber: '7777777777' });
  t.equal(twoTargets.statusCode, 422, 'name exactly one target');
  const noTarget = await applyUnapplied(ctx, both.id, {});
  t.equal(noTarget.statusCode, 422, 'name a target');
  const extra = await applyUnapplied(ctx, both.id, { enrollmentId: e.id, note: 'x' });
  t.equal(extra.statusCode, 400, 'unknown fields are rejected');
});

t.test('R23/R10: a check received by the due date but applied by ops later keeps its coverage start', async (t) => {
  await setClock(ctx, '2026-11-29T10:00:00-05:00');
  const e = await newEnrollment(ctx, { carrierId: harbor.id });
  t.equal(e.coverageStart, '2027-01-01');
  await setClock(ctx, '2026-12-22T15:00:00-05:00');
  const p = await payOk(
    ctx,
    mailCheck({
      amountCents: 45000,
      receivedAt: '2026-12-22T09:00:00-05:00',
      remittance: { memberId: e.memberId, firstName: 'Maria', lastName: 'Santos', carrierName: 'Nowhere Health' },
    }),
  );
  t.equal(p.status, 'unapplied');
  await setClock(ctx, '2026-12-28T10:00:00-05:00');
  t.equal((await getEnrollment(ctx, e.id)).coverageStart, '2027-02-01', 'unpaid as far as anyone could tell');
  const applied = await applyUnapplied(ctx, p.id, { enrollmentId: e.id });
  expectStatus(applied, 200);
  const after = await getEnrollment(ctx, e.id);
  t.equal(after.status, 'awaiting_confirmation');
  t.equal(after.coverageStart, '2027-01-01', 'the money was in the lockbox by the due date');
  t.equal((await binderOf(ctx, e)).coverageMonth, '2027-01-01');
});

t.test('R23: online and phone payments that match nothing are 422 target_not_found and leave no record', async (t) => {
  await setClock(ctx, DEC_10);
  const e = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
  const before = await paymentCount(ctx);
  const cases: [string, Record<string, unknown>][] = [
    ['online, unknown invoice number', { channel: 'online', method: 'checking', invoiceNumber: '9999999999' }],
    ['online, unknown enrollment', { channel: 'online', method: 'savings', enrollmentId: 'enr_doesnotexist' }],
    ['phone, unknown invoice number', { channel: 'phone', method: 'checking', invoiceNumber: '9999999999' }],
    ['phone, unknown enrollment', { channel: 'phone', method: 'savings', enrollmentId: 'enr_doesnotexist' }],
  ];
  for (const [label, body] of cases) {
    const res = await pay(ctx, { amountCents: 45000, ...bankAccount(), ...body }, { key: connector.secret });
    expectProblem(t, res, 422, 'target_not_found', label);
  }
  t.strictSame(await paymentsOf(ctx, e.memberId), [], 'GET /v1/payments?memberId= shows none');
  t.equal(await paymentCount(ctx), before, 'no payment row at all');
  t.equal((await binderOf(ctx, e)).amountPaidCents, 0);
});

t.test(
  "R24: money naming a void invoice or a cancelled enrollment is recorded as that enrollment's credit, on every channel and by ops",
  async (t) => {
    await setClock(ctx, DEC_10);
    const cancelled = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
    const voidBinder = await binderOf(ctx, cancelled);
    expectStatus(
      await ctx.request({ method: 'POST', url: `/v1/enrollments/${cancelled.id}/cancellation`, payload: {} }),
      200,
    );
    const cases: [string, Record<string, unknown>][] = [
      [
        'online, the void binder',
        { channel: 'online', method: 'checking', ...bankAccount(), invoiceNumber: voidBinder.invoiceNumber },
      ],
      [
        'phone, the cancelled enrollment',
        { channel: 'phone', method: 'savings', ...bankAccount(), enrollmentId: cancelled.id },
      ],
      ["mail, the void binder's slip", mailCheck({ slip: { invoiceNumber: voidBinder.invoiceNumber } })],
    ];
    let credit = 0;
    for (const [label, body] of cases) {
      const p = await payOk(ctx, { amountCents: 500, ...body }, { key: connector.secret });
      t.equal(p.status, 'received', `${label}: recorded`);
      t.strictSame(appliedTo(p), [], `${label}: nothing applied to a void invoice`);
      t.equal(p.creditedCents, 500, `${label}: credited`);
      t.equal(p.unappliedCents, 0, `${label}: not left unapplied`);
      credit += 500;
      t.equal((await getEnrollment(ctx, cancelled.id)).creditCents, credit, `${label}: the enrollment holds it`);
    }
    // Ops places unapplied mail on the cancelled enrollment: credit there too.
    const lost = await payOk(ctx, {
      amountCents: 700,
      ...mailCheck({
        remittance: { memberId: newMemberId(), firstName: 'No', lastName: 'Body', carrierName: 'Harbor Health Plan' },
      }),
    });
    t.equal(lost.status, 'unapplied');
    const applied = await applyUnapplied(ctx, lost.id, { enrollmentId: cancelled.id });
    expectStatus(applied, 200);
    t.equal((applied.json() as PaymentJson).creditedCents, 700);
    t.equal((await getEnrollment(ctx, cancelled.id)).creditCents, credit + 700);
    t.equal((await getEnrollment(ctx, cancelled.id)).status, 'cancelled', 'still cancelled');
  },
);

t.test(
  "R22/R24: mail without slip for a carrier whose only enrollment is cancelled is that enrollment's credit; an active one is preferred",
  async (t) => {
    await setClock(ctx, DEC_10);
    const cancelled = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
    expectStatus(
      await ctx.request({ method: 'POST', url: `/v1/enrollments/${cancelled.id}/cancellation`, payload: {} }),
      200,
    );
    const remittance = {
      memberId: cancelled.memberId,
      firstName: 'Maria',
      lastName: 'Santos',
      carrierName: 'harbor  health plan',
    };
    const toCancelled = await payOk(ctx, { amountCents: 2500, ...mailCheck({ remittance }) });
    t.equal(toCancelled.status, 'received');
    t.equal(toCancelled.creditedCents, 2500, 'credited, not left unapplied');
    t.equal((await getEnrollment(ctx, cancelled.id)).creditCents, 2500);

    // The member enrols again with the same carrier and pays the binder: mail now goes to the active one.
    const again = await newEnrollment(ctx, {
      memberId: cancelled.memberId,
      carrierId: harbor.id,
      coverageStart: '2027-01-01',
    });
    const binder = await binderOf(ctx, again);
    await payOk(ctx, {
      channel: 'online',
      method: 'checking',
      amountCents: binder.amountDueCents,
      invoiceNumber: binder.invoiceNumber,
      ...bankAccount(),
    });
    const extra = await payOk(ctx, { amountCents: 300, ...mailCheck({ remittance }) });
    t.equal(extra.creditedCents, 300);
    t.equal((await getEnrollment(ctx, again.id)).creditCents, 300, 'the active enrollment holds it');
    t.equal((await getEnrollment(ctx, cancelled.id)).creditCents, 2500, 'the cancelled one is unchanged');
  },
);

t.test(
  'R24: a payment naming the enrollment pays its oldest open invoice first; a named invoice is paid alone',
  async (t) => {
    await setClock(ctx, DEC_10);
    const e = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
    await payOk(ctx, {
      channel: 'online',
      method: 'checking',
      amountCents: 45000,
      enrollmentId: e.id,
      ...bankAccount(),
    });
    await billingRunOk(ctx, '2027-02-01');
    await billingRunOk(ctx, '2027-03-01');
    await billingRunOk(ctx, '2027-04-01');
    const byMonth = Object.fromEntries((await invoicesOfEnrollment(ctx, e.id)).map((i) => [i.coverageMonth, i]));
    const feb = byMonth['2027-02-01'];
    const mar = byMonth['2027-03-01'];
    const apr = byMonth['2027-04-01'];
    if (!feb || !mar || !apr) throw new Error('billing runs did not issue Feb, Mar and Apr');

    // naming April's invoice pays April, even though February and March are older and open
    const named = await payOk(ctx, {
      channel: 'online',
      method: 'checking',
      amountCents: 45000,
      invoiceNumber: apr.invoiceNumber,
      ...bankAccount(),
    });
    t.strictSame(appliedTo(named), [{ invoiceId: apr.id, amountCents: 45000 }]);
    t.equal((await getInvoice(ctx, feb.id)).amountPaidCents, 0, 'February untouched');

    // naming the enrollment pays February, then March
    const p = await payOk(ctx, {
      channel: 'phone',
      method: 'savings',
      amountCents: 55000,
      enrollmentId: e.id,
      ...bankAccount(),
    });
    t.strictSame(appliedTo(p), [
      { invoiceId: feb.id, amountCents: 45000 },
      { invoiceId: mar.id, amountCents: 10000 },
    ]);
    t.equal(p.creditedCents, 0);
    t.equal((await getInvoice(ctx, feb.id)).status, 'paid');
    const marNow = await getInvoice(ctx, mar.id);
    t.equal(marNow.status, 'partially_paid');
    t.equal(marNow.balanceCents, 35000);
  },
);

t.test('R24: money for one enrollment never pays another; the overpayment is credit on that enrollment', async (t) => {
  await setClock(ctx, DEC_10);
  const { health, dental } = await healthAndDental();
  const healthBinder = await binderOf(ctx, health);
  const p = await payOk(ctx, {
    channel: 'online',
    method: 'checking',
    amountCents: 50000,
    invoiceNumber: healthBinder.invoiceNumber,
    ...bankAccount(),
  });
  t.strictSame(appliedTo(p), [{ invoiceId: health.binderInvoiceId, amountCents: 45000 }], 'health binder only');
  t.equal(p.creditedCents, 5000, 'payment creditedCents');
  const h = await getEnrollment(ctx, health.id);
  t.equal(h.creditCents, 5000, 'enrollment creditCents');
  t.equal(h.status, 'awaiting_confirmation');
  const d = await getEnrollment(ctx, dental.id);
  t.equal(d.creditCents, 0, 'dental gets no credit');
  t.equal(d.status, 'pending_payment', 'dental still owes its binder');
  const dentalBinder = await binderOf(ctx, dental);
  t.equal(dentalBinder.amountPaidCents, 0, 'dental binder untouched');
  t.equal(dentalBinder.status, 'open');

  const more = await payOk(ctx, {
    channel: 'online',
    method: 'savings',
    amountCents: 2000,
    enrollmentId: health.id,
    ...bankAccount(),
  });
  t.strictSame(appliedTo(more), [], 'a paid-up enrollment has nothing open');
  t.equal(more.creditedCents, 2000, 'all of it is credit');
  t.equal((await getEnrollment(ctx, health.id)).creditCents, 7000);
  t.equal((await binderOf(ctx, dental)).amountPaidCents, 0, 'still not dental');
});

t.test('R24: mail without slip is applied by carrier; the other enrollment of the member is untouched', async (t) => {
  await setClock(ctx, DEC_10);
  const { memberId, health, dental } = await healthAndDental();
  const p = await payOk(
    ctx,
    mailCheck({
      amountCents: 3500,
      remittance: { memberId, firstName: 'Maria', lastName: 'Santos', carrierName: 'Bay State Dental' },
    }),
  );
  t.equal(p.status, 'received');
  t.equal(p.enrollmentId, dental.id);
  t.strictSame(appliedTo(p), [{ invoiceId: dental.binderInvoiceId, amountCents: 3000 }]);
  t.equal(p.creditedCents, 500);
  t.equal((await getEnrollment(ctx, dental.id)).creditCents, 500);
  t.equal((await binderOf(ctx, health)).amountPaidCents, 0, 'health untouched');
  t.equal((await getEnrollment(ctx, health.id)).creditCents, 0);
});

t.test(
  'an enrollment id that happens to hold a Luhn-valid run of digits is still payable by enrollmentId',
  async (t) => {
    // Enrollment ids are 32 random hex digits: some contain 13-19 decimal digits in a row that pass
    // Luhn. Such an id is not a card number and must not make the payment 422 card_number_not_allowed.
    await setClock(ctx, DEC_10);
    const template = await newEnrollment(ctx, { carrierId: harbor.id, coverageStart: '2027-01-01' });
    const id = 'enr_4111111111111111abcdefabcdefabcd';
    const row = await ctx.database.db
      .selectFrom('enrollments')
      .selectAll()
      .where('id', '=', template.id)
      .executeTakeFirstOrThrow();
    await ctx.database.db
      .insertInto('enrollments')
      .values({
        id,
        member_id: row.member_id,
        carrier_id: row.carrier_id,
        coverage_type: 'dental',
        plan_name: row.plan_name,
        monthly_premium_cents: row.monthly_premium_cents,
        status: 'pending_payment',
        chosen_coverage_start: row.chosen_coverage_start,
        coverage_start: row.coverage_start,
        selected_at: row.selected_at,
      })
      .execute();
    const inv = await ctx.database.db
      .selectFrom('invoices')
      .selectAll()
      .where('id', '=', template.binderInvoiceId)
      .executeTakeFirstOrThrow();
    await ctx.database.db
      .insertInto('invoices')
      .values({
        enrollment_id: id,
        member_id: inv.member_id,
        coverage_month: inv.coverage_month,
        due_date: inv.due_date,
        amount_due_cents: inv.amount_due_cents,
        is_binder: true,
        delivery: inv.delivery,
        issued_at: inv.issued_at,
      })
      .execute();
    const res = await pay(ctx, {
      channel: 'online',
      method: 'checking',
      amountCents: 45000,
      enrollmentId: id,
      ...bankAccount(),
    });
    t.equal(res.statusCode, 201, `paid by its enrollment id (got ${res.statusCode}: ${res.body})`);
  },
);
