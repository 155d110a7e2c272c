import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { DB } from './schema.js';

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

export function createDatabase(connectionString: string, logger: Pick<Logger, 'error' | 'warn'>, max = 10): Database {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'premium-billing',
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
  pool.on('connect', (client) => {
    client.on('error', (err: Error & { code?: string }) => {
      logger.warn({ err: { message: err.message, code: err.code } }, 'database connection lost');
    });
  });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    pool,
    db,
    close: async () => {
      await db.destroy();
    },
  };
}
