import { type Kysely, sql } from 'kysely';

/**
 * I1 and R25 (docs/decisions.md, "Money under concurrency"): at most one LIVE invoice per enrollment
 * and month. A binder that moves into a month whose regular invoice is voided must be able to sit
 * beside that void invoice, so the key covers live invoices only. The third key column is `true` for a
 * live invoice and null for a void one (nulls never collide), so one index still serves every lookup
 * by enrollment (void invoices included) and the billing run's `on conflict` arbiter.
 * Billing runs record how many enrollments failed (I5).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create unique index invoices_live_month
      on invoices (enrollment_id, coverage_month, (case when voided_at is null then true end))`.execute(db);
  await sql`alter table invoices drop constraint invoices_enrollment_id_coverage_month_key`.execute(db);
  await sql`alter table billing_runs add column failed_count integer not null default 0`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table billing_runs drop column failed_count`.execute(db);
  await sql`
    alter table invoices add constraint invoices_enrollment_id_coverage_month_key
      unique (enrollment_id, coverage_month)`.execute(db);
  await sql`drop index invoices_live_month`.execute(db);
}
