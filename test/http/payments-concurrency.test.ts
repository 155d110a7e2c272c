import t, { type Test } from 'tap';
import { testApp } from '../helpers/app.js';
import { newAccount, newCarrier, newEnrollment, setClock } from '../helpers/factories.js';
import type { PaymentJson } from '../helpers/payments.js';
import { http, idemKey, listen, moneyViolations, ROUTING_A, ROUTING_B } from '../helpers/safety.js';

// Idempotency, money and billing runs under real concurrency: the app listens on 127.0.0.1 and the
// requests are fired together over HTTP against the real PostgreSQL, so they truly overlap.
// Each test gets its own database clone.

const PROBLEM = /^application\/problem\+json/;
const CHECKOUT_NOW = '2026-11-29T15:00:00Z'; // coverage 2027-01-01, binder due 2026-12-23

async function binderOf(ctx: Awaited<ReturnType<typeof testApp>>, enrollmentId: string) {
  return ctx.database.db
    .selectFrom('invoices')
    .selectAll()
    .where('enrollment_id', '=', enrollmentId)
    .where('is_binder', '=', true)
    .executeTakeFirstOrThrow();
}

/**
 * A fresh app listening on 127.0.0.1 at checkout time, a connector key and one enrollment of 45,000
 * a month with its binder.
 */
async function listeningWithBinder(t: Test) {
  const ctx = await testApp(t);
  await setClock(ctx, CHECKOUT_NOW);
  const connector = await ctx.newKey('connector');
  const e = await newEnrollment(ctx, { monthlyPremiumCents: 45000 });
  const binder = await binderOf(ctx, e.id);
  const base = await listen(ctx);
  return { ctx, connector, e, binder, base };
}

t.test('50 identical concurrent POST /v1/payments with one Idempotency-Key make exactly one payment', async (t) => {
  const { ctx, connector, e, binder, base } = await listeningWithBinder(t);

  const key = idemKey('same');
  const body = {
    channel: 'online',
    method: 'checking',
    amountCents: 45000,
    invoiceNumber: binder.invoice_number,
    bankAccount: { routingNumber: ROUTING_A, accountNumber: '000123456789' },
  };
  const results = await Promise.all(
    Array.from({ length: 50 }, () =>
      http(base, connector.secret, 'POST', '/v1/payments', body, { 'idempotency-key': key }),
    ),
  );

  const statuses = results.map((r) => r.status);
  t.same(
    statuses.filter((s) => s >= 500 || s === 0),
    [],
    'no 5xx and no dropped connection',
  );
  t.same(
    statuses.filter((s) => s !== 201 && s !== 409),
    [],
    `every response is 201 or 409 (got ${JSON.stringify(statuses)})`,
  );

  const created = results.filter((r) => r.status === 201);
  const originals = created.filter((r) => r.headers.get('idempotent-replayed') !== 'true');
  const replays = created.filter((r) => r.headers.get('idempotent-replayed') === 'true');
  t.equal(originals.length, 1, 'exactly one original 201');
  const paymentIds = new Set(created.map((r) => (r.json as PaymentJson).id));
  t.equal(paymentIds.size, 1, 'every 201 (original or replay) carries the same payment id');
  for (const r of replays) t.same(r.json, originals[0]?.json, 'a replay is the original response');

  for (const r of results.filter((x) => x.status === 409)) {
    t.match(r.headers.get('content-type'), PROBLEM);
    t.match(r.json, { status: 409, code: 'idempotency_key_in_flight' });
  }
  t.comment(
    `50 concurrent: ${originals.length} original, ${replays.length} replayed, ${statuses.filter((s) => s === 409).length} in flight`,
  );

  const rows = await ctx.database.db.selectFrom('payments').selectAll().execute();
  t.equal(rows.length, 1, 'exactly one payment row in the database');
  t.equal(rows[0]?.id, [...paymentIds][0]);
  t.equal(rows[0]?.amount_cents, 45000);
  const paid = await binderOf(ctx, e.id);
  t.equal(paid.amount_paid_cents, 45000, 'the binder was paid once');
  const apps = await ctx.database.db.selectFrom('payment_applications').selectAll().execute();
  t.equal(apps.length, 1, 'one application');
  const received = await ctx.database.db
    .selectFrom('events')
    .selectAll()
    .where('type', '=', 'payment.received')
    .execute();
  t.equal(received.length, 1, 'one payment.received event');

  // Once everything settled, the same key replays the one payment.
  const later = await http(base, connector.secret, 'POST', '/v1/payments', body, { 'idempotency-key': key });
  t.equal(later.status, 201);
  t.equal(later.headers.get('idempotent-replayed'), 'true');
  t.equal((later.json as PaymentJson).id, [...paymentIds][0]);
  t.same(await moneyViolations(ctx), []);
});

t.test('20 concurrent payments with different keys on one binder: never overpaid, the rest is credit', async (t) => {
  const { ctx, connector, e, binder, base } = await listeningWithBinder(t);

  // 20 payments of 3,000..6,800 cents (sum 97,000) on a 45,000 binder, over mixed channels.
  const amounts = Array.from({ length: 20 }, (_, i) => 3000 + i * 200);
  const total = amounts.reduce((a, b) => a + b, 0);
  t.ok(total > 45000, 'the amounts sum to more than the premium');
  const bodies = amounts.map((amountCents, i) =>
    i % 3 === 0
      ? {
          channel: 'phone',
          method: 'savings',
          amountCents,
          enrollmentId: e.id,
          bankAccount: { routingNumber: ROUTING_B, accountNumber: `5550${i}` },
        }
      : i % 3 === 1
        ? {
            channel: 'mail',
            method: 'check',
            amountCents,
            slip: { invoiceNumber: binder.invoice_number },
            check: { checkNumber: String(1000 + i), payableTo: 'Health Connector' },
          }
        : {
            channel: 'online',
            method: 'checking',
            amountCents,
            invoiceNumber: binder.invoice_number,
            bankAccount: { routingNumber: ROUTING_A, accountNumber: `4440${i}` },
          },
  );
  const results = await Promise.all(
    bodies.map((body) =>
      http(base, connector.secret, 'POST', '/v1/payments', body, { 'idempotency-key': idemKey('diff') }),
    ),
  );
  const failures = results
    .filter((r) => r.status !== 201)
    .map((r) => `${r.status} ${(r.json as { code?: string } | null)?.code ?? r.text.slice(0, 80)} after ${r.ms} ms`);
  t.comment(`20 concurrent payments: ${20 - failures.length} x 201; failures: ${JSON.stringify(failures)}`);
  t.same(
    results.map((r) => r.status).filter((s) => s >= 500 || s === 0),
    [],
    'no 5xx and no dropped connection (a deadlock or a pool timeout must not reach the caller)',
  );
  t.same(
    results.map((r) => r.status),
    amounts.map(() => 201),
    `every payment is taken (failures: ${JSON.stringify(failures)})`,
  );

  const invoice = await ctx.request({ method: 'GET', url: `/v1/invoices/${binder.id}` });
  t.equal(invoice.statusCode, 200);
  const inv = invoice.json() as { amountPaidCents: number; amountDueCents: number; status: string };
  t.ok(inv.amountPaidCents <= inv.amountDueCents, `amountPaidCents ${inv.amountPaidCents} <= ${inv.amountDueCents}`);
  t.equal(inv.amountPaidCents, 45000, 'the binder is paid exactly in full');
  t.equal(inv.status, 'paid');

  const payments = await ctx.database.db.selectFrom('payments').selectAll().execute();
  t.equal(payments.length, 20, 'twenty payment rows');
  const apps = await ctx.database.db
    .selectFrom('payment_applications')
    .selectAll()
    .where('reversed_at', 'is', null)
    .execute();
  const applied = apps.reduce((s, a) => s + a.amount_cents, 0);
  const credited = payments.reduce((s, p) => s + p.credited_cents, 0);
  t.equal(applied, 45000, 'applications add up to the premium');
  t.equal(applied + credited, total, 'applications + credited == sum of the amounts');
  t.equal(
    payments.reduce((s, p) => s + p.unapplied_cents, 0),
    0,
    'nothing unapplied',
  );
  const row = await ctx.database.db
    .selectFrom('enrollments')
    .selectAll()
    .where('id', '=', e.id)
    .executeTakeFirstOrThrow();
  t.equal(row.credit_cents, total - 45000, 'the overflow is credit on the enrollment');
  t.equal(row.status, 'awaiting_confirmation');
  const enrollment = await ctx.request({ method: 'GET', url: `/v1/enrollments/${e.id}` });
  t.equal(enrollment.json().creditCents, total - 45000);
  for (const r of results.filter((x) => x.status === 201)) {
    const p = r.json as PaymentJson;
    const pApplied = p.applications.reduce((s, a) => s + a.amountCents, 0);
    t.equal(pApplied + p.creditedCents, p.amountCents, `payment ${p.id} is fully accounted for in its response`);
  }

  const awaiting = await ctx.database.db
    .selectFrom('events')
    .selectAll()
    .where('type', '=', 'enrollment.awaiting_confirmation')
    .where('enrollment_id', '=', e.id)
    .execute();
  t.equal(awaiting.length, 1, 'exactly one enrollment.awaiting_confirmation event');
  const statusChanges = await ctx.database.db
    .selectFrom('enrollment_history')
    .selectAll()
    .where('enrollment_id', '=', e.id)
    .where('to_value', '=', 'awaiting_confirmation')
    .execute();
  t.equal(statusChanges.length, 1, 'one history entry to awaiting_confirmation');
  t.same(await moneyViolations(ctx), []);
});

t.test('two concurrent billing runs for one month issue exactly one invoice per enrollment', async (t) => {
  const ctx = await testApp(t);
  await setClock(ctx, CHECKOUT_NOW);
  const connector = await ctx.newKey('connector');
  const carrier = await newCarrier(ctx);
  const base = await listen(ctx);

  // Six enrollments paid in full (awaiting confirmation), two with credit; two left pending.
  const paid: string[] = [];
  const pending: string[] = [];
  for (let i = 0; i < 8; i++) {
    const account = await newAccount(ctx, { paperless: i % 2 === 0 });
    const e = await newEnrollment(ctx, {
      memberId: account.memberId,
      carrierId: carrier.id,
      monthlyPremiumCents: 30000,
    });
    if (i >= 6) {
      pending.push(e.id);
      continue;
    }
    const res = await http(
      base,
      connector.secret,
      'POST',
      '/v1/payments',
      {
        channel: 'online',
        method: 'checking',
        amountCents: i < 2 ? 40000 : 30000,
        enrollmentId: e.id,
        bankAccount: { routingNumber: ROUTING_A, accountNumber: '12345678' },
      },
      { 'idempotency-key': idemKey('bin') },
    );
    t.equal(res.status, 201, res.text);
    paid.push(e.id);
  }

  const runs = await Promise.all(
    [0, 1].map(() => http(base, ctx.opsKey, 'POST', '/v1/billing-runs', { coverageMonth: '2027-02-01' })),
  );
  t.same(
    runs.map((r) => r.status),
    [201, 201],
    runs.map((r) => r.text).join(' | '),
  );
  const issued = runs.map((r) => (r.json as { issuedCount: number }).issuedCount);
  t.comment(`the two runs issued ${issued.join(' + ')} invoices`);
  t.equal(
    (issued[0] ?? 0) + (issued[1] ?? 0),
    paid.length,
    `the two runs issued ${issued.join(' + ')} invoices in all`,
  );

  const feb = await ctx.database.db
    .selectFrom('invoices')
    .select(['enrollment_id', 'credit_applied_cents', 'amount_paid_cents'])
    .where('coverage_month', '=', '2027-02-01')
    .execute();
  t.equal(feb.length, paid.length, 'one February invoice per billable enrollment');
  t.same(new Set(feb.map((i) => i.enrollment_id)), new Set(paid));
  for (const id of pending)
    t.notOk(
      feb.some((i) => i.enrollment_id === id),
      'no invoice for a pending enrollment',
    );
  const credit = feb.reduce((s, i) => s + i.credit_applied_cents, 0);
  t.equal(credit, 20000, 'the two credits of 10,000 were each applied once');
  const events = await ctx.database.db
    .selectFrom('events')
    .selectAll()
    .where('type', '=', 'invoice.issued')
    .where(
      'invoice_id',
      'in',
      (
        await ctx.database.db.selectFrom('invoices').select('id').where('coverage_month', '=', '2027-02-01').execute()
      ).map((i) => i.id),
    )
    .execute();
  t.equal(events.length, paid.length, 'one invoice.issued event per February invoice');

  const again = await http(base, ctx.opsKey, 'POST', '/v1/billing-runs', { coverageMonth: '2027-02-01' });
  t.equal(again.status, 201);
  t.equal((again.json as { issuedCount: number }).issuedCount, 0, 'running it again issues nothing');
  t.same(await moneyViolations(ctx), []);
});
