import { type Kysely, sql } from 'kysely';

/**
 * Several instances serve one database (issue 16): what each process kept in memory and SPEC says
 * must behave as with one instance now lives here.
 *
 * - test_clock: the frozen instant of the test clock (ALLOW_TEST_CLOCK=true only), one row at most;
 *   no row means real time. Every instance reads it before each request and each background sweep.
 * - rate_limit_leases: per rate-limit key, when its current window began (epoch ms) and how many
 *   requests the instances have leased in it in total (never above the limit). UNLOGGED: counters need no crash safety nor a replica,
 *   and their writes then cost no WAL; a crash empties the table, which only restarts the windows.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table if not exists test_clock (
      id boolean primary key default true check (id),
      frozen_at timestamptz not null
    )`.execute(db);
  await sql`
    create unlogged table if not exists rate_limit_leases (
      key text primary key,
      window_start bigint not null,
      used integer not null check (used >= 0),
      last_grant integer not null
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists rate_limit_leases`.execute(db);
  await sql`drop table if exists test_clock`.execute(db);
}
