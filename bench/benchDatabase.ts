import path from 'node:path';
import { type Kysely, sql } from 'kysely';
import pino from 'pino';
import { createDatabase, type Database, DEFAULT_DATABASE_LIMITS } from '../src/infra/db.js';
import { migrateToLatest } from '../src/infra/migrate.js';
import { admin, serverOf } from '../test/helpers/serverAdmin.js';

/**
 * A fresh, migrated database for one bench run: on DATABASE_URL's server, else on an embedded one
 * under .data/pg-bench. `close` drops it (KEEP_DB=1 keeps it) and stops the embedded server.
 */
export async function benchDatabase(name: string): Promise<{ database: Database; close: () => Promise<void> }> {
  let serverUrl: string;
  let adminDb = 'postgres';
  let stop: (() => Promise<void>) | undefined;
  if (process.env.DATABASE_URL) {
    ({ server: serverUrl, adminDb } = serverOf(process.env.DATABASE_URL));
  } else {
    const { startEmbeddedPostgres } = await import('../src/infra/embedded.js');
    const embedded = await startEmbeddedPostgres({ dataDir: path.resolve('.data/pg-bench'), port: 54331 });
    serverUrl = embedded.serverUrl;
    stop = embedded.stop;
  }
  await admin(`${serverUrl}/${adminDb}`, `create database ${name}`);
  // Seeding puts hundreds of thousands of rows in one statement: the service's per-statement limits
  // (15 s) are for requests, not for building a bench database.
  const limits = { ...DEFAULT_DATABASE_LIMITS, startupParameters: false, queryTimeoutMs: 30 * 60_000 };
  const database = createDatabase(`${serverUrl}/${name}`, pino({ level: 'silent' }), 4, limits);
  await migrateToLatest(database.db);
  return {
    database,
    close: async () => {
      await database.close();
      if (!process.env.KEEP_DB) await admin(`${serverUrl}/${adminDb}`, `drop database if exists ${name} with (force)`);
      else console.log(`kept database ${name}`);
      await stop?.();
    },
  };
}

/** The bench carrier and `n` accounts (member ids 100000000001..), a third of them paperless. */
export async function seedAccounts(db: Kysely<any>, n: number): Promise<void> {
  await sql`insert into carriers (id, name, name_key) values ('bench', 'Bench Carrier', 'bench carrier')`.execute(db);
  await sql`
    insert into accounts (member_id, first_name, last_name, address_line1, city, state, postal_code, phone_numbers, paperless)
    select (100000000000 + g)::text, 'First' || g, 'Last' || g, g || ' Main St', 'Boston', 'MA', '02108',
           array['+1617' || lpad(g::text, 7, '0')], g % 3 = 0
    from generate_series(1, ${n}) g`.execute(db);
}

/**
 * The HTTP bench's population (`npm run bench`, bench/work-queue-profile.ts): five carriers (plus
 * `carrier-idle` when asked), `n` accounts and one enrollment each with its binder invoice. Every 4th
 * enrollment is paid and awaiting confirmation (the carriers' work queue); the rest are pending with
 * an open binder invoice (what the payment scenario pays, one enrollment per request).
 */
export async function seedWorkQueue(
  seed: { query(text: string, values?: unknown[]): Promise<unknown> },
  n: number,
  start: string,
  dueDate: string,
  opts: { idleCarrier?: boolean } = {},
): Promise<void> {
  await seed.query(`insert into carriers (id, name, name_key)
    select 'carrier-' || c, 'Carrier ' || c, 'carrier ' || c from generate_series(1, 5) c
    ${opts.idleCarrier ? "union all select 'carrier-idle', 'Carrier Idle', 'carrier idle'" : ''}`);
  await seed.query(
    `insert into accounts (member_id, first_name, last_name, address_line1, city, state, postal_code, phone_numbers, paperless)
     select (100000000000 + g)::text, 'First' || g, 'Last' || g, g || ' Main St', 'Boston', 'MA', '02108',
            array['+1617' || lpad(g::text, 7, '0')], g % 3 = 0
     from generate_series(1, $1::int) g`,
    [n],
  );
  await seed.query(
    `insert into enrollments (member_id, carrier_id, coverage_type, plan_name, monthly_premium_cents, status,
                              chosen_coverage_start, coverage_start, selected_at, paid_in_full_at, confirmation_expected_by)
     select (100000000000 + g)::text, 'carrier-' || (1 + g % 5), 'health', 'Plan ' || (g % 7), 45000,
            case when g % 4 = 0 then 'awaiting_confirmation' else 'pending_payment' end,
            $2::date, $2::date, now(), case when g % 4 = 0 then now() end, case when g % 4 = 0 then current_date + 7 end
     from generate_series(1, $1::int) g`,
    [n, start],
  );
  await seed.query(
    `insert into invoices (invoice_number, enrollment_id, member_id, coverage_month, due_date, amount_due_cents,
                           amount_paid_cents, is_binder, delivery, issued_at)
     select n::text || luhn_digit(n), id, member_id, $1::date, $2::date, 45000,
            case when status = 'awaiting_confirmation' then 45000 else 0 end, true, 'mail', now()
     from (select e.*, nextval('invoice_number_seq') as n from enrollments e order by seq) s`,
    [start, dueDate],
  );
  await seed.query('vacuum analyze');
}
