import pino from 'pino';
import { loadConfig } from '../config.js';
import { migrateToLatest } from '../infra/migrate.js';
import { openToolDatabase } from './toolDatabase.js';

/** `npm run migrate`: bring the database (DATABASE_URL, else the embedded one) to the latest schema. */
const config = loadConfig();
const logger = pino({ level: config.logLevel });
const { database, close } = await openToolDatabase(config, config.migrationDatabaseUrl ?? config.databaseUrl, logger);
try {
  const result = await migrateToLatest(database.db, { lockTimeoutMs: config.migrationLockTimeoutMs });
  for (const r of result.results ?? []) logger.info({ migration: r.migrationName, status: r.status }, 'migration');
  logger.info('database schema is current');
} finally {
  await close();
}
