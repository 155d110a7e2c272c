import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Kysely, sql } from 'kysely';

/**
 * The migration runner (docs/decisions.md, "Migrations during a deploy"; the convention for writing
 * one is in migrations/README.md):
 * - one session holds an advisory lock for the whole run (taken by polling, see
 *   `acquireMigrationLock`), so instances that start together run each migration once (the same
 *   lock id as Kysely's own migrator, so an instance of an older release that still uses it is
 *   excluded too);
 * - each migration runs in its own transaction, together with its row in `kysely_migration`, unless
 *   it exports `transaction = false` (CREATE INDEX CONCURRENTLY, VALIDATE CONSTRAINT, batched
 *   backfills): then its statements run one by one and it must be safe to run again;
 * - every lock a migration waits for is bounded by `lock_timeout` (a few seconds): past it the
 *   migration fails, nothing of it is recorded, and starting again retries it. Statements are not
 *   time-limited (an index build on a big table may take minutes without blocking anyone).
 * The bookkeeping table is Kysely's (`kysely_migration (name, timestamp)`), so existing databases
 * carry on where they are.
 */

// src/store -> ../../migrations (from source) and dist/src/store -> dist/migrations (built).
const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');
/** Kysely's PostgresAdapter lock id: old and new runners exclude each other during a rolling deploy. */
const LOCK_ID = '3853314791062309107';
const TABLE = 'kysely_migration';
/** How long a start waits for another instance that is migrating. */
const WAIT_FOR_OTHER_INSTANCE_MS = 3_600_000;
/** How often a waiting start asks for the lock again. */
const LOCK_POLL_MS = 200;
export const DEFAULT_MIGRATION_LOCK_TIMEOUT_MS = 3_000;

export interface MigrationModule {
  up(db: Kysely<any>): Promise<void>;
  down?(db: Kysely<any>): Promise<void>;
  /** `false`: runs outside a transaction, statement by statement; it must be safe to run again. */
  transaction?: boolean;
}

export interface MigrateOptions {
  /** Folders of migrations, merged by name (tests add their own). */
  migrationFolders?: string[];
  /** Longest wait for any lock a migration needs (MIGRATION_LOCK_TIMEOUT_MS). */
  lockTimeoutMs?: number;
}

export interface MigrationResult {
  migrationName: string;
  direction: 'Up' | 'Down';
  status: 'Success';
}

export interface MigrationResultSet {
  results: MigrationResult[];
}

interface NamedMigration {
  name: string;
  module: MigrationModule;
}

async function readMigrations(folders: string[]): Promise<NamedMigration[]> {
  const byName = new Map<string, NamedMigration>();
  for (const folder of folders) {
    for (const file of await fs.readdir(folder)) {
      if (!/\.(ts|js|mts|mjs)$/.test(file) || /\.d\.m?ts$/.test(file)) continue;
      const name = file.replace(/\.[^.]+$/, '');
      const module = (await import(pathToFileURL(path.join(folder, file)).href)) as MigrationModule;
      if (typeof module.up !== 'function') continue;
      if (byName.has(name)) throw new Error(`migration ${name} exists twice`);
      byName.set(name, { name, module });
    }
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

async function executedNames(db: Kysely<any>): Promise<string[]> {
  const rows = await sql<{ name: string }>`select name from ${sql.table(TABLE)} order by name`.execute(db);
  return rows.rows.map((r) => r.name);
}

/**
 * Takes the migration lock, waiting for an instance that holds it. The wait is a poll of
 * `pg_try_advisory_lock`, never a blocking `pg_advisory_lock`: a statement blocked on the lock is an
 * open transaction, and the holder's `CREATE INDEX CONCURRENTLY` waits for every open transaction to
 * end, so two instances started together on a new database deadlocked (and one failed to start).
 */
async function acquireMigrationLock(conn: Kysely<any>): Promise<void> {
  const giveUpAt = Date.now() + WAIT_FOR_OTHER_INSTANCE_MS;
  for (;;) {
    const r = await sql<{
      locked: boolean;
    }>`select pg_try_advisory_lock(${sql.lit(LOCK_ID)}::bigint) as locked`.execute(conn);
    if (r.rows[0]?.locked) return;
    if (Date.now() > giveUpAt) throw new Error('another instance has held the migration lock for over an hour');
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
}

/**
 * Runs `work` on one session that holds the migration lock, with statements untimed and every lock
 * wait bounded. The session settings are reset before the connection goes back to the pool.
 */
async function withMigrationSession<T>(
  db: Kysely<any>,
  lockTimeoutMs: number,
  work: (conn: Kysely<any>) => Promise<T>,
): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`select set_config('statement_timeout', '0', false)`.execute(conn);
    try {
      await acquireMigrationLock(conn);
      try {
        await sql`select set_config('lock_timeout', ${String(lockTimeoutMs)}, false)`.execute(conn);
        await sql`create table if not exists ${sql.table(TABLE)} (
                    name varchar(255) primary key, timestamp varchar(255) not null)`.execute(conn);
        return await work(conn);
      } finally {
        await sql`select pg_advisory_unlock(${sql.lit(LOCK_ID)}::bigint)`.execute(conn);
      }
    } finally {
      await sql`reset statement_timeout; reset lock_timeout`.execute(conn);
    }
  });
}

/** One migration step: in its own transaction with its bookkeeping, or (declared) statement by statement. */
async function step(conn: Kysely<any>, m: NamedMigration, direction: 'Up' | 'Down', lockTimeoutMs: number) {
  const run = direction === 'Up' ? m.module.up : m.module.down;
  if (!run) throw new Error(`migration ${m.name} has no down()`);
  const record = async (db: Kysely<any>) => {
    if (direction === 'Up') {
      await sql`insert into ${sql.table(TABLE)} (name, timestamp) values (${m.name}, ${new Date().toISOString()})`.execute(
        db,
      );
    } else {
      await sql`delete from ${sql.table(TABLE)} where name = ${m.name}`.execute(db);
    }
  };
  if (m.module.transaction === false) {
    await run(conn);
    await record(conn);
    return;
  }
  await conn.transaction().execute(async (trx) => {
    // The pool's `begin` set the service's limits; a migration has its own.
    await sql`select set_config('statement_timeout', '0', true),
                     set_config('lock_timeout', ${String(lockTimeoutMs)}, true)`.execute(trx);
    await run(trx);
    await record(trx);
  });
}

export async function migrateToLatest(db: Kysely<any>, options: MigrateOptions = {}): Promise<MigrationResultSet> {
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_MIGRATION_LOCK_TIMEOUT_MS;
  const migrations = await readMigrations(options.migrationFolders ?? [MIGRATIONS_DIR]);
  return withMigrationSession(db, lockTimeoutMs, async (conn) => {
    const executed = await executedNames(conn);
    const known = new Set(migrations.map((m) => m.name));
    const missing = executed.filter((n) => !known.has(n));
    if (missing.length > 0) throw new Error(`applied migrations missing from this build: ${missing.join(', ')}`);
    const done = new Set(executed);
    const pending = migrations.filter((m) => !done.has(m.name));
    const last = executed.at(-1);
    const early = pending.find((m) => last !== undefined && m.name < last);
    if (early) throw new Error(`migration ${early.name} sorts before the last applied one (${last})`);
    const results: MigrationResult[] = [];
    for (const m of pending) {
      await step(conn, m, 'Up', lockTimeoutMs);
      results.push({ migrationName: m.name, direction: 'Up', status: 'Success' });
    }
    return { results };
  });
}

/** Undoes, newest first, every applied migration after `target` (ops and tests; never run at start). */
export async function migrateDownTo(
  db: Kysely<any>,
  target: string,
  options: MigrateOptions = {},
): Promise<MigrationResultSet> {
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_MIGRATION_LOCK_TIMEOUT_MS;
  const migrations = await readMigrations(options.migrationFolders ?? [MIGRATIONS_DIR]);
  if (!migrations.some((m) => m.name === target)) throw new Error(`unknown migration ${target}`);
  return withMigrationSession(db, lockTimeoutMs, async (conn) => {
    const executed = new Set(await executedNames(conn));
    const undo = migrations.filter((m) => m.name > target && executed.has(m.name)).reverse();
    const results: MigrationResult[] = [];
    for (const m of undo) {
      await step(conn, m, 'Down', lockTimeoutMs);
      results.push({ migrationName: m.name, direction: 'Down', status: 'Success' });
    }
    return { results };
  });
}

/** True when every migration shipped with this build has been applied. */
export async function migrationsCurrent(db: Kysely<any>): Promise<boolean> {
  const migrations = await readMigrations([MIGRATIONS_DIR]);
  const exists = await sql<{ t: string | null }>`select to_regclass(${TABLE}) as t`.execute(db);
  if (!exists.rows[0]?.t) return migrations.length === 0;
  const done = new Set(await executedNames(db));
  return migrations.every((m) => done.has(m.name));
}
