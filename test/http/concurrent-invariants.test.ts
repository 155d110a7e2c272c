import t from 'tap';
import { testApp } from '../helpers/app.js';
import { newAccount, newCarrier, newEnrollment, setClock } from '../helpers/factories.js';
import { http, listen, moneyViolations } from '../helpers/safety.js';

/**
 * Reliability check 9: concurrent payments, overpayments and returns across shared invoices, plus a
 * billing run in the middle; after each round the money invariants hold and every request got an
 * answer (serialization retries are bounded, so none hangs or fails with 5xx).
 */
t.test('money invariants hold under concurrent payments, returns and billing runs', async (t) => {
  const ctx = await testApp(t);
  await setClock(ctx, '2026-12-10T10:00:00-05:00');
  const base = await listen(ctx);
  const carrier = await newCarrier(ctx);
  const account = await newAccount(ctx);
  const enrollments = [
    await newEnrollment(ctx, { memberId: account.memberId, carrierId: carrier.id, coverageType: 'health' }),
    await newEnrollment(ctx, {
      memberId: account.memberId,
      carrierId: carrier.id,
      coverageType: 'dental',
      monthlyPremiumCents: 9000,
    }),
  ];
  const invoiceNumbers = await Promise.all(
    enrollments.map(
      async (e) =>
        (await ctx.request({ method: 'GET', url: `/v1/invoices/${e.binderInvoiceId}` })).json().invoiceNumber as string,
    ),
  );
  let rng = 20261129;
  const rand = (n: number) => {
    rng = (rng * 1103515245 + 12345) % 2 ** 31;
    return rng % n;
  };
  const payment = () => {
    const i = rand(enrollments.length);
    const target = rand(2) === 0 ? { enrollmentId: enrollments[i]?.id } : { invoiceNumber: invoiceNumbers[i] };
    return {
      channel: 'online',
      method: rand(2) === 0 ? 'checking' : 'savings',
      amountCents: 1000 + rand(30_000),
      ...target,
      bankAccount: { routingNumber: '011000015', accountNumber: '123456789' },
    };
  };
  const paid: string[] = [];
  const statuses: Record<string, number> = {};
  const count = (s: number) => {
    statuses[s] = (statuses[s] ?? 0) + 1;
  };
  for (let round = 0; round < 4; round++) {
    const returnable = paid.splice(0, 6);
    const results = await Promise.all([
      ...Array.from({ length: 12 }, () =>
        http(base, ctx.opsKey, 'POST', '/v1/payments', payment(), { 'idempotency-key': crypto.randomUUID() }),
      ),
      ...returnable.map((id) =>
        http(
          base,
          ctx.opsKey,
          'POST',
          `/v1/payments/${id}/returns`,
          { reasonCode: 'R01' },
          { 'idempotency-key': crypto.randomUUID() },
        ),
      ),
      ...(round === 2 ? [http(base, ctx.opsKey, 'POST', '/v1/billing-runs', { coverageMonth: '2027-02-01' })] : []),
    ]);
    for (const r of results) {
      count(r.status);
      const body = r.json as { id?: string; status?: string } | null;
      if (r.status === 201 && body?.status === 'received' && body.id) paid.push(body.id);
    }
    t.same(await moneyViolations(ctx, [account.memberId]), [], `round ${round + 1}: no invariant is violated`);
  }
  t.notOk(
    Object.keys(statuses).some((s) => Number(s) >= 500 || Number(s) === 0),
    `every request answered: ${JSON.stringify(statuses)}`,
  );
});
