import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../config.js';
import { createDatabase } from '../infra/db.js';
import { migrateToLatest } from '../infra/migrate.js';

/** `npm run migrate`: bring the database (DATABASE_URL, else the embedded one) to the latest schema. */
const config = loadConfig();
const logger = pino({ level: config.logLevel });
let url = config.migrationDatabaseUrl ?? config.databaseUrl;
let stop: (() => Promise<void>) | undefined;
if (!url) {
  const { ensureDatabase, startEmbeddedPostgres } = await import('../infra/embedded.js');
  const embedded = await startEmbeddedPostgres({
    dataDir: path.join(config.dataDir, 'pg'),
    port: Number(process.env.EMBEDDED_PG_PORT ?? 54329),
  });
  await ensureDatabase(embedded.serverUrl, 'billing');
  url = embedded.urlFor('billing');
  stop = embedded.stop;
}
const database = createDatabase(url, logger, 1, config.databaseLimits);
try {
  const result = await migrateToLatest(database.db, { lockTimeoutMs: config.migrationLockTimeoutMs });
  for (const r of result.results ?? []) logger.info({ migration: r.migrationName, status: r.status }, 'migration');
  logger.info('database schema is current');
} finally {
  await database.close();
  await stop?.();
}
