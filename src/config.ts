import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DatabaseLimits } from './store/db.js';

export interface Config {
  nodeEnv: string;
  databaseUrl: string | undefined;
  port: number;
  host: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  bootstrapOpsKey: string | undefined;
  allowTestClock: boolean;
  /** 32-byte AES-256 key for encrypting bank account numbers, with its id (for rotation). */
  dataEncryptionKey: { id: string; key: Buffer };
  dataDir: string;
  deadlineSweepIntervalMs: number;
  requestTimeoutMs: number;
  bodyLimitBytes: number;
  databasePoolSize: number;
  /** Requests per minute per API key (per client address for calls without a key). */
  rateLimitPerMinute: number;
  /** Failed authentications per minute per client address before 429. */
  authFailuresPerMinute: number;
  /** Cache API-key lookups in memory, invalidated by LISTEN/NOTIFY (docs/decisions.md, "API-key cache"). */
  apiKeyCache: boolean;
  // --- Database time limits (docs/decisions.md, "Database time limits") ---
  databaseLimits: DatabaseLimits;
  // --- end of database time limits ---
  // --- Migrations (docs/decisions.md, "Migrations during a deploy") ---
  /** Migrations need a session (advisory lock, CREATE INDEX CONCURRENTLY): not a transaction-mode pooler. */
  migrationDatabaseUrl: string | undefined;
  /** Longest wait of a migration for any lock; then it fails and the next start retries it. */
  migrationLockTimeoutMs: number;
  // --- end of migrations ---
}

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function onOff(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['on', 'true', '1'].includes(raw)) return true;
  if (['off', 'false', '0'].includes(raw)) return false;
  throw new ConfigError(name, `must be on or off, got "${raw}"`);
}

/**
 * DATA_ENCRYPTION_KEY is `<keyId>:<base64 32 bytes>` or just base64 (key id "k1").
 * Outside production a missing key is generated once and kept under the data directory.
 */
function encryptionKey(env: NodeJS.ProcessEnv, nodeEnv: string, dataDir: string): { id: string; key: Buffer } {
  let raw = env.DATA_ENCRYPTION_KEY;
  if (!raw) {
    if (nodeEnv === 'production') throw new ConfigError('DATA_ENCRYPTION_KEY', 'is required when NODE_ENV=production');
    const file = path.join(dataDir, 'data-encryption.key');
    if (existsSync(file)) {
      raw = readFileSync(file, 'utf8').trim();
    } else {
      raw = `local1:${randomBytes(32).toString('base64')}`;
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(file, `${raw}\n`, { mode: 0o600 });
    }
  }
  const [id, b64] = raw.includes(':') ? (raw.split(':', 2) as [string, string]) : ['k1', raw];
  const key = Buffer.from(b64, 'base64');
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(id) || key.length !== 32) {
    throw new ConfigError('DATA_ENCRYPTION_KEY', 'must be "<keyId>:<base64 of 32 bytes>"');
  }
  return { id, key };
}

// --- Database time limits (docs/decisions.md, "Database time limits") ---
/** Defaults fit the 30 s request timeout: a lock wait gives up at 5 s, a statement at 15 s. */
function databaseLimits(env: NodeJS.ProcessEnv, requestTimeoutMs: number): DatabaseLimits {
  const statementTimeoutMs = int(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 15_000, 0, 3_600_000);
  const lockTimeoutMs = int(env, 'DATABASE_LOCK_TIMEOUT_MS', 5_000, 0, 3_600_000);
  const limits: DatabaseLimits = {
    lockTimeoutMs,
    statementTimeoutMs,
    idleInTransactionTimeoutMs: int(env, 'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS', 10_000, 0, 3_600_000),
    // After the server's own limit, so that one normally fires first and the connection stays usable.
    queryTimeoutMs: int(
      env,
      'DATABASE_QUERY_TIMEOUT_MS',
      statementTimeoutMs > 0 ? statementTimeoutMs + 5_000 : 0,
      0,
      3_600_000,
    ),
    startupParameters: onOff(env, 'DATABASE_STARTUP_PARAMETERS', true),
  };
  if (lockTimeoutMs === 0 || lockTimeoutMs >= requestTimeoutMs) {
    throw new ConfigError(
      'DATABASE_LOCK_TIMEOUT_MS',
      `must be above 0 and below REQUEST_TIMEOUT_MS (${requestTimeoutMs})`,
    );
  }
  return limits;
}
// --- end of database time limits ---

// --- Migrations (docs/decisions.md, "Migrations during a deploy") ---
function migrationDatabaseUrl(env: NodeJS.ProcessEnv, databaseUrl: string | undefined): string | undefined {
  const url = env.MIGRATION_DATABASE_URL || undefined;
  if (url && !/^postgres(ql)?:\/\//.test(url)) {
    throw new ConfigError('MIGRATION_DATABASE_URL', 'must be a postgres:// or postgresql:// URL');
  }
  if (url && !databaseUrl) throw new ConfigError('MIGRATION_DATABASE_URL', 'needs DATABASE_URL as well');
  return url;
}
// --- end of migrations ---

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const nodeEnv = env.NODE_ENV ?? 'development';
  const dataDir = path.resolve(env.DATA_DIR ?? '.data');
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', 'must be a postgres:// or postgresql:// URL');
  }
  if (!databaseUrl && nodeEnv === 'production') {
    throw new ConfigError('DATABASE_URL', 'is required when NODE_ENV=production');
  }
  const bootstrapOpsKey = env.BOOTSTRAP_OPS_KEY || undefined;
  if (bootstrapOpsKey !== undefined && bootstrapOpsKey.length < 16) {
    throw new ConfigError('BOOTSTRAP_OPS_KEY', 'must be at least 16 characters');
  }
  const allowTestClock = bool(env, 'ALLOW_TEST_CLOCK');
  if (allowTestClock && nodeEnv === 'production') {
    throw new ConfigError('ALLOW_TEST_CLOCK', 'must not be true when NODE_ENV=production');
  }
  const requestTimeoutMs = int(env, 'REQUEST_TIMEOUT_MS', 30_000, 1_000, 600_000);
  return {
    nodeEnv,
    databaseUrl,
    port: int(env, 'PORT', 3000, 0, 65535),
    host: env.HOST || '127.0.0.1',
    logLevel: logLevel as Config['logLevel'],
    bootstrapOpsKey,
    allowTestClock,
    dataEncryptionKey: encryptionKey(env, nodeEnv, dataDir),
    dataDir,
    deadlineSweepIntervalMs: int(env, 'DEADLINE_SWEEP_INTERVAL_MS', 60_000, 0, 86_400_000),
    requestTimeoutMs,
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 65_536, 1_024, 10_485_760),
    databasePoolSize: int(env, 'DATABASE_POOL_SIZE', 10, 1, 200),
    rateLimitPerMinute: int(env, 'RATE_LIMIT_PER_MINUTE', 6000, 1, 10_000_000),
    authFailuresPerMinute: int(env, 'AUTH_FAILURES_PER_MINUTE', 30, 1, 1_000_000),
    apiKeyCache: onOff(env, 'API_KEY_CACHE', true),
    databaseLimits: databaseLimits(env, requestTimeoutMs),
    // --- Migrations ---
    migrationDatabaseUrl: migrationDatabaseUrl(env, databaseUrl),
    migrationLockTimeoutMs: int(env, 'MIGRATION_LOCK_TIMEOUT_MS', 3_000, 100, 60_000),
  };
}
