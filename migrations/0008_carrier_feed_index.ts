import { type Kysely, sql } from 'kysely';

/**
 * A carrier's events-feed poll reads only the rows it may see (R27, docs/decisions.md "A carrier's
 * poll reads only its own events"). Until now the carrier index held every event of the carrier,
 * `invoice.issued` and `payment.received` included, and the planner often preferred the primary key
 * and filtered: a carrier behind 300,000 events it may not see read all of them on every poll.
 *
 * The key is the carrier a row is shown to: the event's carrier for `enrollment.*` and
 * `payment.returned`, otherwise null (and not indexed). src/store/feed.ts writes the same expression;
 * if the set of carrier-visible types changes, a new migration must rebuild this index and statistic.
 * Nothing is backfilled: every event row already carries its carrier id, written in its own
 * transaction. The statistic gives the planner the real number of rows per carrier, so an idle
 * carrier's poll is planned as the few-page index scan it is.
 */
const SHOWN_TO = sql`(case when type like 'enrollment.%' or type = 'payment.returned' then carrier_id end)`;

/** Index builds run outside a transaction (migrations/README.md): writers of events never wait for them. */
export const transaction = false;

/** True when the index exists and is valid (a concurrent build that failed half way leaves it invalid). */
async function validIndex(db: Kysely<any>, name: string): Promise<boolean> {
  const r = await sql<{ valid: boolean }>`
    select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid
    where c.relname = ${name}`.execute(db);
  return r.rows[0]?.valid === true;
}

export async function up(db: Kysely<any>): Promise<void> {
  if (!(await validIndex(db, 'events_carrier_feed'))) {
    await sql`drop index concurrently if exists events_carrier_feed`.execute(db);
    await sql`create index concurrently events_carrier_feed on events (${SHOWN_TO}, tx, id) where ${SHOWN_TO} is not null`.execute(
      db,
    );
  }
  await sql`create statistics if not exists events_carrier_feed_shown_to on ${SHOWN_TO} from events`.execute(db);
  // Nothing reads by (carrier_id, tx, id) any more; one index entry less for every event written.
  await sql`drop index concurrently if exists events_carrier_position`.execute(db);
  await sql`analyze events`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!(await validIndex(db, 'events_carrier_position'))) {
    await sql`drop index concurrently if exists events_carrier_position`.execute(db);
    await sql`create index concurrently events_carrier_position on events (carrier_id, tx, id)`.execute(db);
  }
  await sql`drop statistics if exists events_carrier_feed_shown_to`.execute(db);
  await sql`drop index concurrently if exists events_carrier_feed`.execute(db);
}
