import { type Kysely, sql } from 'kysely';

// Welcome-letter notices and the events feed's ordering indexes.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table notices (
      id text primary key default ('ntc_' || replace(gen_random_uuid()::text, '-', '')),
      seq bigserial not null unique,
      type text not null check (type in ('welcome_letter')),
      member_id text not null references accounts (member_id),
      enrollment_id text not null references enrollments (id),
      status text not null default 'queued' check (status in ('queued', 'sent')),
      created_at timestamptz not null,
      unique (enrollment_id, type)
    )`.execute(db);
  await sql`create index notices_member on notices (member_id, seq)`.execute(db);

  // The feed reads in (tx, id) order; carriers read their own slice of it.
  await sql`drop index events_carrier`.execute(db);
  await sql`create index events_position on events (tx, id)`.execute(db);
  await sql`create index events_carrier_position on events (carrier_id, tx, id)`.execute(db);
  await sql`create index enrollments_awaiting_expected on enrollments (confirmation_expected_by)
            where status = 'awaiting_confirmation'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index enrollments_awaiting_expected`.execute(db);
  await sql`drop index events_carrier_position`.execute(db);
  await sql`drop index events_position`.execute(db);
  await sql`create index events_carrier on events (carrier_id, id)`.execute(db);
  await db.schema.dropTable('notices').execute();
}
