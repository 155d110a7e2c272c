import { type Kysely, sql } from 'kysely';

/**
 * Non-payment (R28-R31, issue 13). Columns are nullable or have constant defaults and the check
 * constraints are replaced NOT VALID then validated, so nothing holds a long lock; the sweep's index
 * is built concurrently (migrations/README.md). Safe to run again from any point.
 *
 * - enrollments.subsidy (R28); status `terminated`; coverage_end, termination_reason, terminated_at,
 *   terminated_on (R30's business date, for R31's window), status_before_termination (R31);
 *   delinquency_anchor/delinquency_stage: the episode the sweep last recorded (null in good standing).
 * - enrollment_history type `delinquency_changed` (R14 for the stages).
 * - notices: the four non-payment types with pay_by, amount_owed_cents, months_owed, coverage_end;
 *   the one-per-type key now holds for the welcome letter only (a member may get several past-due
 *   notices over the years).
 * - invoices_late_balance: the sweep's candidates (live invoices with a balance, by due date).
 */
export const transaction = false;

async function validIndex(db: Kysely<any>, name: string): Promise<boolean> {
  const r = await sql<{ valid: boolean }>`
    select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid
    where c.relname = ${name}`.execute(db);
  return r.rows[0]?.valid === true;
}

async function replaceCheck(db: Kysely<any>, table: string, name: string, condition: string): Promise<void> {
  await sql.raw(`alter table ${table} drop constraint if exists ${name}`).execute(db);
  await sql.raw(`alter table ${table} add constraint ${name} check (${condition}) not valid`).execute(db);
  await sql.raw(`alter table ${table} validate constraint ${name}`).execute(db);
}

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table enrollments
      add column if not exists subsidy text not null default 'none',
      add column if not exists coverage_end date,
      add column if not exists termination_reason text,
      add column if not exists terminated_at timestamptz,
      add column if not exists terminated_on date,
      add column if not exists status_before_termination text,
      add column if not exists delinquency_anchor date,
      add column if not exists delinquency_stage text`.execute(db);
  await replaceCheck(db, 'enrollments', 'enrollments_subsidy_check', `subsidy in ('none', 'aptc', 'connectorcare')`);
  await replaceCheck(
    db,
    'enrollments',
    'enrollments_status_check',
    `status in ('pending_payment', 'awaiting_confirmation', 'confirmed', 'cancelled', 'terminated')`,
  );
  await replaceCheck(
    db,
    'enrollments',
    'enrollments_delinquency_check',
    `(delinquency_anchor is null) = (delinquency_stage is null) and (delinquency_stage is null or
      delinquency_stage in ('past_due', 'termination_warning', 'final_termination_warning'))`,
  );
  await replaceCheck(
    db,
    'enrollment_history',
    'enrollment_history_type_check',
    `type in ('status_changed', 'coverage_start_moved', 'delinquency_changed')`,
  );
  await sql`
    alter table notices
      add column if not exists pay_by date,
      add column if not exists amount_owed_cents bigint,
      add column if not exists months_owed date[],
      add column if not exists coverage_end date`.execute(db);
  await replaceCheck(
    db,
    'notices',
    'notices_type_check',
    `type in ('welcome_letter', 'past_due', 'termination_warning', 'final_termination_warning', 'termination')`,
  );
  if (!(await validIndex(db, 'notices_welcome_once'))) {
    await sql`drop index concurrently if exists notices_welcome_once`.execute(db);
    await sql`create unique index concurrently notices_welcome_once on notices (enrollment_id, type)
              where type = 'welcome_letter'`.execute(db);
  }
  await sql`alter table notices drop constraint if exists notices_enrollment_id_type_key`.execute(db);
  await sql`create index concurrently if not exists notices_enrollment on notices (enrollment_id, seq)`.execute(db);
  if (!(await validIndex(db, 'invoices_late_balance'))) {
    await sql`drop index concurrently if exists invoices_late_balance`.execute(db);
    await sql`create index concurrently invoices_late_balance on invoices (due_date, enrollment_id)
              where voided_at is null and amount_paid_cents < amount_due_cents`.execute(db);
  }
  if (!(await validIndex(db, 'enrollments_delinquent'))) {
    await sql`drop index concurrently if exists enrollments_delinquent`.execute(db);
    await sql`create index concurrently enrollments_delinquent on enrollments (delinquency_stage, seq)
              where delinquency_stage is not null`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index concurrently if exists enrollments_delinquent`.execute(db);
  await sql`drop index concurrently if exists invoices_late_balance`.execute(db);
  await sql`drop index concurrently if exists notices_enrollment`.execute(db);
  await sql`delete from notices where type <> 'welcome_letter'`.execute(db);
  await sql`alter table notices drop constraint if exists notices_type_check`.execute(db);
  await sql`alter table notices add constraint notices_type_check check (type in ('welcome_letter'))`.execute(db);
  await sql`
    do $$ begin
      if not exists (select from pg_constraint where conname = 'notices_enrollment_id_type_key') then
        alter table notices add constraint notices_enrollment_id_type_key unique (enrollment_id, type);
      end if;
    end $$`.execute(db);
  await sql`drop index concurrently if exists notices_welcome_once`.execute(db);
  await sql`alter table notices drop column if exists pay_by, drop column if exists amount_owed_cents,
            drop column if exists months_owed, drop column if exists coverage_end`.execute(db);
  await sql`delete from enrollment_history where type = 'delinquency_changed'`.execute(db);
  await sql`alter table enrollment_history drop constraint if exists enrollment_history_type_check`.execute(db);
  await sql`alter table enrollment_history add constraint enrollment_history_type_check
            check (type in ('status_changed', 'coverage_start_moved'))`.execute(db);
  await sql`alter table enrollments drop constraint if exists enrollments_delinquency_check`.execute(db);
  await sql`alter table enrollments drop constraint if exists enrollments_subsidy_check`.execute(db);
  await sql`alter table enrollments drop constraint if exists enrollments_status_check`.execute(db);
  await sql`update enrollments set status = status_before_termination where status = 'terminated'`.execute(db);
  await sql`alter table enrollments add constraint enrollments_status_check
            check (status in ('pending_payment', 'awaiting_confirmation', 'confirmed', 'cancelled'))`.execute(db);
  await sql`
    alter table enrollments
      drop column if exists subsidy, drop column if exists coverage_end, drop column if exists termination_reason,
      drop column if exists terminated_at, drop column if exists terminated_on,
      drop column if exists status_before_termination, drop column if exists delinquency_anchor,
      drop column if exists delinquency_stage`.execute(db);
}
