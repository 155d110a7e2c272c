import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresDialect,
  PostgresDriver,
  type TransactionSettings,
} from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { DB } from '../store/schema.js';

// int8 (bigint) columns hold cents and sequence numbers. Parse them to numbers deliberately and
// refuse silently losing precision: a value beyond 2^53 is a bug, not a rounding.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value out of safe range: ${value}`);
  return n;
});
// Calendar dates stay strings (YYYY-MM-DD): a JS Date would shift them by the local zone.
pg.types.setTypeParser(pg.types.builtins.DATE, (value: string) => value);

export interface Database {
  pool: pg.Pool;
  db: Kysely<DB>;
  close(): Promise<void>;
}

/**
 * Time limits of every pooled connection (docs/decisions.md, "Database time limits"). All in
 * milliseconds; 0 turns one off.
 */
export interface DatabaseLimits {
  /** Longest wait for a lock (PostgreSQL `lock_timeout`; 55P03). */
  lockTimeoutMs: number;
  /** Longest statement (PostgreSQL `statement_timeout`; 57014). */
  statementTimeoutMs: number;
  /** Longest pause inside a transaction before the server ends the session (25P03). */
  idleInTransactionTimeoutMs: number;
  /** Client side: give up on a query the server does not answer (dead network, frozen server). */
  queryTimeoutMs: number;
  /** Also send the three server limits as startup parameters (off behind PgBouncer, which refuses them). */
  startupParameters: boolean;
}

export const DEFAULT_DATABASE_LIMITS: DatabaseLimits = {
  lockTimeoutMs: 5_000,
  statementTimeoutMs: 15_000,
  idleInTransactionTimeoutMs: 10_000,
  queryTimeoutMs: 20_000,
  startupParameters: true,
};

/** The message pg gives a query that outlived `query_timeout`. */
export const CLIENT_QUERY_TIMEOUT_MESSAGE = 'Query read timeout';

/** `set local` for the server limits: valid in every transaction, also through a transaction-mode pooler. */
function setLocalLimits(limits: DatabaseLimits): string {
  return [
    `set local lock_timeout = ${Math.trunc(limits.lockTimeoutMs)}`,
    `set local statement_timeout = ${Math.trunc(limits.statementTimeoutMs)}`,
    `set local idle_in_transaction_session_timeout = ${Math.trunc(limits.idleInTransactionTimeoutMs)}`,
  ].join('; ');
}

/**
 * Kysely's driver, with the limits set in the same round trip as `begin` (a simple-protocol query may
 * hold several statements), so every transaction is bounded whatever the session or pooler did.
 * Callers that need other limits (migrations) `set local` their own after it.
 */
class LimitedPostgresDriver extends PostgresDriver {
  constructor(
    config: ConstructorParameters<typeof PostgresDriver>[0],
    private readonly limits: string,
  ) {
    super(config);
  }

  override async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    if (settings.isolationLevel || settings.accessMode) {
      await super.beginTransaction(connection, settings);
      await connection.executeQuery(CompiledQuery.raw(this.limits));
      return;
    }
    await connection.executeQuery(CompiledQuery.raw(`begin; ${this.limits}`));
  }
}

class LimitedPostgresDialect extends PostgresDialect {
  constructor(
    private readonly pool: pg.Pool,
    private readonly limits: DatabaseLimits,
  ) {
    super({ pool });
  }

  override createDriver(): Driver {
    return new LimitedPostgresDriver({ pool: this.pool }, setLocalLimits(this.limits));
  }
}

export function createDatabase(
  connectionString: string,
  logger: Pick<Logger, 'error' | 'warn'>,
  max = 10,
  limits: DatabaseLimits = DEFAULT_DATABASE_LIMITS,
): Database {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'premium-billing',
    // A peer that vanished (failover, dropped NAT entry) is noticed by TCP instead of never.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    query_timeout: limits.queryTimeoutMs || undefined,
    ...(limits.startupParameters
      ? {
          lock_timeout: limits.lockTimeoutMs,
          statement_timeout: limits.statementTimeoutMs,
          idle_in_transaction_session_timeout: limits.idleInTransactionTimeoutMs,
        }
      : {}),
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener
  // the process would crash. Log only the code and message: pg's `detail` can carry row data.
  pool.on('error', (err: Error & { code?: string }) => {
    const shutdown = err.code === '57P01' || err.code === '57P02' || err.code === '57P03';
    (shutdown ? logger.warn : logger.error).call(
      logger,
      { err: { message: err.message, code: err.code } },
      'idle database client error',
    );
  });
  // A connection killed while a client is checked out emits 'error' on that client, not on the
  // pool: without this listener it would be an uncaught exception. The query in flight still fails
  // with the error, and the pool discards the broken client when it is released.
  const connected = new Map<pg.PoolClient, Promise<void>>();
  pool.on('connect', (client) => {
    connected.set(
      client,
      new Promise((resolve) =>
        client.once('end', () => {
          connected.delete(client);
          resolve();
        }),
      ),
    );
    client.on('error', (err: Error & { code?: string }) => {
      logger.warn({ err: { message: err.message, code: err.code } }, 'database connection lost');
    });
    discardOnClientTimeout(client);
  });
  const db = new Kysely<DB>({ dialect: new LimitedPostgresDialect(pool, limits) });
  return {
    pool,
    db,
    close: async () => {
      await db.destroy();
      // pool.end() resolves once every client has been asked to end, not once its socket has closed:
      // wait for that (bounded), so a database stopped right after (embedded PostgreSQL on Ctrl-C)
      // finds no session still open and no client hears "terminating connection".
      const ended = Promise.all(connected.values());
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    },
  };
}

/**
 * pg answers a query that outlived `query_timeout` with an error but keeps waiting on the socket,
 * so the next user of that connection would queue behind the lost query (or read its answer).
 * Ending the client at once (before Kysely releases it: this handler was attached first) closes the
 * socket, so the server rolls back whatever the session had open (nothing is half-written), and
 * marks the client as ending, so the pool drops it on release instead of handing it out again.
 */
function discardOnClientTimeout(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const result = query(...args);
    if (result instanceof Promise) {
      result.catch((err: Error) => {
        if (err?.message === CLIENT_QUERY_TIMEOUT_MESSAGE) (client as unknown as pg.Client).end().catch(() => {});
      });
    }
    return result;
  };
}
