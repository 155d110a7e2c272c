import { type Kysely, sql } from 'kysely';

/**
 * ACH origination and returns (R35, R36, issue 15). Safe to run again from any point: new tables and
 * the sequence use `if not exists`, the two new payment columns are nullable (no rewrite), and their
 * indexes on the existing payments table are built concurrently (migrations/README.md).
 *
 * - ach_files: one Nacha file each, with its totals and the file body encrypted (AES-256-GCM, like
 *   payments.bank_account; the clear file is never stored). The header values are in the body.
 * - payments.ach_file_id / ach_trace_number: the file a bank payment went out in, and its trace
 *   number; `payments_ach_pending` holds the bank payments not yet originated (small: pending only).
 * - ach_trace_seq: the 7-digit sequence part of trace numbers (ODFI routing 8 digits + 7 digits),
 *   never reused (no cycle).
 * - ach_file_downloads: who downloaded which file, when (R35).
 * - ach_return_files: each return file received (its SHA-256), with the answer given (R36).
 */
export const transaction = false;

async function validIndex(db: Kysely<any>, name: string): Promise<boolean> {
  const r = await sql<{ valid: boolean }>`
    select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid
    where c.relname = ${name}`.execute(db);
  return r.rows[0]?.valid === true;
}

async function concurrentIndex(db: Kysely<any>, name: string, definition: string): Promise<void> {
  if (await validIndex(db, name)) return;
  await sql.raw(`drop index concurrently if exists ${name}`).execute(db);
  await sql.raw(`create ${definition.replace('{name}', `index concurrently ${name}`)}`).execute(db);
}

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create sequence if not exists ach_trace_seq minvalue 1 maxvalue 9999999 no cycle`.execute(db);
  await sql`
    create table if not exists ach_files (
      id text primary key default ('ach_' || replace(gen_random_uuid()::text, '-', '')),
      seq bigserial not null unique,
      created_at timestamptz not null,
      created_by text not null,
      effective_date date not null,
      file_id_modifier text not null,
      entry_count int not null check (entry_count > 0),
      batch_count int not null,
      total_debit_cents bigint not null check (total_debit_cents > 0),
      entry_hash text not null,
      body_ciphertext bytea not null,
      body_key_id text not null
    )`.execute(db);
  await sql`
    create table if not exists ach_file_downloads (
      id bigserial primary key,
      file_id text not null references ach_files (id),
      api_key_id text not null,
      downloaded_at timestamptz not null
    )`.execute(db);
  await sql`create index if not exists ach_file_downloads_file on ach_file_downloads (file_id, id)`.execute(db);
  await sql`
    create table if not exists ach_return_files (
      id text primary key default ('achr_' || replace(gen_random_uuid()::text, '-', '')),
      sha256 bytea not null unique,
      received_at timestamptz not null,
      received_by text not null,
      return_count int not null,
      notification_count int not null
    )`.execute(db);
  await sql`
    alter table payments
      add column if not exists ach_file_id text,
      add column if not exists ach_trace_number text`.execute(db);
  await sql`alter table payments drop constraint if exists payments_ach_file_fk`.execute(db);
  await sql`
    alter table payments add constraint payments_ach_file_fk
      foreign key (ach_file_id) references ach_files (id) not valid`.execute(db);
  await sql`alter table payments validate constraint payments_ach_file_fk`.execute(db);
  await concurrentIndex(
    db,
    'payments_ach_trace',
    'unique {name} on payments (ach_trace_number) where ach_trace_number is not null',
  );
  await concurrentIndex(
    db,
    'payments_ach_pending',
    `{name} on payments (seq) where ach_file_id is null and method in ('checking', 'savings') and channel in ('online', 'phone')`,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index concurrently if exists payments_ach_pending`.execute(db);
  await sql`drop index concurrently if exists payments_ach_trace`.execute(db);
  await sql`alter table payments drop constraint if exists payments_ach_file_fk`.execute(db);
  await sql`alter table payments drop column if exists ach_trace_number, drop column if exists ach_file_id`.execute(db);
  await sql`drop table if exists ach_return_files`.execute(db);
  await sql`drop table if exists ach_file_downloads`.execute(db);
  await sql`drop table if exists ach_files`.execute(db);
  await sql`drop sequence if exists ach_trace_seq`.execute(db);
}
