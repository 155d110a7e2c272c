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
