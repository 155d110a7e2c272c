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

const { server, adminDb } = serverOf(process.argv[2] as string);
const DB = 'pf_scratch_queue';
const fresh = process.argv.includes('--seed');
if (fresh) {
  await admin(`${server}/${adminDb}`, `drop database if exists ${DB} with (force)`);
  await admin(`${server}/${adminDb}`, `create database ${DB}`);
}
const database = createDatabase(`${server}/${DB}`, pino({ level: 'silent' }), 10);
if (fresh) {
  await migrateToLatest(database.db);
  const c = new pg.Client({ connectionString: `${server}/${DB}` });
  await c.connect();
  const start = earliestCoverageStart(businessDateOf(new Date()));
  const N = 20000;
  await c.query(
    `insert into carriers (id, name, name_key) select 'carrier-' || c, 'Carrier ' || c, 'carrier ' || c from generate_series(1, 5) c`,
  );
  await c.query(
    `insert into accounts (member_id, first_name, last_name, address_line1, city, state, postal_code, phone_numbers, paperless)
     select (100000000000 + g)::text, 'First' || g, 'Last' || g, g || ' Main St', 'Boston', 'MA', '02108', array['+1617' || lpad(g::text, 7, '0')], g % 3 = 0
     from generate_series(1, $1::int) g`,
    [N],
  );
  await c.query(
    `insert into enrollments (member_id, carrier_id, coverage_type, plan_name, monthly_premium_cents, status,
                              chosen_coverage_start, coverage_start, selected_at, paid_in_full_at, confirmation_expected_by)
     select (100000000000 + g)::text, 'carrier-' || (1 + g % 5), 'health', 'Plan ' || (g % 7), 45000,
            case when g % 4 = 0 then 'awaiting_confirmation' else 'pending_payment' end,
            $2::date, $2::date, now(), case when g % 4 = 0 then now() end, case when g % 4 = 0 then current_date + 7 end
     from generate_series(1, $1::int) g`,
    [N, start],
  );
  await c.query(
    `insert into invoices (invoice_number, enrollment_id, member_id, coverage_month, due_date, amount_due_cents, amount_paid_cents, is_binder, delivery, issued_at)
     select n::text || luhn_digit(n), id, member_id, $1::date, $2::date, 45000, case when status = 'awaiting_confirmation' then 45000 else 0 end, true, 'mail', now()
     from (select e.*, nextval('invoice_number_seq') as n from enrollments e order by seq) s`,
    [start, paymentDueDate(start)],
  );
  await c.query('vacuum analyze');
  await c.end();
}
const app = await buildApp({ config: testConfig(), database, clock: new ServiceClock(), logger: false });
const { secret } = await new ApiKeyStore(database.db).create({ role: 'carrier', carrierId: 'carrier-1', name: 'q' });
const url =
  process.argv.slice(3).find((a) => a.startsWith('/v1')) ?? '/v1/enrollments?status=awaiting_confirmation&limit=100';
const get = () => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${secret}` } });
const first = await get();
console.log(first.statusCode, first.body.length, first.statusCode !== 200 ? first.body : '');
for (let i = 0; i < 50; i++) await get();
const n = Number(process.env.N ?? 400);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: 10 }, async () => {
    while (next++ < n) await get();
  }),
);
const cpu = process.cpuUsage(cpu0);
console.log(
  `${n} pages in ${((performance.now() - t0) / 1000).toFixed(2)} s; CPU per page ${((cpu.user + cpu.system) / 1000 / n).toFixed(2)} ms; from ${t0.toFixed(0)} ms`,
);
await app.close();
await database.close();
