/**
 * Non-payment sweep benchmark (R29/R30, issue 13): seeds N binder-paid enrollments (default 500,000)
 * whose January binder is paid and whose February invoice (due 2027-01-23) is paid by all but 5%,
 * then times `BillingService.sweepMissedDeadlines` on 2027-01-24 (every delinquent one gets its
 * `past_due` stage, notice and event) and a second sweep (nothing left to record), reporting seconds
 * and the process's RSS growth (peak during the sweeps minus before them).
 *
 *   DATABASE_URL=postgres://root@127.0.0.1:5432/test npx tsx bench/nonpayment-sweep.ts [enrollments]
 *
 * Without DATABASE_URL it uses an embedded PostgreSQL under .data/pg-bench.
 */
import { sql } from 'kysely';
import { massachusettsCalendar } from '../src/domain/calendar.js';
import { ServiceClock } from '../src/infra/clock.js';
import { BillingService } from '../src/services/billing.js';
import { Stores } from '../src/store/stores.js';
import { benchDatabase, seedAccounts } from './benchDatabase.js';

const N = Number(process.argv[2] ?? 500_000);
const DB = `nonpayment_bench_${process.pid}`;

const { database, close } = await benchDatabase(DB);
try {
  const db = database.db;
  const t0 = performance.now();
  await seedAccounts(db, N);
  await sql`
    insert into enrollments (member_id, carrier_id, coverage_type, plan_name, monthly_premium_cents, status,
                             chosen_coverage_start, coverage_start, selected_at, paid_in_full_at,
                             confirmation_expected_by, subsidy)
    select (100000000000 + g)::text, 'bench', 'health', 'Plan ' || (g % 7), 30000,
           case when g % 2 = 0 then 'confirmed' else 'awaiting_confirmation' end,
           '2027-01-01', '2027-01-01', '2026-12-01T12:00:00Z', '2026-12-10T12:00:00Z', '2026-12-17',
           (array['none', 'aptc', 'connectorcare'])[1 + g % 3]
    from generate_series(1, ${N}) g`.execute(db);
  // January's binder paid by everyone; February (due 2027-01-23) paid by all but every 20th member.
  await sql`
    insert into invoices (invoice_number, enrollment_id, member_id, coverage_month, due_date, amount_due_cents,
                          amount_paid_cents, is_binder, delivery, issued_at)
    select 'B' || e.seq, e.id, e.member_id, '2027-01-01', '2026-12-23', 30000, 30000, true, 'mail', '2026-12-01'
    from enrollments e`.execute(db);
  await sql`
    insert into invoices (invoice_number, enrollment_id, member_id, coverage_month, due_date, amount_due_cents,
                          amount_paid_cents, delivery, issued_at)
    select 'F' || e.seq, e.id, e.member_id, '2027-02-01', '2027-01-23', 30000,
           case when e.seq % 20 = 0 then 0 else 30000 end, 'mail', '2027-01-01'
    from enrollments e`.execute(db);
  await sql`analyze`.execute(db);
  const seedSeconds = (performance.now() - t0) / 1000;

  const clock = new ServiceClock();
  clock.freeze(new Date('2027-01-24T14:00:00Z'));
  const billing = new BillingService(new Stores(db), clock, massachusettsCalendar);
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const first = performance.now();
  const r1 = await billing.sweepMissedDeadlines();
  const firstSeconds = (performance.now() - first) / 1000;
  const second = performance.now();
  const r2 = await billing.sweepMissedDeadlines();
  const secondSeconds = (performance.now() - second) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(`non-payment sweep benchmark: ${N} enrollments, 5% delinquent (seeded in ${seedSeconds.toFixed(1)} s)`);
  console.log(`  first sweep: ${r1.standingsRecorded} standings recorded in ${firstSeconds.toFixed(2)} s`);
  console.log(`  second sweep: ${r2.standingsRecorded} recorded in ${secondSeconds.toFixed(2)} s`);
  console.log(`  RSS growth ${((peak - rssBefore) / 1e6).toFixed(1)} MB (peak ${(peak / 1e6).toFixed(0)} MB)`);
} finally {
  await close();
}
