import { type Kysely, sql } from 'kysely';

/**
 * Key check values (issue 16, black-box run): instances that share a database must share its keys.
 * Each data-encryption key id and the idempotency HMAC key leave a check value here (an HMAC of a
 * fixed label under the key: it tells whether two keys are equal, never the key); an instance whose
 * key differs from the one recorded under the same name refuses to start instead of writing rows
 * the other instances cannot read.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table key_checks (
    purpose text not null check (purpose in ('data_encryption', 'idempotency_hmac')),
    key_id text not null,
    check_value bytea not null,
    recorded_at timestamptz not null default now(),
    primary key (purpose, key_id)
  )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table key_checks`.execute(db);
}
