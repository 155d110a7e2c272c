import { type Kysely, sql } from 'kysely';

/**
 * R34: one row per recorded lockbox deposit. `deposit_id` is the lockbox's own id and the deposit's
 * idempotency key (unique, whoever sends it); `request_hash` is the keyed fingerprint of the body it
 * was recorded with (a different body is `idempotency_key_reused`); `answer` is the reconciliation
 * answered then, replayed by a retry and by GET. A new table: quick under its lock.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('lockbox_deposits')
    .addColumn('deposit_id', 'text', (c) => c.primaryKey())
    .addColumn('deposit_date', 'date', (c) => c.notNull())
    .addColumn('item_count', 'integer', (c) => c.notNull())
    .addColumn('total_cents', 'bigint', (c) => c.notNull())
    .addColumn('request_hash', 'bytea', (c) => c.notNull())
    .addColumn('answer', 'jsonb', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('lockbox_deposits').execute();
}
