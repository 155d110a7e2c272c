import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import closeWithGrace from 'close-with-grace';
import { buildApp, LOG_SERIALIZERS, REDACT_PATHS } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { ServiceClock } from './infra/clock.js';
import { createDatabase } from './infra/db.js';
import type { EmbeddedDatabase } from './infra/embedded.js';
import { createLogger } from './infra/logger.js';
import { migrateToLatest } from './infra/migrate.js';
import { ApiKeyStore, newSecret } from './store/apiKeys.js';
import { KeyMismatchError, verifyInstanceKeys } from './store/keyChecks.js';

let embedded: EmbeddedDatabase | undefined;

/** Every instance of one database must hold the same keys: refuse to start with another one (exit 2). */
async function refuseOtherKeys(
  config: ReturnType<typeof loadConfig>,
  database: ReturnType<typeof createDatabase>,
  logger: Awaited<ReturnType<typeof createLogger>>,
): Promise<void> {
  try {
    await verifyInstanceKeys(database.db, {
      dataEncryptionKeys: config.dataEncryptionKeys,
      idempotencyHmacKey: config.idempotencyHmacKey,
    });
  } catch (err) {
    if (!(err instanceof KeyMismatchError)) throw err;
    logger.fatal({ mismatches: err.mismatches.map((m) => ({ setting: m.setting, keyId: m.keyId })) }, err.message);
    await database.close();
    await embedded?.stop();
    process.exit(2);
  }
}

async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = await createLogger(
    { level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, serializers: LOG_SERIALIZERS },
    config.logFormat,
  );

  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    logger.info({ dataDir: path.join(config.dataDir, 'pg') }, 'DATABASE_URL unset: starting embedded PostgreSQL');
    // Imported only here: production images do not ship the embedded binaries.
    const { localBillingDatabase } = await import('./infra/embedded.js');
    const local = await localBillingDatabase(config.dataDir, { callerHandlesSignals: true });
    embedded = local.embedded;
    databaseUrl = local.url;
  }

  const database = createDatabase(databaseUrl, logger, config.databasePoolSize, config.databaseLimits);
  // Migrations need a session of their own (not a transaction-mode pooler): MIGRATION_DATABASE_URL.
  const migrationDatabase = config.migrationDatabaseUrl
    ? createDatabase(config.migrationDatabaseUrl, logger, 1, config.databaseLimits)
    : database;
  const migrated = await migrateToLatest(migrationDatabase.db, {
    lockTimeoutMs: config.migrationLockTimeoutMs,
  }).finally(() => (migrationDatabase === database ? undefined : migrationDatabase.close()));
  logger.info({ applied: migrated.results?.map((r) => r.migrationName) ?? [] }, 'migrations current');

  await refuseOtherKeys(config, database, logger);

  const apiKeys = new ApiKeyStore(database.db);
  // A revoked key is never brought back by a restart: say so (id only, never the secret) and carry on.
  const ensureOpsKey = async (id: string, name: string, secret: string, source: string): Promise<boolean> => {
    if ((await apiKeys.ensureOpsKey(id, name, secret)) === 'active') return true;
    logger.warn(
      { keyId: id, source },
      `${source} names an ops key that was revoked; it stays revoked (create a new ops key with POST /v1/api-keys)`,
    );
    return false;
  };
  if (config.bootstrapOpsKey)
    await ensureOpsKey('key_bootstrap_ops', 'bootstrap ops key', config.bootstrapOpsKey, 'BOOTSTRAP_OPS_KEY');
  let localOpsKey: string | undefined;
  if (embedded) {
    // A local ops key, kept beside the embedded data so a second start prints the same one.
    const file = path.join(config.dataDir, 'local-ops-key');
    if (existsSync(file)) localOpsKey = readFileSync(file, 'utf8').trim();
    else {
      localOpsKey = newSecret();
      mkdirSync(config.dataDir, { recursive: true });
      writeFileSync(file, `${localOpsKey}\n`, { mode: 0o600 });
    }
    if (!(await ensureOpsKey('key_local_ops', 'local ops key', localOpsKey, 'the local ops key file')))
      localOpsKey = undefined;
  }

  // Reports that may be a little stale read from a streaming replica when one is named (docs/decisions.md).
  const replica = config.databaseReplicaUrl
    ? createDatabase(config.databaseReplicaUrl, logger, config.databaseReplicaPoolSize, config.databaseLimits)
    : undefined;
  const app = await buildApp({ config, database, replica, clock: new ServiceClock(), logger });
  const address = await app.listen({ port: config.port, host: config.host });

  closeWithGrace({ delay: 15_000 }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'shutting down after an error');
    else logger.info({ signal }, 'shutting down');
    await app.close();
    await database.close();
    await replica?.close();
    if (embedded) await embedded.stop();
  });

  const base = address.replace('0.0.0.0', 'localhost').replace('127.0.0.1', 'localhost');
  process.stdout.write(`\nPremium billing is listening on ${base}\n  API docs: ${base}/docs\n`);
  if (localOpsKey) {
    process.stdout.write(
      `  Local ops key (embedded database only): ${localOpsKey}\n  Try: curl -H "Authorization: Bearer ${localOpsKey}" "${base}/v1/payment-deadlines?year=2021"\n\n`,
    );
  }
}

main().catch(async (err) => {
  process.stderr.write(`startup failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  await embedded?.stop().catch(() => {});
  process.exit(1);
});
