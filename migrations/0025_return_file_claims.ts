import { type Kysely, sql } from 'kysely';

/**
 * One copy of an ACH return file at a time (issue 16, black-box run): a file's returns are applied in
 * a transaction each, so copies posted at once (two instances, a retry) split its returns between
 * them. The copy that claims the file's hash applies it; the others wait for it to be recorded and
 * answer as repeats. A claim older than a minute belongs to a request that died (the one applying
 * refreshes it as it goes) and may be taken over: each return is applied once whoever applies it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table ach_return_file_claims (
    sha256 bytea primary key,
    claimed_at timestamptz not null
  )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table ach_return_file_claims`.execute(db);
}
