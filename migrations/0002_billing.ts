import { type Kysely, sql } from 'kysely';

// Accounts, enrollments and their history, invoices, billing runs and the event outbox.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table accounts (
      member_id text primary key check (member_id ~ '^[0-9]{12}$'),
      first_name text not null,
      last_name text not null,
      address_line1 text not null,
      address_line2 text,
      city text not null,
      state text not null,
      postal_code text not null,
      phone_numbers text[] not null default '{}',
      paperless boolean not null default false,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index accounts_phone_numbers on accounts using gin (phone_numbers)`.execute(db);

  await sql`
    create table enrollments (
      id text primary key default ('enr_' || replace(gen_random_uuid()::text, '-', '')),
      seq bigserial not null unique,
      member_id text not null references accounts (member_id),
      carrier_id text not null references carriers (id),
      coverage_type text not null check (coverage_type in ('health', 'dental')),
      plan_name text not null,
      monthly_premium_cents bigint not null check (monthly_premium_cents > 0),
      status text not null check (status in ('pending_payment', 'awaiting_confirmation', 'confirmed', 'cancelled')),
      chosen_coverage_start date not null check (extract(day from chosen_coverage_start) = 1),
      coverage_start date not null check (extract(day from coverage_start) = 1),
      selected_at timestamptz not null,
      paid_in_full_at timestamptz,
      confirmation_expected_by date,
      id_card_expected_by date,
      confirmed_at timestamptz,
      carrier_policy_id text,
      cancelled_at timestamptz,
      credit_cents bigint not null default 0 check (credit_cents >= 0),
      flags text[] not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index enrollments_member on enrollments (member_id, seq)`.execute(db);
  await sql`create index enrollments_carrier_status on enrollments (carrier_id, status, seq)`.execute(db);
  await sql`create index enrollments_status on enrollments (status, seq)`.execute(db);

  await sql`
    create table enrollment_history (
      id bigserial primary key,
      enrollment_id text not null references enrollments (id),
      at timestamptz not null,
      type text not null check (type in ('status_changed', 'coverage_start_moved')),
      from_value text,
      to_value text not null,
      reason text,
      actor text not null
    )`.execute(db);
  await sql`create index enrollment_history_enrollment on enrollment_history (enrollment_id, id)`.execute(db);

  // Invoice numbers: a sequence plus a Luhn check digit, so a mistyped number is caught at once.
  await sql`create sequence invoice_number_seq start 100000000`.execute(db);
  await sql`
    create function luhn_check_digit(digits text) returns int language sql immutable strict parallel safe as $$
      select ((10 - (sum(
        case when (length(digits) - i) % 2 = 0
          then (substr(digits, i, 1)::int * 2) - case when substr(digits, i, 1)::int * 2 > 9 then 9 else 0 end
          else substr(digits, i, 1)::int end
      ) % 10)) % 10)::int
      from generate_series(1, length(digits)) as i
    $$`.execute(db);
  await sql`
    create function next_invoice_number() returns text language sql volatile parallel unsafe as $$
      select n || luhn_check_digit(n) from (select nextval('invoice_number_seq')::text as n) s
    $$`.execute(db);

  await sql`
    create table invoices (
      id text primary key default ('inv_' || replace(gen_random_uuid()::text, '-', '')),
      seq bigserial not null unique,
      invoice_number text not null unique default next_invoice_number(),
      enrollment_id text not null references enrollments (id),
      member_id text not null references accounts (member_id),
      coverage_month date not null check (extract(day from coverage_month) = 1),
      due_date date not null,
      amount_due_cents bigint not null check (amount_due_cents > 0),
      amount_paid_cents bigint not null default 0 check (amount_paid_cents >= 0),
      credit_applied_cents bigint not null default 0 check (credit_applied_cents >= 0),
      is_binder boolean not null default false,
      delivery text not null check (delivery in ('paperless', 'mail')),
      issued_at timestamptz not null,
      voided_at timestamptz,
      status text generated always as (
        case when voided_at is not null then 'void'
             when amount_paid_cents >= amount_due_cents then 'paid'
             when amount_paid_cents > 0 then 'partially_paid'
             else 'open' end
      ) stored,
      unique (enrollment_id, coverage_month)
    )`.execute(db);
  await sql`create index invoices_member on invoices (member_id, seq)`.execute(db);
  await sql`create index invoices_enrollment on invoices (enrollment_id, seq)`.execute(db);
  await sql`create index invoices_status on invoices (status, seq)`.execute(db);

  await sql`
    create table billing_runs (
      id text primary key default ('run_' || replace(gen_random_uuid()::text, '-', '')),
      coverage_month date not null check (extract(day from coverage_month) = 1),
      issued_count integer not null,
      credit_applied_cents bigint not null,
      started_at timestamptz not null,
      finished_at timestamptz not null,
      actor text not null
    )`.execute(db);

  // The outbox: written in the same transaction as each change. `tx` is the writer's transaction id,
  // which the events feed uses to hand out only events whose transactions are all settled.
  await sql`
    create table events (
      id bigserial primary key,
      type text not null,
      occurred_at timestamptz not null,
      carrier_id text,
      member_id text,
      enrollment_id text,
      invoice_id text,
      payment_id text,
      data jsonb not null,
      tx xid8 not null default pg_current_xact_id()
    )`.execute(db);
  await sql`create index events_carrier on events (carrier_id, id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['events', 'billing_runs', 'invoices', 'enrollment_history', 'enrollments', 'accounts']) {
    await db.schema.dropTable(t).execute();
  }
  await sql`drop function next_invoice_number()`.execute(db);
  await sql`drop function luhn_check_digit(text)`.execute(db);
  await sql`drop sequence invoice_number_seq`.execute(db);
}
