import type { SelectQueryBuilder } from 'kysely';
import { DomainError } from '../domain/errors.js';

/** Opaque cursors: the last row's sequence number, base64url-encoded. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`s:${seq}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): number | null {
  if (!cursor) return null;
  const m = /^s:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m?.[1]) throw new DomainError('invalid_cursor', 'The cursor is not one this list handed out.');
  return Number(m[1]);
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export function pageOf<T extends { seq: number }, U>(rows: T[], limit: number, map: (row: T) => U): Page<U> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept.at(-1);
  return { data: kept.map(map), nextCursor: more && last ? encodeCursor(last.seq) : null };
}

/**
 * One page of a list in `seq` order after the cursor: `limit + 1` rows are read so the page knows
 * whether another follows. `seqColumn` is the (possibly qualified) sequence column of the query.
 */
export async function seqPageRows<R extends { seq: number }>(
  q: SelectQueryBuilder<any, any, any>,
  seqColumn: string,
  after: string | undefined,
  limit: number,
): Promise<R[]> {
  const seq = decodeCursor(after);
  const from = seq === null ? q : q.where(seqColumn, '>', seq);
  return (await from
    .orderBy(seqColumn)
    .limit(limit + 1)
    .execute()) as R[];
}
