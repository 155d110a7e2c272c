/**
 * Billing-run benchmark (R16): seeds N billable enrollments (default 500,000) in a fresh database and
 * times `BillingService.runBilling` for three consecutive months, reporting each run's seconds, the
 * median, and the process's RSS growth (peak RSS during the runs minus RSS before them). When PostgreSQL
 * runs on this machine it also reports the CPU seconds its backends spent on each run: on a shared,
 * noisy machine that figure moves far less than the wall-clock time, so compare variants by both.
 *
 *   DATABASE_URL=postgres://root@127.0.0.1:5432/test npx tsx bench/billing-run.ts [enrollments]
 *
 * Without DATABASE_URL it uses an embedded PostgreSQL under .data/pg-bench.
 */
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { massachusettsCalendar } from '../src/domain/calendar.js';
import type { IsoDate } from '../src/domain/dates.js';
import { ServiceClock } from '../src/infra/clock.js';
import { BillingService } from '../src/services/billing.js';
import { Stores } from '../src/store/stores.js';
import { benchDatabase, seedAccounts } from './benchDatabase.js';

const N = Number(process.argv[2] ?? 500_000);
const DB = `billing_bench_${process.pid}`;

const { database, close } = await benchDatabase(DB);
try {
  const db = database.db;
  const t0 = performance.now();
  await seedAccounts(db, N);
  await sql`
    insert into enrollments (member_id, carrier_id, coverage_type, plan_name, monthly_premium_cents, status,
                             chosen_coverage_start, coverage_start, selected_at, paid_in_full_at,
                             confirmation_expected_by, credit_cents)
    select (100000000000 + g)::text, 'bench', 'health', 'Plan ' || (g % 7), 30000 + (g % 500) * 100,
           case when g % 2 = 0 then 'confirmed' else 'awaiting_confirmation' end,
           '2027-01-01', '2027-01-01', '2026-12-01T12:00:00Z', '2026-12-10T12:00:00Z', '2026-12-17',
           case when g % 50 = 0 then 10000 else 0 end
    from generate_series(1, ${N}) g`.execute(db);
  await sql`analyze`.execute(db);
  const seedSeconds = (performance.now() - t0) / 1000;

  // CPU seconds (user + system) of this database's backends, read from /proc; null when PostgreSQL
  // is not a local process we can see.
  const ticksPerSecond = 100;
  const backendCpu = async (): Promise<Map<number, number> | null> => {
    const r = await sql<{ pid: number }>`select pid from pg_stat_activity where datname = current_database()`.execute(
      db,
    );
    const cpu = new Map<number, number>();
    for (const { pid } of r.rows) {
      try {
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
        cpu.set(pid, (Number(fields[11]) + Number(fields[12])) / ticksPerSecond);
      } catch {
        return null;
      }
    }
    return cpu;
  };
  const cpuSince = (before: Map<number, number> | null, after: Map<number, number> | null): number | null => {
    if (!before || !after) return null;
    let sum = 0;
    for (const [pid, s] of after) sum += s - (before.get(pid) ?? 0);
    return sum;
  };

  const clock = new ServiceClock();
  clock.freeze(new Date('2027-01-05T12:00:00Z'));
  const billing = new BillingService(new Stores(db), clock, massachusettsCalendar);
  const principal = { keyId: 'bench', role: 'ops' as const, carrierId: null };
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  // The standings pass every run makes first (R30, the same pass as the sweep's), timed alone once.
  const passStart = performance.now();
  const passCpu = process.cpuUsage();
  await (billing as unknown as { sweepStandings(now: Date): Promise<unknown> }).sweepStandings(clock.now());
  const pass = { seconds: (performance.now() - passStart) / 1000, cpu: process.cpuUsage(passCpu) };
  const runs: { month: string; seconds: number; issued: number; dbCpu: number | null; cpu: number }[] = [];
  for (const month of ['2027-02-01', '2027-03-01', '2027-04-01'] as IsoDate[]) {
    const cpuBefore = await backendCpu();
    const start = performance.now();
    const own = process.cpuUsage();
    const run = await billing.runBilling(month, principal);
    const seconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(own);
    runs.push({
      month,
      seconds,
      issued: run.issuedCount,
      dbCpu: cpuSince(cpuBefore, await backendCpu()),
      cpu: (used.user + used.system) / 1e6,
    });
  }
  const again = await billing.runBilling('2027-04-01' as IsoDate, principal);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const sorted = runs.map((r) => r.seconds).sort((a, b) => a - b);
  console.log(`billing-run benchmark: ${N} billable enrollments (seeded in ${seedSeconds.toFixed(1)} s)`);
  console.log(
    `  standings pass alone (each run's first step): ${pass.seconds.toFixed(2)} s, process CPU ${((pass.cpu.user + pass.cpu.system) / 1e6).toFixed(2)} s`,
  );
  for (const r of runs) {
    const cpu = r.dbCpu === null ? '' : `, database CPU ${r.dbCpu.toFixed(1)} s`;
    console.log(
      `  ${r.month}: issued ${r.issued} in ${r.seconds.toFixed(2)} s (process CPU ${r.cpu.toFixed(1)} s${cpu})`,
    );
  }
  console.log(`  repeat of 2027-04-01 issued ${again.issuedCount}`);
  const cpus = runs.map((r) => r.dbCpu).filter((c): c is number => c !== null);
  const medianCpu = cpus.length === runs.length ? (cpus.sort((a, b) => a - b)[1] ?? 0).toFixed(1) : null;
  console.log(
    `  median ${sorted[1]?.toFixed(2)} s; RSS growth ${((peak - rssBefore) / 1e6).toFixed(1)} MB (peak ${(peak / 1e6).toFixed(0)} MB)${medianCpu === null ? '' : `; database CPU median ${medianCpu} s`}`,
  );
} finally {
  await close();
}
