import { type Kysely, sql } from 'kysely';

/**
 * R36 with the review's finding R3: a return file's integrity warnings (amounts, transaction codes,
 * batch and file control records) are kept with the file's record, so the same file sent again
 * answers the same warnings. A nullable column without a default: no rewrite, a brief lock. Files
 * recorded before it have no stored warnings (the service then answers the ones it finds again).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table ach_return_files add column if not exists warnings jsonb`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table ach_return_files drop column if exists warnings`.execute(db);
}
