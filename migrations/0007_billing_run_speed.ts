import { type Kysely, sql } from 'kysely';

/**
 * Billing runs at 500,000 invoices a month (docs/decisions.md, "Billing run speed"). Each invoice a run
 * issues cost two foreign-key checks (one SPI query and one row lock each), six index entries with the
 * event's, and random-page writes into every index keyed by a random enrollment id.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // One foreign-key check per invoice instead of two: the invoice's enrollment and member must be an
  // enrollment and its own member (stricter than before: a member id that is not the enrollment's is
  // refused). The account reference follows through enrollments.member_id -> accounts, and the
  // key-share lock on the enrollment row keeps its member id fixed while an invoice points at it.
  await sql`create unique index enrollments_id_member on enrollments (id, member_id)`.execute(db);
  // Added `not valid` and then validated: the check of existing invoices runs without blocking writes.
  await sql`
    alter table invoices add constraint invoices_enrollment_member_fkey
      foreign key (enrollment_id, member_id) references enrollments (id, member_id) not valid`.execute(db);
  await sql`alter table invoices validate constraint invoices_enrollment_member_fkey`.execute(db);
  await sql`alter table invoices drop constraint invoices_enrollment_id_fkey`.execute(db);
  await sql`alter table invoices drop constraint invoices_member_id_fkey`.execute(db);

  // The feed reads events by (tx, id); that index can be the primary key, so an event costs two index
  // entries instead of three (ids still come from the sequence and never repeat).
  await sql`alter table events drop constraint events_pkey`.execute(db);
  await sql`drop index events_position`.execute(db);
  await sql`alter table events add constraint events_pkey primary key (tx, id)`.execute(db);

  // Time-ordered enrollment ids (like invoice ids since 0005: a millisecond prefix, then 80 random bits;
  // still `enr_` and 32 hex digits): enrollments created one after another get neighbouring ids, so
  // a billing run walking them in sequence order touches neighbouring pages of every index keyed by
  // enrollment id (the primary key, the foreign-key probes, the invoices' (enrollment, month) key)
  // instead of a random page per invoice. Existing ids stay as they are.
  await sql`
    alter table enrollments alter column id set default
      ('enr_' || lpad(to_hex((extract(epoch from clock_timestamp()) * 1000)::bigint), 12, '0')
              || substr(replace(gen_random_uuid()::text, '-', ''), 1, 20))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table enrollments alter column id set default ('enr_' || replace(gen_random_uuid()::text, '-', ''))`.execute(
    db,
  );
  await sql`alter table events drop constraint events_pkey`.execute(db);
  await sql`alter table events add primary key (id)`.execute(db);
  await sql`create index events_position on events (tx, id)`.execute(db);
  await sql`alter table invoices add foreign key (member_id) references accounts (member_id)`.execute(db);
  await sql`alter table invoices add foreign key (enrollment_id) references enrollments (id)`.execute(db);
  await sql`alter table invoices drop constraint invoices_enrollment_member_fkey`.execute(db);
  await sql`drop index enrollments_id_member`.execute(db);
}
