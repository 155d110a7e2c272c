/**
 * A @fastify/rate-limit store whose limit holds for the sum over every instance serving one database
 * (docs/decisions.md, "Several instances"). Each instance leases a few requests at a time from the
 * key's shared window (`lease`, one atomic statement: the instances together never get more than
 * `max`), and spends them from memory: one database round trip per `leaseSize(max)` requests per
 * key, not one per request. What an instance leased and did not spend lapses with the window, so a
 * window admits at least `max - instances * (leaseSize - 1)` requests, and never more than `max`.
 * When the database cannot be reached, the instance counts that window in memory alone (as with
 * one instance) and says so in a warning.
 */

/** Rate-limit windows shared by all instances: the composition root binds it to the store. */
export interface LeasePort {
  lease(
    key: string,
    want: number,
    max: number,
    windowMs: number,
    nowMs: number,
  ): Promise<{ granted: number; used: number; windowStart: number }>;
  purgeEndedBefore(beforeMs: number, windowMs: number): Promise<number>;
}

interface Window {
  start: number;
  /** Requests leased to this instance in this window, and how many of them it spent. */
  leased: number;
  spent: number;
  /** Every instance's leases in this window at our last lease. */
  used: number;
  exhausted: boolean;
  pending: Promise<void> | null;
}

type IncrCallback = (err: Error | null, result?: { current: number; ttl: number }) => void;

/** 1% of the limit per lease, at least 1: under-admission is bounded by 1% per instance. */
export function leaseSize(max: number): number {
  return Math.max(1, Math.floor(max / 100));
}

const MAX_KEYS = 10_000;

/** A store class for @fastify/rate-limit's `store` option; `child` (per-route and createRateLimit limits) keeps its own namespace. */
export function leasedRateLimitStore(port: LeasePort, warn: (msg: string, err: Error) => void) {
  return class LeasedRateLimitStore {
    private readonly windows = new Map<string, Window>();
    private readonly nameSpace: string;
    private lastPurge = 0;

    constructor(params: { nameSpace?: string } = {}) {
      this.nameSpace = params.nameSpace ?? 'rate:';
    }

    child(params: { nameSpace?: string }) {
      return new LeasedRateLimitStore({ nameSpace: params.nameSpace ?? `${this.nameSpace}route:` });
    }

    incr(key: string, cb: IncrCallback, timeWindow: number, max: number): void {
      this.take(`${this.nameSpace}${key}`, timeWindow, max).then(
        (r) => cb(null, r),
        (err: Error) => cb(err),
      );
    }

    private async take(key: string, windowMs: number, max: number): Promise<{ current: number; ttl: number }> {
      for (;;) {
        const now = Date.now();
        let w = this.windows.get(key);
        if (w && now >= w.start + windowMs) {
          this.windows.delete(key);
          w = undefined;
        }
        if (w?.pending) {
          await w.pending;
          continue;
        }
        if (w && w.spent < w.leased) {
          w.spent++;
          return { current: w.used - (w.leased - w.spent), ttl: w.start + windowMs - now };
        }
        if (w?.exhausted) return { current: max + 1, ttl: w.start + windowMs - now };
        const fresh = w ?? this.open(key, now);
        fresh.pending = this.lease(key, fresh, windowMs, max, now).finally(() => {
          fresh.pending = null;
        });
      }
    }

    private open(key: string, now: number): Window {
      if (this.windows.size >= MAX_KEYS) {
        const oldest = this.windows.keys().next().value;
        if (oldest !== undefined) this.windows.delete(oldest);
      }
      const w: Window = { start: now, leased: 0, spent: 0, used: 0, exhausted: false, pending: null };
      this.windows.set(key, w);
      return w;
    }

    private async lease(key: string, w: Window, windowMs: number, max: number, now: number): Promise<void> {
      try {
        const r = await port.lease(key, leaseSize(max), max, windowMs, now);
        if (r.windowStart !== w.start) {
          // Another instance opened this window (or we are in a new one): adopt its start.
          w.start = r.windowStart;
          w.leased = 0;
          w.spent = 0;
        }
        w.leased += r.granted;
        w.used = r.used;
        w.exhausted = r.granted === 0;
      } catch (err) {
        // Without the database, this window is counted here alone (per instance, as before).
        warn('rate limit counted in memory for this window: its shared window could not be leased', err as Error);
        w.leased = max;
        w.used = max;
        w.exhausted = true;
      }
      this.purge(now, windowMs);
    }

    /** Once a window, rows of ended windows are deleted (fire and forget). */
    private purge(now: number, windowMs: number): void {
      if (now - this.lastPurge < windowMs) return;
      this.lastPurge = now;
      port.purgeEndedBefore(now - windowMs, windowMs).catch(() => {});
    }
  };
}
