import { type Kysely, sql } from 'kysely';
import {
  CARRIER_EVENT_PREFIX,
  CARRIER_EVENT_TYPES,
  type FeedEvent,
  type FeedPosition,
  nextPosition,
} from '../domain/events.js';
import type { Scope } from '../domain/principal.js';
import type { DB } from './schema.js';

export function encodePosition(p: FeedPosition): string {
  return Buffer.from(`e:${p.tx}:${p.id}`, 'utf8').toString('base64url');
}

export function decodePosition(cursor: string): FeedPosition | null {
  const m = /^e:(\d{1,20}):(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m?.[1] && m[2] ? { tx: m[1], id: Number(m[2]) } : null;
}

/**
 * The carrier a row is shown to (R27): its carrier for `enrollment.*` and `payment.returned`, else
 * null. Index `events_carrier_feed` and its statistic (migration 0008) are built on this very
 * expression (the planner matches it by its text), so a carrier's poll reads only rows it may see.
 */
const SHOWN_TO = sql`(case when ${sql.join(
  [
    sql`e.type like ${sql.lit(`${CARRIER_EVENT_PREFIX}%`)}`,
    ...CARRIER_EVENT_TYPES.map((type) => sql`e.type = ${sql.lit(type)}`),
  ],
  sql` or `,
)} then e.carrier_id end)`;

/**
 * R27. Events are read in (writer transaction id, event id) order, and only those whose writer
 * transaction id is below the snapshot's xmin (the horizon): every transaction that could still commit
 * has an id at or above it, so no event can later appear behind a position already handed out. The
 * same statement returns the horizon (first row), so a page that is not full can move the cursor up
 * to it (`nextPosition`). One index range scan per poll over rows the caller may see. The order is the
 * xid8 column itself, never its text (an `order by tx` over a `tx::text as tx` column sorts "1000"
 * before "999" and loses events). Exposed so a test can EXPLAIN exactly what a poll runs.
 */
export function feedQuery(after: FeedPosition, scope: Scope, limit: number) {
  const carrierFilter = scope.carrierId !== null ? sql`and ${SHOWN_TO} = ${scope.carrierId}` : sql``;
  return sql<{
    horizon: boolean;
    id: number | null;
    tx_text: string;
    type: string | null;
    occurred_at: Date | null;
    data: Record<string, unknown> | null;
  }>`
    select f.horizon, f.id, f.tx::text as tx_text, f.type, f.occurred_at, f.data
    from (
      select true as horizon, null::int8 as id, pg_snapshot_xmin(pg_current_snapshot()) as tx,
             null::text as type, null::timestamptz as occurred_at, null::jsonb as data
      union all
      (select false, e.id, e.tx, e.type, e.occurred_at, e.data
       from events e
       where (e.tx, e.id) > (${after.tx}::xid8, ${after.id}::int8)
         and e.tx < pg_snapshot_xmin(pg_current_snapshot())
         ${carrierFilter}
       order by e.tx, e.id
       limit ${limit})
    ) f
    order by f.horizon desc, f.tx, f.id
  `;
}

export async function readFeed(
  db: Kysely<DB>,
  after: FeedPosition,
  scope: Scope,
  limit: number,
): Promise<{ events: FeedEvent[]; next: FeedPosition }> {
  const [head, ...rows] = (await feedQuery(after, scope, limit).execute(db)).rows;
  if (!head?.horizon) throw new Error('feed query returned no horizon');
  const events = rows.map((r) => ({
    id: String(r.id),
    type: r.type as string,
    occurredAt: r.occurred_at as Date,
    data: r.data as Record<string, unknown>,
  }));
  const last = rows.at(-1);
  return {
    events,
    next: nextPosition(after, {
      last: last ? { tx: last.tx_text, id: Number(last.id) } : null,
      full: rows.length >= limit,
      horizon: head.tx_text,
    }),
  };
}
