import { type Kysely, sql } from 'kysely';
import type { DB } from './schema.js';

/** What one lease got: `granted` requests (0 when the window is spent), in the window that began at `windowStart`. */
export interface RateLimitLease {
  granted: number;
  /** Requests leased by every instance together in this window, this lease included. */
  used: number;
  /** Epoch milliseconds. */
  windowStart: number;
}

/**
 * Rate-limit windows shared by every instance (docs/decisions.md, "Several instances"): an instance
 * leases a few requests at a time from the key's row, in one atomic statement, so the instances
 * together never admit more than `max` in a window. A window starts with the first lease after the
 * previous one ended (like @fastify/rate-limit's own store).
 */
export class RateLimitStore {
  constructor(private readonly db: Kysely<DB>) {}

  async lease(key: string, want: number, max: number, windowMs: number, nowMs: number): Promise<RateLimitLease> {
    const r = await sql<{ window_start: number; used: number; last_grant: number }>`
      insert into rate_limit_leases as l (key, window_start, used, last_grant)
      values (${key}, ${nowMs}::int8, least(${want}::int, ${max}::int), least(${want}::int, ${max}::int))
      on conflict (key) do update set
        window_start = case when l.window_start + ${windowMs}::int8 <= ${nowMs}::int8 then ${nowMs}::int8 else l.window_start end,
        used = case when l.window_start + ${windowMs}::int8 <= ${nowMs}::int8 then least(${want}::int, ${max}::int)
                    else l.used + least(${want}::int, ${max}::int - l.used) end,
        last_grant = case when l.window_start + ${windowMs}::int8 <= ${nowMs}::int8 then least(${want}::int, ${max}::int)
                          else least(${want}::int, ${max}::int - l.used) end
      where l.window_start + ${windowMs}::int8 <= ${nowMs}::int8 or l.used < ${max}::int
      returning window_start, used, last_grant`.execute(this.db);
    const row = r.rows[0];
    if (row) return { granted: row.last_grant, used: row.used, windowStart: row.window_start };
    // The window is spent: read when it began, for Retry-After.
    const spent = await this.db
      .selectFrom('rate_limit_leases')
      .select(['window_start', 'used'])
      .where('key', '=', key)
      .executeTakeFirst();
    return { granted: 0, used: spent?.used ?? max, windowStart: spent?.window_start ?? nowMs };
  }

  /** Forgets windows that ended before `beforeMs` (their rows would only be reset by the next lease). */
  async purgeEndedBefore(beforeMs: number, windowMs: number): Promise<number> {
    const r = await this.db
      .deleteFrom('rate_limit_leases')
      .where(sql<boolean>`window_start + ${windowMs}::int8 < ${beforeMs}::int8`)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
