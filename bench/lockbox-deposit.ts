/**
 * Lockbox deposit benchmark (R34, issue 14): "a deposit of 5,000 items is recorded in under 5 seconds
 * here". Seeds, for each of 3 runs, N pending binder invoices (default 5,000) on their own accounts,
 * then posts one N-item deposit per run through the HTTP app (`app.inject`: body parsing, the card
 * screen, validation and the whole transaction), and reports each run, the median and the process's
 * RSS growth (peak during the runs minus before them).
 *
 * The mix: 80% slips with a valid scan line, 15% remittance only (Member ID, names, carrier), 5% that
 * match nothing (kept unapplied); every item pays its invoice in full.
 *
 *   DATABASE_URL=postgres://root@127.0.0.1:5432/test npx tsx bench/lockbox-deposit.ts [items]
 *
 * Without DATABASE_URL it uses an embedded PostgreSQL under .data/pg-bench.
 */

import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { type Kysely, sql } from 'kysely';
import { buildApp } from '../src/app.js';
import { luhnCheckDigit } from '../src/domain/numbers.js';
import { ApiKeyStore } from '../src/store/apiKeys.js';
import { testConfig } from '../test/helpers/app.js';
import { benchDatabase, seedAccounts } from './benchDatabase.js';

const N = Number(process.argv[2] ?? 5_000);
const RUNS = 3;
const PREMIUM = 45_000;
const DB = `lockbox_bench_${process.pid}`;

/**
 * CPU seconds the database's server processes for this bench database have used, read from /proc
 * (the server runs on this machine); null when it cannot be read. A figure the machine's load does
 * not change much, unlike the wall time.
 */
async function databaseCpuSeconds(db: Kysely<any>, name: string): Promise<number | null> {
  try {
    const r = await sql<{ pid: number }>`select pid from pg_stat_activity where datname = ${name}`.execute(db);
    const ticks = r.rows.map(({ pid }) => {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return Number(fields[11]) + Number(fields[12]);
    });
    return ticks.reduce((a, b) => a + b, 0) / 100;
  } catch {
    return null;
  }
}

const scanLine = (invoiceNumber: string, cents: number) => {
  const amount = String(cents).padStart(11, '0');
  return `${invoiceNumber} ${amount} ${luhnCheckDigit(invoiceNumber + amount)}`;
};

/** Run r's deposit: item i pays member (r * N + i + 1)'s binder invoice. */
function depositOf(run: number) {
  const items = Array.from({ length: N }, (_, i) => {
    const g = run * N + i + 1;
    const base = {
      sequence: i + 1,
      method: 'check',
      amountCents: PREMIUM,
      checkNumber: String(10_000 + i),
      payableTo: 'Health Connector',
    };
    if (i % 20 === 0) {
      const memberId = String(900_000_000_000 + g);
      return { ...base, remittance: { memberId, firstName: 'No', lastName: 'Body', carrierName: 'Bench Carrier' } };
    }
    if (i % 20 <= 3) {
      const memberId = String(100_000_000_000 + g);
      return {
        ...base,
        remittance: { memberId, firstName: `First${g}`, lastName: `Last${g}`, carrierName: 'Bench Carrier' },
      };
    }
    return { ...base, scanLine: scanLine(String(2_000_000_000 + g), PREMIUM) };
  });
  return {
    depositId: `BENCH-${run}`,
    depositDate: '2026-12-10',
    items,
    control: { itemCount: N, totalCents: N * PREMIUM },
  };
}

const { database, close } = await benchDatabase(DB);
try {
  const db = database.db;
  const t0 = performance.now();
  await seedAccounts(db, N * RUNS);
  await sql`
    insert into enrollments (member_id, carrier_id, coverage_type, plan_name, monthly_premium_cents, status,
                             chosen_coverage_start, coverage_start, selected_at)
    select (100000000000 + g)::text, 'bench', 'health', 'Plan ' || (g % 7), ${PREMIUM}, 'pending_payment',
           '2027-01-01', '2027-01-01', '2026-12-01T12:00:00Z'
    from generate_series(1, ${N * RUNS}) g`.execute(db);
  await sql`
    insert into invoices (invoice_number, enrollment_id, member_id, coverage_month, due_date, amount_due_cents,
                          amount_paid_cents, is_binder, delivery, issued_at)
    select (2000000000 + (e.member_id::bigint - 100000000000))::text, e.id, e.member_id, '2027-01-01',
           '2026-12-23', ${PREMIUM}, 0, true, 'mail', '2026-12-01'
    from enrollments e`.execute(db);
  await sql`analyze`.execute(db);
  const seedSeconds = (performance.now() - t0) / 1000;

  const app = await buildApp({ config: testConfig(), database, logger: false, apiKeyCache: false });
  const { secret } = await new ApiKeyStore(db).create({ role: 'ops', carrierId: null, name: 'bench' });
  // The test clock is shared through the database (docs/decisions.md, "Several instances"): set it as
  // a client does, so every request reads the same instant.
  const setClock = await app.inject({
    method: 'PUT',
    url: '/v1/ops/clock',
    headers: { authorization: `Bearer ${secret}` },
    payload: { now: '2026-12-10T15:00:00Z' },
  });
  if (setClock.statusCode !== 200) throw new Error(`clock: ${setClock.statusCode} ${setClock.body}`);
  const bodies = Array.from({ length: RUNS }, (_, r) => JSON.stringify(depositOf(r)));

  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const seconds: number[] = [];
  const cpuSeconds: number[] = [];
  const dbCpuSeconds: number[] = [];
  for (const [r, payload] of bodies.entries()) {
    const dbCpu = await databaseCpuSeconds(db, DB);
    const start = performance.now();
    const cpu = process.cpuUsage();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/ops/lockbox-deposits',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      payload,
    });
    seconds.push((performance.now() - start) / 1000);
    const used = process.cpuUsage(cpu);
    cpuSeconds.push((used.user + used.system) / 1e6);
    const dbCpuAfter = await databaseCpuSeconds(db, DB);
    dbCpuSeconds.push(dbCpu === null || dbCpuAfter === null ? Number.NaN : dbCpuAfter - dbCpu);
    if (res.statusCode !== 201) throw new Error(`run ${r}: ${res.statusCode} ${res.body.slice(0, 500)}`);
    const totals = (res.json() as { totals: Record<string, { count: number }> }).totals;
    console.log(
      `  run ${r + 1}: ${(seconds.at(-1) as number).toFixed(2)} s, service CPU ${(cpuSeconds.at(-1) as number).toFixed(2)} s, database CPU ${(dbCpuSeconds.at(-1) as number).toFixed(2)} s (applied ${totals.applied?.count}, unapplied ${totals.unapplied?.count}, returned ${totals.returnedToSender?.count}; body ${(payload.length / 1e6).toFixed(2)} MB)`,
    );
  }
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  await app.close();
  // What was written adds up (every payment recorded once, every matched item paid its invoice).
  const check = await sql<{ payments: string; paid: string; unapplied: string }>`
    select (select count(*) from payments) as payments,
           (select coalesce(sum(amount_paid_cents), 0) from invoices) as paid,
           (select count(*) from payments where status = 'unapplied') as unapplied`.execute(db);
  const row = check.rows[0];
  const matched = N - Math.ceil(N / 20);
  if (
    Number(row?.payments) !== N * RUNS ||
    Number(row?.paid) !== matched * RUNS * PREMIUM ||
    Number(row?.unapplied) !== (N - matched) * RUNS
  ) {
    throw new Error(`the database does not add up: ${JSON.stringify(row)}`);
  }
  const median = [...seconds].sort((a, b) => a - b)[Math.floor(RUNS / 2)] as number;
  const medianCpu = [...cpuSeconds].sort((a, b) => a - b)[Math.floor(RUNS / 2)] as number;
  const medianDbCpu = [...dbCpuSeconds].sort((a, b) => a - b)[Math.floor(RUNS / 2)] as number;
  console.log(
    `lockbox deposit benchmark: ${N} items per deposit, ${RUNS} runs (seeded in ${seedSeconds.toFixed(1)} s)`,
  );
  console.log(
    `  median ${median.toFixed(2)} s (${seconds.map((s) => s.toFixed(2)).join(' / ')} s); target < 5 s: ${median < 5 ? 'met' : 'not met'}`,
  );
  console.log(
    `  CPU per deposit, median: service (Node) ${medianCpu.toFixed(2)} s, database ${medianDbCpu.toFixed(2)} s; the machine's load average ${loadavg()[0]?.toFixed(1)}`,
  );
  console.log(`  RSS growth ${((peak - rssBefore) / 1e6).toFixed(1)} MB (peak ${(peak / 1e6).toFixed(0)} MB)`);
} finally {
  await close();
}
