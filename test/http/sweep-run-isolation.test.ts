import { sql } from 'kysely';
import pino from 'pino';
import t from 'tap';
import { testApp } from '../helpers/app.js';
import { type BillingRunJson, billingRun } from '../helpers/billing.js';
import { newAccount, newCarrier, setClock } from '../helpers/factories.js';
import { expectStatus } from '../helpers/responses.js';
import { memoryStream } from '../helpers/safety.js';

// I5: one enrollment's failure never stops a sweep or a billing run for the others. Each test plants
// a constraint in this test database that exactly one of 201 enrollments violates, then checks that
// the other 200 were processed, the failure was counted and logged by enrollment id (no data), and
// that the enrollment is processed once the cause is gone.
const logs = memoryStream();
const ctx = await testApp(t, { logger: pino({ level: 'info' }, logs.stream) });
const carrier = await newCarrier(ctx, { name: 'Isolation Health' });

/** `n` checkouts starting 2027-01-01, made at 2026-12-05 (one account each). */
async function checkouts(n: number): Promise<string[]> {
  await setClock(ctx, '2026-12-05T10:00:00-05:00');
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const account = await newAccount(ctx);
    const res = await ctx.request({
      method: 'POST',
      url: '/v1/enrollments',
      payload: {
        memberId: account.memberId,
        carrierId: carrier.id,
        coverageType: 'health',
        planName: 'Isolation Plan',
        monthlyPremiumCents: 30000,
        coverageStart: '2027-01-01',
      },
    });
    expectStatus(res, 201);
    ids.push((res.json() as { id: string }).id);
  }
  return ids;
}

function loggedFailures(kind: string): { enrollmentId?: string; code?: string; [k: string]: unknown }[] {
  return logs
    .text()
    .split('\n')
    .filter((l) => l.includes(kind))
    .map((l) => JSON.parse(l) as { enrollmentId?: string; code?: string });
}

t.test('a billing run bills 200 enrollments when one of them fails, and names the one', async (t) => {
  const ids = await checkouts(201);
  await sql`update invoices set amount_paid_cents = amount_due_cents where is_binder and enrollment_id = any(${ids})`.execute(
    ctx.database.db,
  );
  await sql`update enrollments set status = 'awaiting_confirmation', paid_in_full_at = '2026-12-05T15:00:00Z'
            where id = any(${ids})`.execute(ctx.database.db);
  const bad = ids[137] as string;
  await sql`alter table invoices add constraint planted_failure
            check (enrollment_id <> ${sql.lit(bad)} or coverage_month <> '2027-03-01') not valid`.execute(
    ctx.database.db,
  );
  await setClock(ctx, '2027-02-10T10:00:00-05:00');
  const res = await billingRun(ctx, '2027-03-01');
  expectStatus(res, 201);
  const run = res.json() as BillingRunJson & { failedCount: number };
  t.equal(run.issuedCount, 200, 'the 200 good enrollments are billed');
  t.equal(run.failedCount, 1, 'the failing one is counted');
  const billed = await sql<{ n: number }>`select count(*)::int as n from invoices
    where coverage_month = '2027-03-01' and enrollment_id = any(${ids})`.execute(ctx.database.db);
  t.equal(billed.rows[0]?.n, 200);
  const logged = loggedFailures('billing run: enrollment failed');
  t.same(
    logged.map((l) => [l.enrollmentId, l.code]),
    [[bad, '23514']],
    'logged once, by enrollment id and error code',
  );
  t.notOk(JSON.stringify(logged).includes('detail'), 'no row data in the log');

  await sql`alter table invoices drop constraint planted_failure`.execute(ctx.database.db);
  const again = (await billingRun(ctx, '2027-03-01')).json() as BillingRunJson & { failedCount: number };
  t.same([again.issuedCount, again.failedCount], [1, 0], 'running the month again bills the one left');
});

t.test('a deadline sweep records 200 moves when one enrollment fails, and names the one', async (t) => {
  const ids = await checkouts(201);
  const bad = ids[42] as string;
  await sql`alter table enrollment_history add constraint planted_failure
            check (enrollment_id <> ${sql.lit(bad)} or type <> 'coverage_start_moved') not valid`.execute(
    ctx.database.db,
  );
  await setClock(ctx, '2026-12-28T10:00:00-05:00'); // January's due date (2026-12-23) has passed
  const res = await ctx.request({ method: 'POST', url: '/v1/ops/deadline-sweeps' });
  expectStatus(res, 200);
  const body = res.json() as { enrollmentsMoved: number; enrollmentsFailed: number };
  t.equal(body.enrollmentsMoved, 200, 'the 200 good enrollments moved');
  t.equal(body.enrollmentsFailed, 1, 'the failing one is counted');
  const starts = await sql<{ id: string; coverage_start: string }>`select id, coverage_start::text from enrollments
    where id = any(${ids})`.execute(ctx.database.db);
  t.same(
    starts.rows.filter((r) => r.coverage_start !== '2027-02-01').map((r) => [r.id, r.coverage_start]),
    [[bad, '2027-01-01']],
    'only the failing enrollment is left unrecorded (rolled back alone)',
  );
  t.same(
    loggedFailures('deadline sweep: enrollment failed').map((l) => [l.enrollmentId, l.code]),
    [[bad, '23514']],
  );
  const read = await ctx.request({ method: 'GET', url: `/v1/enrollments/${bad}` });
  expectStatus(read, 200);
  t.equal((read.json() as { coverageStart: string }).coverageStart, '2027-02-01', 'reads still project the move');

  await sql`alter table enrollment_history drop constraint planted_failure`.execute(ctx.database.db);
  const again = (await ctx.request({ method: 'POST', url: '/v1/ops/deadline-sweeps' })).json() as {
    enrollmentsMoved: number;
    enrollmentsFailed: number;
  };
  t.same([again.enrollmentsMoved, again.enrollmentsFailed], [1, 0], 'the next sweep records the one left');
});
