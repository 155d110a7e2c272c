/**
 * Where a payment's database work goes (issue 16): posts M binder-completing payments through the app
 * (in-process, `app.inject`, C at a time) and, for the same number of transactions, runs the physical
 * anchor (bench/anchor/) with pgbench; for each it reports WAL bytes per payment, and from
 * `pg_walinspect` the WAL records per payment by relation (index inserts, heap inserts and updates,
 * HOT or not), and, when the server preloads `pg_stat_statements`, the statements by total time.
 *
 *   npx tsx bench/payment-profile.ts postgres://root@127.0.0.1:5432/postgres [payments=2000] [concurrency=10]
 *
 * WAL is counted between two LSNs, so run it on a server nobody else writes to (the figures of
 * docs/performance.md came from a private PostgreSQL 15 started for the purpose with
 * `shared_preload_libraries = 'pg_stat_statements'`).
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { buildApp } from '../src/app.js';
import { businessDateOf } from '../src/domain/dates.js';
import { earliestCoverageStart, paymentDueDate } from '../src/domain/deadlines.js';
import { ServiceClock } from '../src/infra/clock.js';
import { createDatabase } from '../src/infra/db.js';
import { migrateToLatest } from '../src/infra/migrate.js';
import { ApiKeyStore } from '../src/store/apiKeys.js';
import { testConfig } from '../test/helpers/app.js';
import { admin, serverOf } from '../test/helpers/serverAdmin.js';

const [url, mText, cText] = process.argv.slice(2);
if (!url) throw new Error('usage: payment-profile.ts <server url> [payments] [concurrency]');
const M = Number(mText ?? 2000);
const C = Number(cText ?? 10);
const ROOT = path.resolve(import.meta.dirname, '..');
const { server, adminDb } = serverOf(url);
const DB = `payment_profile_${process.pid}`;
const ANCHOR = `${DB}_anchor`;

interface WalShare {
  bytes: number;
  /** The records' bytes without their full-page images (what a payment writes once every page was imaged). */
  withoutImages: number;
  /** Records with full-page images per payment (the first change of a page after a checkpoint). */
  images: number;
  /** Records per payment, and their bytes without full-page images. */
  records: { relation: string; kind: string; perPayment: number; bytes: number }[];
}

/** WAL between two LSNs of this database, per payment, grouped by relation and record type. */
async function walOf(c: pg.Client, from: string, to: string, n: number): Promise<WalShare> {
  const bytes = await c.query(`select pg_wal_lsn_diff($2::pg_lsn, $1::pg_lsn)::float8 as b`, [from, to]);
  const fpi = await c.query(
    `select sum(record_length - fpi_length)::float8 as plain, count(*) filter (where fpi_length > 0)::float8 as images
     from pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)`,
    [from, to],
  );
  const r = await c.query(
    `with recs as (
       select resource_manager, record_type, record_length - fpi_length as plain,
              (regexp_match(block_ref, 'rel \\d+/\\d+/(\\d+)'))[1]::oid as node
       from pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)
     )
     select coalesce(cl.relname, case when recs.node is null then '(no relation)' else '(other)' end) as relation,
            resource_manager || ' ' || record_type as kind, count(*)::float8 / $3 as per_payment,
            sum(plain)::float8 / $3 as plain_bytes
     from recs left join pg_class cl on cl.relfilenode = recs.node
     group by 1, 2 having count(*)::float8 / $3 >= 0.05 order by 1, 2`,
    [from, to, n],
  );
  return {
    bytes: bytes.rows[0].b / n,
    withoutImages: fpi.rows[0].plain / n,
    images: fpi.rows[0].images / n,
    records: r.rows.map((x) => ({
      relation: x.relation,
      kind: x.kind,
      perPayment: Number(x.per_payment.toFixed(2)),
      bytes: Math.round(x.plain_bytes),
    })),
  };
}

/**
 * CPU seconds of the server's backends (this database's, and the ones that ended since are lost; the
 * pgbench and service connections stay open), read from /proc: null when PostgreSQL is not local.
 * Ticks of the clients of `c`'s database, including ones that end: summed over every backend pid seen.
 */
const seen = new Map<number, number>();
async function backendCpu(c: pg.Client): Promise<number | null> {
  const r = await c.query(
    `select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`,
  );
  let sum = 0;
  for (const { pid } of r.rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      seen.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      return null;
    }
  }
  for (const v of seen.values()) sum += v;
  return sum;
}
const cpuSince = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);

function print(name: string, w: WalShare): void {
  console.log(
    `\n${name}: ${w.bytes.toFixed(0)} WAL bytes per payment (${w.images.toFixed(1)} full-page images); without the images ${w.withoutImages.toFixed(0)} bytes`,
  );
  for (const r of w.records) {
    console.log(`  ${r.perPayment.toFixed(2)}  ${String(r.bytes).padStart(5)} B  ${r.kind.padEnd(28)} ${r.relation}`);
  }
}

await admin(`${server}/${adminDb}`, `create database ${DB}`);
await admin(`${server}/${adminDb}`, `create database ${ANCHOR}`);
const database = createDatabase(`${server}/${DB}`, pino({ level: 'silent' }), 20);
const c = new pg.Client({ connectionString: `${server}/${DB}` });
try {
  await migrateToLatest(database.db);
  await c.connect();
  await c.query('create extension if not exists pg_walinspect');
  await c.query('create extension if not exists pg_stat_statements').catch(() => {});
  const start = earliestCoverageStart(businessDateOf(new Date()));
  await c.query(`insert into carriers (id, name, name_key) values ('carrier-1', 'Carrier 1', 'carrier 1')`);
  await c.query(
    `insert into accounts (member_id, first_name, last_name, address_line1, city, state, postal_code, phone_numbers)
     select (100000000000 + g)::text, 'First' || g, 'Last' || g, g || ' Main St', 'Boston', 'MA', '02108',
            array['+1617' || lpad(g::text, 7, '0')]
     from generate_series(1, 100000) g`,
  );
  await c.query(
    `insert into enrollments (member_id, carrier_id, coverage_type, plan_name, monthly_premium_cents, status,
                              chosen_coverage_start, coverage_start, selected_at)
     select (100000000000 + g)::text, 'carrier-1', 'health', 'Plan ' || (g % 7), 45000, 'pending_payment',
            $1::date, $1::date, now()
     from generate_series(1, 100000) g`,
    [start],
  );
  await c.query(
    `insert into invoices (invoice_number, enrollment_id, member_id, coverage_month, due_date, amount_due_cents,
                           amount_paid_cents, is_binder, delivery, issued_at)
     select n::text || luhn_digit(n), id, member_id, $1::date, $2::date, 45000, 0, true, 'mail', now()
     from (select e.*, nextval('invoice_number_seq') as n from enrollments e order by seq) s`,
    [start, paymentDueDate(start)],
  );
  await c.query('vacuum analyze');
  const pending = (await c.query(`select id from enrollments order by random() limit $1`, [M])).rows.map((r) => r.id);

  const config = testConfig({ DEADLINE_SWEEP_INTERVAL_MS: '0' });
  const app = await buildApp({ config, database, clock: new ServiceClock(), logger: false });
  const { secret } = await new ApiKeyStore(database.db).create({ role: 'connector', carrierId: null, name: 'p' });
  const pay = (enrollmentId: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/payments',
      headers: { authorization: `Bearer ${secret}`, 'idempotency-key': randomUUID() },
      payload: {
        channel: 'online',
        method: 'checking',
        amountCents: 45000,
        enrollmentId,
        bankAccount: { routingNumber: '011000015', accountNumber: '123456789' },
      },
    });
  await pay(pending.pop() as string); // warm-up
  await c.query('checkpoint');
  const statements = await c
    .query('select pg_stat_statements_reset()')
    .then(() => true)
    .catch(() => false);
  const lsn0 = (await c.query('select pg_current_wal_lsn() as l')).rows[0].l;
  const cpu0 = process.cpuUsage();
  const db0 = await backendCpu(c);
  const t0 = performance.now();
  let next = 0;
  let errors = 0;
  const n = pending.length;
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < n) {
        const r = await pay(pending[next++] as string);
        if (r.statusCode !== 201) errors++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const lsn1 = (await c.query('select pg_current_wal_lsn() as l')).rows[0].l;
  const cpu1 = process.cpuUsage(cpu0);
  const dbCpu = cpuSince(db0, await backendCpu(c));
  console.log(`service: ${n} payments, ${C} at a time, in ${seconds.toFixed(2)} s, ${errors} errors`);
  // For `node --cpu-prof`: where the payments are in the profile (ms since the process started).
  console.log(`  posted from ${t0.toFixed(0)} to ${(t0 + seconds * 1000).toFixed(0)} ms (performance.now)`);
  console.log(
    `  CPU per payment: service process ${((cpu1.user + cpu1.system) / 1000 / n).toFixed(3)} ms (user ${(cpu1.user / 1000 / n).toFixed(3)}, system ${(cpu1.system / 1000 / n).toFixed(3)}), database backends ${dbCpu === null ? 'n/a' : ((dbCpu * 1000) / n).toFixed(3)} ms`,
  );
  print('service', await walOf(c, lsn0, lsn1, n));
  if (statements) {
    const s = await c.query(
      `select calls, round(total_exec_time::numeric, 1) as total_ms, round(mean_exec_time::numeric, 3) as mean_ms,
              round(wal_bytes::numeric / greatest(calls, 1)) as wal_per_call, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) as q
       from pg_stat_statements s join pg_database d on d.oid = s.dbid
       where d.datname = current_database() order by total_exec_time desc limit 15`,
    );
    console.log('\nservice statements (pg_stat_statements, top 15 by total time):');
    for (const r of s.rows) console.log(`  ${r.calls}\t${r.total_ms} ms\t${r.mean_ms} ms\t${r.wal_per_call} B\t${r.q}`);
  }
  await app.close();

  // The anchor, the same number of transactions at the same concurrency.
  execFileSync(
    'psql',
    ['-q', '-v', 'ON_ERROR_STOP=1', '-f', path.join(ROOT, 'bench/anchor/anchor-schema.sql'), `${server}/${ANCHOR}`],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, PGOPTIONS: '-c client_min_messages=warning' } },
  );
  const a = new pg.Client({ connectionString: `${server}/${ANCHOR}` });
  await a.connect();
  await a.query('create extension if not exists pg_walinspect');
  await a.query('checkpoint');
  const alsn0 = (await a.query('select pg_current_wal_lsn() as l')).rows[0].l;
  seen.clear();
  const adb0 = 0;
  // Sampled while pgbench runs: its backends end with it.
  let sampling = false;
  const sampler = setInterval(() => {
    if (sampling) return;
    sampling = true;
    void backendCpu(a)
      .catch(() => {})
      .finally(() => {
        sampling = false;
      });
  }, 50);
  await new Promise<void>((resolve, reject) => {
    execFile(
      'pgbench',
      [
        '-n',
        '-M',
        'prepared',
        '-c',
        String(C),
        '-j',
        '2',
        '-t',
        String(Math.ceil(n / C)),
        '-f',
        path.join(ROOT, 'bench/anchor/anchor-payment.pgbench'),
        `${server}/${ANCHOR}`,
      ],
      (err) => (err ? reject(err) : resolve()),
    );
  });
  clearInterval(sampler);
  const alsn1 = (await a.query('select pg_current_wal_lsn() as l')).rows[0].l;
  const adbCpu = cpuSince(
    adb0,
    [...seen.values()].reduce((x, y) => x + y, 0),
  );
  const an = Math.ceil(n / C) * C;
  console.log(
    `\nanchor: ${an} transactions; database CPU per payment ${adbCpu === null ? 'n/a' : ((adbCpu * 1000) / an).toFixed(3)} ms`,
  );
  print('anchor', await walOf(a, alsn0, alsn1, Math.ceil(n / C) * C));
  await a.end();
} finally {
  await c.end().catch(() => {});
  await database.close();
  await admin(`${server}/${adminDb}`, `drop database if exists ${DB} with (force)`);
  await admin(`${server}/${adminDb}`, `drop database if exists ${ANCHOR} with (force)`);
}
