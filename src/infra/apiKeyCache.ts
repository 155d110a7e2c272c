import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Principal } from '../domain/principal.js';

/** Sent (payload: the key id) in the same transaction as every change that may invalidate a key. */
export const REVOKED_CHANNEL = 'api_key_revoked';
/** Each listener answers a revocation here once it has evicted the key (the sender's pid identifies it). */
export const ACK_CHANNEL = 'api_key_revoked_ack';
/**
 * Sent (payload: `clock:<nonce>`) with every change of the shared test clock (ALLOW_TEST_CLOCK=true):
 * each listener takes the new clock (`onClockChanged`) and then acknowledges on ACK_CHANNEL with the
 * same payload, so the change answers only once every instance uses it (docs/decisions.md, "Several instances").
 */
export const CLOCK_CHANNEL = 'service_clock_changed';
/** Listener connections take this name only after LISTEN succeeded, so a revoker can find them. */
export const LISTENER_APPLICATION_NAME = 'premium-billing-key-listener';

export interface ApiKeyCacheOptions {
  /** Most entries kept (least recently used dropped first). */
  maxEntries?: number;
  /** An entry is trusted at most this long after its database read (backstop for SQL without NOTIFY). */
  maxAgeMs?: number;
  /** How often the listener proves its connection with a round trip. */
  heartbeatMs?: number;
  /** How long a revocation waits for every other listener's acknowledgement before it returns anyway. */
  ackTimeoutMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

export type CacheLookup = 'hit' | 'miss' | 'bypass';

const DEFAULTS: Required<ApiKeyCacheOptions> = {
  maxEntries: 10_000,
  maxAgeMs: 60_000,
  heartbeatMs: 5_000,
  ackTimeoutMs: 2_000,
  reconnectMinMs: 250,
  reconnectMaxMs: 10_000,
};

const now = () => performance.now();

/**
 * Secret hash -> principal, least recently used first out. Trusted only while its lease runs (the
 * listener renews it after every confirmed round trip). Every eviction bumps a generation, and a
 * database read may only be remembered if no eviction happened since it started (`begin`), so a
 * read that raced a revocation is never stored after the revocation's eviction.
 */
export class PrincipalCache {
  private readonly entries = new Map<string, { principal: Principal; expiresAt: number }>();
  private generation = 0;
  private leaseUntil = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
  ) {}

  get active(): boolean {
    return now() < this.leaseUntil;
  }

  get size(): number {
    return this.entries.size;
  }

  get(hash: string): Principal | undefined {
    if (!this.active) return undefined;
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    this.entries.delete(hash);
    if (entry.expiresAt <= now()) return undefined;
    this.entries.set(hash, entry); // most recently used goes last
    return { ...entry.principal };
  }

  /** Call before the database read; pass the token to `remember`. Null: do not cache. */
  begin(): number | null {
    return this.active ? this.generation : null;
  }

  remember(hash: string, principal: Principal, token: number | null): void {
    if (token === null || token !== this.generation || !this.active) return;
    this.entries.delete(hash);
    this.entries.set(hash, { principal: { ...principal }, expiresAt: now() + this.maxAgeMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  /** Drops every entry of the key (a key id may have had more than one secret, see ensureOpsKey). */
  evictKey(keyId: string): void {
    this.generation++;
    for (const [hash, entry] of this.entries) {
      if (entry.principal.keyId === keyId) this.entries.delete(hash);
    }
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
  }

  /** Starts trusting an empty cache until `until` (a performance.now() instant). */
  activate(until: number): void {
    this.clear();
    this.leaseUntil = until;
  }

  extendLease(until: number): void {
    if (this.leaseUntil > 0) this.leaseUntil = Math.max(this.leaseUntil, until);
  }

  deactivate(): void {
    this.leaseUntil = 0;
    this.clear();
  }
}

interface AckWaiter {
  keyId: string;
  acks: Set<number>;
  changed: () => void;
}

/** A revocation in progress: created before its transaction so no acknowledgement is missed. */
export interface RevocationPropagation {
  /** After commit: evicts locally, then waits (bounded) until every listening instance has evicted. */
  settle(): Promise<void>;
  dispose(): void;
}

/**
 * The per-process API-key cache and its invalidation listener: one dedicated connection (not from
 * the pool) that LISTENs for revocations. The cache is used only while that connection is known to
 * be listening; on any doubt it is emptied and bypassed until LISTEN succeeds again.
 */
export class ApiKeyCache {
  readonly principals: PrincipalCache;
  /** Hook for metrics. */
  onLookup: ((result: CacheLookup) => void) | undefined;
  /**
   * Takes the shared test clock from the database: on each CLOCK_CHANNEL notification (acknowledged
   * once it resolves) and each time the listener starts listening (changes may have been missed).
   */
  onClockChanged: (() => Promise<void>) | undefined;
  private readonly options: Required<ApiKeyCacheOptions>;
  private client: pg.Client | null = null;
  private backendPid: number | null = null;
  private closed = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly waiters = new Set<AckWaiter>();

  constructor(
    private readonly connection: pg.ClientConfig,
    private readonly logger: Pick<Logger, 'info' | 'warn'>,
    options: ApiKeyCacheOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.principals = new PrincipalCache(this.options.maxEntries, this.options.maxAgeMs);
  }

  /** True while the listener is connected, listening and its lease is current. */
  get usable(): boolean {
    return this.principals.active;
  }

  /** The listener's backend pid while it is listening (null otherwise). */
  get listenerPid(): number | null {
    return this.backendPid;
  }

  lookup(hash: string): { principal: Principal | undefined; token: number | null } {
    if (!this.principals.active) {
      this.onLookup?.('bypass');
      return { principal: undefined, token: null };
    }
    const principal = this.principals.get(hash);
    this.onLookup?.(principal ? 'hit' : 'miss');
    return { principal, token: principal ? null : this.principals.begin() };
  }

  /** Connects the listener; resolves after the first attempt, whatever its outcome (it retries alone). */
  async start(): Promise<void> {
    await this.connect();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    const client = this.client;
    this.client = null;
    this.backendPid = null;
    this.principals.deactivate();
    for (const w of this.waiters) w.changed();
    // end() destroys the socket itself when a query is stuck, so this cannot hang on a dead connection.
    if (client) await client.end().catch(() => {});
  }

  expectRevocation(keyId: string): RevocationPropagation {
    const waiter: AckWaiter = { keyId, acks: new Set(), changed: () => {} };
    this.waiters.add(waiter);
    return {
      settle: () => this.settle(waiter),
      dispose: () => {
        this.waiters.delete(waiter);
      },
    };
  }

  private async settle(waiter: AckWaiter): Promise<void> {
    this.principals.evictKey(waiter.keyId);
    const client = this.client;
    if (!client || this.backendPid === null) {
      // Our own listener is down, so acknowledgements cannot be heard: the other instances evict
      // when their listener delivers the notification, milliseconds after the commit.
      this.logger.warn({ keyId: waiter.keyId }, 'api-key revocation not confirmed: listener down');
      return;
    }
    let pids: number[];
    try {
      const r = await client.query<{ pid: number }>(
        'select pid from pg_stat_activity where datname = current_database() and application_name = $1',
        [LISTENER_APPLICATION_NAME],
      );
      pids = r.rows.map((row) => Number(row.pid));
    } catch {
      return; // the listener just failed: this instance bypasses its cache; others got the notification
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        const missing = pids.filter((pid) => !waiter.acks.has(pid));
        this.logger.warn({ keyId: waiter.keyId, missing }, 'api-key revocation not acknowledged by every listener');
        resolve();
      }, this.options.ackTimeoutMs);
      waiter.changed = () => {
        // Stop waiting if our listener went down: acknowledgements can no longer be heard.
        if (this.backendPid === null || pids.every((pid) => waiter.acks.has(pid))) {
          clearTimeout(timer);
          resolve();
        }
      };
      waiter.changed();
    });
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({
      ...this.connection,
      application_name: `${LISTENER_APPLICATION_NAME}:connecting`,
      keepAlive: true,
      connectionTimeoutMillis: 5_000,
    });
    this.client = client;
    // Never an uncaught 'error': every failure of this connection only turns the cache off.
    client.on('error', (err) => this.down(client, err));
    client.on('end', () => this.down(client, new Error('listener connection ended')));
    client.on('notification', (msg) => this.onNotification(client, msg));
    try {
      await client.connect();
      const started = now();
      await client.query(`LISTEN ${REVOKED_CHANNEL}; LISTEN ${ACK_CHANNEL}; LISTEN ${CLOCK_CHANNEL}`);
      // Listening first, then reading: a clock change committed meanwhile is heard as well.
      await this.onClockChanged?.();
      // Named only now, so revokers wait for acknowledgements from listening connections only.
      const r = await client.query<{ pid: number }>('select pg_backend_pid() as pid, set_config($1, $2, false)', [
        'application_name',
        LISTENER_APPLICATION_NAME,
      ]);
      if (this.client !== client) return; // closed or failed meanwhile
      this.backendPid = Number(r.rows[0]?.pid);
      this.attempt = 0;
      // Anything cached before (or read while we were not listening) may have missed a revocation.
      this.principals.activate(started + 3 * this.options.heartbeatMs);
      this.startHeartbeat(client);
      this.logger.info({ pid: this.backendPid }, 'api-key cache listening for revocations');
    } catch (err) {
      this.down(client, err as Error);
    }
  }

  private onNotification(client: pg.Client, msg: pg.Notification): void {
    if (this.client !== client || !msg.payload) return;
    if (msg.channel === CLOCK_CHANNEL) {
      const payload = msg.payload;
      Promise.resolve(this.onClockChanged?.())
        .then(() => client.query('select pg_notify($1, $2)', [ACK_CHANNEL, payload]))
        .catch(() => {});
    } else if (msg.channel === REVOKED_CHANNEL) {
      this.principals.evictKey(msg.payload);
      client.query('select pg_notify($1, $2)', [ACK_CHANNEL, msg.payload]).catch(() => {});
    } else if (msg.channel === ACK_CHANNEL) {
      for (const w of this.waiters) {
        if (w.keyId === msg.payload) {
          w.acks.add(msg.processId);
          w.changed();
        }
      }
    }
  }

  private startHeartbeat(client: pg.Client): void {
    clearInterval(this.heartbeatTimer);
    let inFlightSince: number | null = null;
    this.heartbeatTimer = setInterval(() => {
      if (this.client !== client) return;
      if (inFlightSince !== null) {
        if (now() - inFlightSince > 2 * this.options.heartbeatMs) {
          this.down(client, new Error('listener heartbeat timed out'));
        }
        return;
      }
      const started = now();
      inFlightSince = started;
      // Notifications committed before this query started arrive before its answer, so a
      // successful round trip proves the cache has heard every revocation up to `started`.
      client.query('select 1').then(
        () => {
          inFlightSince = null;
          if (this.client === client) this.principals.extendLease(started + 3 * this.options.heartbeatMs);
        },
        (err: Error) => this.down(client, err),
      );
    }, this.options.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  private down(client: pg.Client, err: Error & { code?: string }): void {
    if (this.client !== client) return;
    this.client = null;
    this.backendPid = null;
    clearInterval(this.heartbeatTimer);
    this.principals.deactivate();
    for (const w of this.waiters) w.changed();
    client.end().catch(() => {});
    if (this.closed) return;
    const delay = Math.min(this.options.reconnectMaxMs, this.options.reconnectMinMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 16);
    this.logger.warn(
      { err: { message: err.message, code: err.code }, retryInMs: delay },
      'api-key cache off: revocation listener lost',
    );
    this.reconnectTimer = setTimeout(() => void this.connect(), delay * (0.5 + Math.random() / 2));
    this.reconnectTimer.unref();
  }
}
