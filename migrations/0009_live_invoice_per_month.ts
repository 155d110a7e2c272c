import { type Kysely, sql } from 'kysely';

/**
 * I1 and R25 (docs/decisions.md, "Money under concurrency"): at most one LIVE invoice per enrollment
 * and month. A binder that moves into a month whose regular invoice is voided must be able to sit
 * beside that void invoice, so the key covers live invoices only. The third key column is `true` for a
 * live invoice and null for a void one (nulls never collide), so one index still serves every lookup
 * by enrollment (void invoices included) and the billing run's `on conflict` arbiter.
 * Billing runs record how many enrollments failed (I5).
 */
/** The index is built outside a transaction (migrations/README.md): payments never wait for the build. */
export const transaction = false;

/** True when the index exists and is valid (a concurrent build that failed half way leaves it invalid). */
async function validIndex(db: Kysely<any>, name: string): Promise<boolean> {
  const r = await sql<{ valid: boolean }>`
    select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid
    where c.relname = ${name}`.execute(db);
  return r.rows[0]?.valid === true;
}

export async function up(db: Kysely<any>): Promise<void> {
  if (!(await validIndex(db, 'invoices_live_month'))) {
    await sql`drop index concurrently if exists invoices_live_month`.execute(db);
    await sql`
      create unique index concurrently invoices_live_month
        on invoices (enrollment_id, coverage_month, (case when voided_at is null then true end))`.execute(db);
  }
  // Quick under its (bounded) lock: the constraint's index is dropped, nothing is rewritten.
  await sql`alter table invoices drop constraint if exists invoices_enrollment_id_coverage_month_key`.execute(db);
  await sql`alter table billing_runs add column if not exists failed_count integer not null default 0`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table billing_runs drop column if exists failed_count`.execute(db);
  if (!(await validIndex(db, 'invoices_enrollment_id_coverage_month_key'))) {
    await sql`drop index concurrently if exists invoices_enrollment_id_coverage_month_key`.execute(db);
    await sql`
      create unique index concurrently invoices_enrollment_id_coverage_month_key
        on invoices (enrollment_id, coverage_month)`.execute(db);
  }
  await sql`
    do $$ begin
      if not exists (select from pg_constraint where conname = 'invoices_enrollment_id_coverage_month_key') then
        alter table invoices add constraint invoices_enrollment_id_coverage_month_key
          unique using index invoices_enrollment_id_coverage_month_key;
      end if;
    end $$`.execute(db);
  await sql`drop index concurrently if exists invoices_live_month`.execute(db);
}
