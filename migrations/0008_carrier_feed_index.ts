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

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index events_carrier_feed on events (${SHOWN_TO}, tx, id) where ${SHOWN_TO} is not null`.execute(db);
  await sql`create statistics events_carrier_feed_shown_to on ${SHOWN_TO} from events`.execute(db);
  // Nothing reads by (carrier_id, tx, id) any more; one index entry less for every event written.
  await sql`drop index events_carrier_position`.execute(db);
  await sql`analyze events`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`create index events_carrier_position on events (carrier_id, tx, id)`.execute(db);
  await sql`drop statistics events_carrier_feed_shown_to`.execute(db);
  await sql`drop index events_carrier_feed`.execute(db);
}
