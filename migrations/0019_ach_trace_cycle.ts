import { type Kysely, sql } from 'kysely';

/**
 * ACH trace numbers wrap (review of issue 15): the 7-digit sequence part of a trace number ran out
 * after 9,999,999 entries ever (`no cycle`: every later file would fail). Nacha needs a trace number
 * unique within a file and for as long as returns can name it (60 days); the sequence now cycles, so
 * the same trace comes back only after ten million entries, and a return names the most recent
 * payment with its trace. The unique index becomes a plain one, built before the old one is dropped.
 */
export const transaction = false;

async function validIndex(db: Kysely<any>, name: string): Promise<boolean> {
  const r = await sql<{ valid: boolean }>`
    select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid
    where c.relname = ${name}`.execute(db);
  return r.rows[0]?.valid === true;
}

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter sequence ach_trace_seq cycle`.execute(db);
  if (!(await validIndex(db, 'payments_ach_trace_seq'))) {
    await sql`drop index concurrently if exists payments_ach_trace_seq`.execute(db);
    await sql`
      create index concurrently payments_ach_trace_seq on payments (ach_trace_number, seq desc)
        where ach_trace_number is not null`.execute(db);
  }
  await sql`drop index concurrently if exists payments_ach_trace`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // Fails (and changes nothing) once a trace number was used twice.
  await sql`
    create unique index concurrently if not exists payments_ach_trace on payments (ach_trace_number)
      where ach_trace_number is not null`.execute(db);
  await sql`drop index concurrently if exists payments_ach_trace_seq`.execute(db);
  await sql`alter sequence ach_trace_seq no cycle`.execute(db);
}
