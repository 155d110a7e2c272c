import { type Kysely, sql } from 'kysely';
import { CARRIER_EVENT_PREFIX, CARRIER_EVENT_TYPES, type FeedEvent, type FeedPosition } from '../domain/events.js';
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
 * R27. Events are read in (writer transaction id, event id) order, and only those whose writer
 * transaction id is below the snapshot's xmin: every transaction that could still commit has an id
 * at or above xmin, so no event can later appear behind a position already handed out. One index
 * range scan per poll; an empty poll touches no rows. The order is the xid8 column itself, never its
 * text (an `order by tx` over a `tx::text as tx` column sorts "1000" before "999" and loses events).
 * Exposed so a test can EXPLAIN exactly what a poll runs.
 */
export function feedQuery(after: FeedPosition, scope: Scope, limit: number) {
  const carrierFilter =
    scope.carrierId !== null
      ? sql`and e.carrier_id = ${scope.carrierId}
            and (e.type like ${`${CARRIER_EVENT_PREFIX}%`} or e.type = any(${sql.val([...CARRIER_EVENT_TYPES])}::text[]))`
      : sql``;
  return sql<{
    id: number;
    tx_text: string;
    type: string;
    occurred_at: Date;
    data: Record<string, unknown>;
  }>`
    select e.id, e.tx::text as tx_text, e.type, e.occurred_at, e.data
    from events e
    where (e.tx, e.id) > (${after.tx}::xid8, ${after.id}::int8)
      and e.tx < pg_snapshot_xmin(pg_current_snapshot())
      ${carrierFilter}
    order by e.tx, e.id
    limit ${limit}
  `;
}

export async function readFeed(
  db: Kysely<DB>,
  after: FeedPosition,
  scope: Scope,
  limit: number,
): Promise<{ events: FeedEvent[]; last: FeedPosition | null }> {
  const rows = await feedQuery(after, scope, limit).execute(db);
  const last = rows.rows.at(-1);
  return {
    events: rows.rows.map((r) => ({ id: String(r.id), type: r.type, occurredAt: r.occurred_at, data: r.data })),
    last: last ? { tx: last.tx_text, id: last.id } : null,
  };
}
