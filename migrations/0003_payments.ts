import { type Kysely, sql } from 'kysely';

// Payments, their applications to invoices, and idempotency records.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table payments (
      id text primary key default ('pay_' || replace(gen_random_uuid()::text, '-', '')),
      seq bigserial not null unique,
      status text not null check (status in ('received', 'unapplied', 'returned')),
      channel text not null check (channel in ('online', 'phone', 'mail')),
      method text not null,
      amount_cents bigint not null check (amount_cents > 0),
      received_at timestamptz not null,
      member_id text references accounts (member_id),
      enrollment_id text references enrollments (id),
      guest boolean not null default false,
      target jsonb not null,
      credited_cents bigint not null default 0 check (credited_cents >= 0),
      unapplied_cents bigint not null default 0 check (unapplied_cents >= 0),
      bank_routing_number text,
      bank_account_last4 text,
      bank_account_ciphertext bytea,
      bank_account_key_id text,
      card_token text,
      card_brand text,
      card_last4 text,
      card_exp_month int,
      card_exp_year int,
      check_number text,
      money_order_serial text,
      payable_to text,
      returned_at timestamptz,
      return_reason_code text,
      created_at timestamptz not null,
      actor text not null,
      check ((bank_account_ciphertext is null) = (bank_account_key_id is null))
    )`.execute(db);
  await sql`create index payments_member on payments (member_id, seq)`.execute(db);
  await sql`create index payments_unapplied on payments (seq) where status = 'unapplied'`.execute(db);

  await sql`
    create table payment_applications (
      id bigserial primary key,
      payment_id text not null references payments (id),
      invoice_id text not null references invoices (id),
      amount_cents bigint not null check (amount_cents > 0),
      applied_at timestamptz not null,
      reversed_at timestamptz
    )`.execute(db);
  await sql`create index payment_applications_payment on payment_applications (payment_id)`.execute(db);
  await sql`create index payment_applications_invoice on payment_applications (invoice_id)`.execute(db);

  // Keys are scoped to the API key that sent them; the stored response is replayed.
  await sql`
    create table idempotency_keys (
      api_key_id text not null,
      key text not null,
      request_hash bytea not null,
      response_status int not null,
      response_body jsonb not null,
      created_at timestamptz not null default now(),
      primary key (api_key_id, key)
    )`.execute(db);
  await sql`create index idempotency_keys_created on idempotency_keys (created_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('idempotency_keys').execute();
  await db.schema.dropTable('payment_applications').execute();
  await db.schema.dropTable('payments').execute();
}
