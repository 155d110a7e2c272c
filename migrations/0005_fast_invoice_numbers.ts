import { type Kysely, sql } from 'kysely';

/**
 * Invoice numbers in bulk: the Luhn digit as plain arithmetic over up to 15 digits (inlined by the
 * planner) instead of a set-returning subquery per row. Same digits as `luhn_check_digit(text)`.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const terms = Array.from({ length: 15 }, (_, i) => {
    const digit = `((n / ${10n ** BigInt(i)}) % 10)`;
    // Positions 0, 2, 4 ... from the right are doubled; a doubled digit counts its digit sum.
    return i % 2 === 0 ? `((2 * ${digit}) % 10 + (2 * ${digit}) / 10)` : digit;
  }).join(' + ');
  await sql
    .raw(
      `create function luhn_digit(n bigint) returns int language sql immutable strict parallel safe as $$
         select ((10 - ((${terms}) % 10)) % 10)::int
       $$`,
    )
    .execute(db);
  // Time-ordered invoice ids (like ULIDs: a millisecond prefix and a random tail) keep bulk inserts
  // appending to the primary-key index instead of touching random pages.
  await sql`
    alter table invoices alter column id set default
      ('inv_' || lpad(to_hex((extract(epoch from clock_timestamp()) * 1000)::bigint), 12, '0')
              || substr(md5(random()::text || clock_timestamp()::text), 1, 12))`.execute(db);
  // Lookups by enrollment use the (enrollment_id, coverage_month) key; a global status index is not worth
  // its cost on every insert (status filters are combined with member or enrollment).
  await sql`drop index invoices_enrollment`.execute(db);
  await sql`drop index invoices_status`.execute(db);
  await sql`
    create or replace function next_invoice_number() returns text language sql volatile as $$
      select n::text || luhn_digit(n) from (select nextval('invoice_number_seq') as n) s
    $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // Until issue 11 this repeated up()'s statements after restoring the indexes (it dropped them again
  // and kept the time-ordered default), so up() after down() failed on `drop index invoices_enrollment`.
  await sql`create index invoices_status on invoices (status, seq)`.execute(db);
  await sql`create index invoices_enrollment on invoices (enrollment_id, seq)`.execute(db);
  await sql`alter table invoices alter column id set default ('inv_' || replace(gen_random_uuid()::text, '-', ''))`.execute(
    db,
  );
  await sql`
    create or replace function next_invoice_number() returns text language sql volatile parallel unsafe as $$
      select n || luhn_check_digit(n) from (select nextval('invoice_number_seq')::text as n) s
    $$`.execute(db);
  await sql`drop function luhn_digit(bigint)`.execute(db);
}
