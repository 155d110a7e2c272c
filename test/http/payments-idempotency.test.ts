import t from 'tap';
import { testApp } from '../helpers/app.js';
import { binderOf } from '../helpers/billing.js';
import { newCarrier, newEnrollment, setClock } from '../helpers/factories.js';
import { bankAccount, type PaymentJson, pay, paymentsOf } from '../helpers/payments.js';
import { expectProblem } from '../helpers/responses.js';

// The idempotency convention (SPEC "Conventions") on POST /v1/payments.
const ctx = await testApp(t);
const connector = await ctx.newKey('connector');
const carrier = await newCarrier(ctx, { name: 'Harbor Health Plan' });

async function enrollment() {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  return newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
}

const withoutRequestId = (body: Record<string, unknown>) => {
  const { requestId: _ignored, ...rest } = body;
  return rest;
};

t.test('same key and same body replays the original response; only one payment exists', async (t) => {
  const e = await enrollment();
  const body = { channel: 'online', method: 'checking', amountCents: 20000, enrollmentId: e.id, ...bankAccount() };
  const first = await pay(ctx, body, { key: connector.secret, idempotencyKey: 'idem-same-1' });
  t.equal(first.statusCode, 201);
  t.notOk(first.headers['idempotent-replayed'], 'the first answer is not a replay');
  const original = first.json() as PaymentJson;

  await setClock(ctx, '2026-12-10T10:30:00-05:00');
  const second = await pay(ctx, body, { key: connector.secret, idempotencyKey: 'idem-same-1' });
  t.equal(second.statusCode, 201, 'the original status');
  t.equal(second.headers['idempotent-replayed'], 'true');
  t.strictSame(second.json(), original, 'the original body, same payment id');

  // the same JSON with its members in another order is the same request
  const reordered = Object.fromEntries(Object.entries(body).reverse());
  const third = await pay(ctx, reordered, { key: connector.secret, idempotencyKey: 'idem-same-1' });
  t.equal(third.statusCode, 201);
  t.equal(third.headers['idempotent-replayed'], 'true', 'member order does not matter');
  t.equal((third.json() as PaymentJson).id, original.id);

  const payments = await paymentsOf(ctx, e.memberId);
  t.equal(payments.length, 1, 'one payment');
  t.equal((await binderOf(ctx, e)).amountPaidCents, 20000, 'counted once');
  const received = await ctx.database.db
    .selectFrom('events')
    .selectAll()
    .where('payment_id', '=', original.id)
    .where('type', '=', 'payment.received')
    .execute();
  t.equal(received.length, 1, 'one payment.received event');
});

t.test('a key is honoured for (at least) 24 hours', async (t) => {
  const e = await enrollment();
  const body = { channel: 'online', method: 'savings', amountCents: 1000, enrollmentId: e.id, ...bankAccount() };
  const first = await pay(ctx, body, { idempotencyKey: 'idem-day-1' });
  t.equal(first.statusCode, 201);
  await setClock(ctx, '2026-12-11T09:59:00-05:00');
  const later = await pay(ctx, body, { idempotencyKey: 'idem-day-1' });
  t.equal(later.statusCode, 201);
  t.equal(later.headers['idempotent-replayed'], 'true', 'replayed 23h59m later');
  t.equal((later.json() as PaymentJson).id, (first.json() as PaymentJson).id);
  t.equal((await paymentsOf(ctx, e.memberId)).length, 1);
});

t.test('same key with a different body is 422 idempotency_key_reused and changes nothing', async (t) => {
  const e = await enrollment();
  const body = { channel: 'online', method: 'checking', amountCents: 20000, enrollmentId: e.id, ...bankAccount() };
  const first = await pay(ctx, body, { idempotencyKey: 'idem-reuse-1' });
  t.equal(first.statusCode, 201);
  for (const [label, other] of [
    ['other amount', { ...body, amountCents: 20001 }],
    ['other method', { ...body, method: 'savings' }],
    ['other account number', { ...body, ...bankAccount('99998888') }],
    ['extra receivedAt', { ...body, receivedAt: '2026-12-10T09:00:00-05:00' }],
  ] as const) {
    const res = await pay(ctx, other, { idempotencyKey: 'idem-reuse-1' });
    expectProblem(t, res, 422, 'idempotency_key_reused', label);
  }
  t.equal((await paymentsOf(ctx, e.memberId)).length, 1, 'still one payment');
  t.equal((await binderOf(ctx, e)).amountPaidCents, 20000);
});

t.test('the same Idempotency-Key from two API keys is two requests (two payments)', async (t) => {
  const e = await enrollment();
  const portal = await ctx.newKey('connector');
  const ivr = await ctx.newKey('connector');
  const body = { channel: 'online', method: 'checking', amountCents: 10000, enrollmentId: e.id, ...bankAccount() };
  const a = await pay(ctx, body, { key: portal.secret, idempotencyKey: 'shared-key' });
  const b = await pay(ctx, body, { key: ivr.secret, idempotencyKey: 'shared-key' });
  t.equal(a.statusCode, 201);
  t.equal(b.statusCode, 201);
  t.notOk(b.headers['idempotent-replayed'], 'not a replay of the other key');
  t.not((a.json() as PaymentJson).id, (b.json() as PaymentJson).id, 'two payments');
  t.equal((await paymentsOf(ctx, e.memberId)).length, 2);
  t.equal((await binderOf(ctx, e)).amountPaidCents, 20000);
  // and each key replays its own
  const aAgain = await pay(ctx, body, { key: portal.secret, idempotencyKey: 'shared-key' });
  t.equal((aAgain.json() as PaymentJson).id, (a.json() as PaymentJson).id);
  t.equal(aAgain.headers['idempotent-replayed'], 'true');
});

t.test('a 422 refusal is replayed identically, even after the state that caused it changed', async (t) => {
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const health = await newEnrollment(ctx, { carrierId: carrier.id, coverageStart: '2027-01-01' });
  const dental = await newEnrollment(ctx, {
    memberId: health.memberId,
    carrierId: carrier.id,
    coverageType: 'dental',
    monthlyPremiumCents: 3000,
    coverageStart: '2027-01-01',
  });
  const body = {
    channel: 'phone',
    method: 'checking',
    amountCents: 45000,
    memberId: health.memberId,
    ...bankAccount(),
  };
  const first = await pay(ctx, body, { idempotencyKey: 'idem-422-1' });
  const refused = expectProblem(t, first, 422, 'target_ambiguous', 'two enrollments owe');

  // dental is paid: a fresh request would now go to health
  const paid = await pay(ctx, {
    channel: 'phone',
    method: 'checking',
    amountCents: 3000,
    enrollmentId: dental.id,
    ...bankAccount(),
  });
  t.equal(paid.statusCode, 201);

  const replay = await pay(ctx, body, { idempotencyKey: 'idem-422-1' });
  t.equal(replay.statusCode, 422, 'the stored refusal, not a new attempt');
  t.equal(replay.headers['idempotent-replayed'], 'true');
  t.match(String(replay.headers['content-type']), /^application\/problem\+json/);
  t.strictSame(withoutRequestId(replay.json()), withoutRequestId(refused), 'the same problem');
  t.equal((await binderOf(ctx, health)).amountPaidCents, 0, 'the refused payment was never taken');

  const fresh = await pay(ctx, body, { idempotencyKey: 'idem-422-2' });
  t.equal(fresh.statusCode, 201, 'a new key is a new request');
});

t.test('a rule refusal (bad routing number) is replayed with the same problem', async (t) => {
  const e = await enrollment();
  const body = {
    channel: 'online',
    method: 'checking',
    amountCents: 1000,
    enrollmentId: e.id,
    ...bankAccount('12345678', '011000016'),
  };
  const first = await pay(ctx, body, { idempotencyKey: 'idem-aba-1' });
  const refused = expectProblem(t, first, 422, 'invalid_routing_number', 'first');
  const replay = await pay(ctx, body, { idempotencyKey: 'idem-aba-1' });
  expectProblem(t, replay, 422, 'invalid_routing_number', 'replay');
  t.equal(replay.headers['idempotent-replayed'], 'true');
  t.strictSame(withoutRequestId(replay.json()), withoutRequestId(refused));
  t.strictSame(await paymentsOf(ctx, e.memberId), []);
});

t.test(
  'a request that broke the schema (400) stores nothing: the key can be used for the corrected request',
  async (t) => {
    const e = await enrollment();
    const good = { channel: 'online', method: 'checking', amountCents: 1000, enrollmentId: e.id, ...bankAccount() };
    const bad = await pay(ctx, { ...good, amountCents: '1000' }, { idempotencyKey: 'idem-400-1' });
    expectProblem(t, bad, 400, 'validation_failed', 'string amount');
    const fixed = await pay(ctx, good, { idempotencyKey: 'idem-400-1' });
    t.equal(fixed.statusCode, 201, fixed.body);
    t.notOk(fixed.headers['idempotent-replayed']);
    t.equal((await paymentsOf(ctx, e.memberId)).length, 1);
  },
);

t.test('concurrent requests with one key take the payment once (others replay or are 409 in flight)', async (t) => {
  const e = await enrollment();
  const body = { channel: 'online', method: 'checking', amountCents: 5000, enrollmentId: e.id, ...bankAccount() };
  const results = await Promise.all(
    Array.from({ length: 4 }, () => pay(ctx, body, { key: connector.secret, idempotencyKey: 'idem-race-1' })),
  );
  const created = results.filter((r) => r.statusCode === 201 && !r.headers['idempotent-replayed']);
  t.equal(created.length, 1, 'exactly one request did the work');
  const paymentId = created[0] ? (created[0].json() as PaymentJson).id : undefined;
  for (const r of results) {
    if (r.statusCode === 201) {
      t.equal((r.json() as PaymentJson).id, paymentId, 'same payment');
    } else {
      expectProblem(t, r, 409, 'idempotency_key_in_flight', 'concurrent duplicate');
    }
  }
  t.equal((await paymentsOf(ctx, e.memberId)).length, 1, 'one payment');
  t.equal((await binderOf(ctx, e)).amountPaidCents, 5000, 'counted once');
});

t.test('a key older than the 48-hour retention is forgotten and purged', async (t) => {
  const e = await enrollment();
  const body = { channel: 'online', method: 'savings', amountCents: 1000, enrollmentId: e.id, ...bankAccount() };
  const first = await pay(ctx, body, { idempotencyKey: 'idem-expiry-1' });
  t.equal(first.statusCode, 201);
  await setClock(ctx, '2026-12-12T10:01:00-05:00'); // 48 h and a minute later
  const later = await pay(ctx, body, { idempotencyKey: 'idem-expiry-1' });
  t.equal(later.statusCode, 201);
  t.notOk(later.headers['idempotent-replayed'], 'an expired key is a new request');
  t.not((later.json() as PaymentJson).id, (first.json() as PaymentJson).id);
  await setClock(ctx, '2026-12-14T12:00:00-05:00');
  const { IdempotencyService } = await import('../../src/services/idempotency.js');
  const { Stores } = await import('../../src/store/stores.js');
  const purged = await new IdempotencyService(new Stores(ctx.database.db), ctx.clock, Buffer.alloc(32)).purgeExpired();
  t.ok(purged >= 2, `expired keys are purged (${purged})`);
});
