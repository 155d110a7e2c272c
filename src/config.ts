import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import type { DatabaseLimits } from './infra/db.js';
import { LOG_FORMATS, type LogFormat } from './infra/logger.js';

export interface Config {
  nodeEnv: string;
  databaseUrl: string | undefined;
  port: number;
  host: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `auto`: pretty at a terminal, JSON lines otherwise. */
  logFormat: LogFormat;
  bootstrapOpsKey: string | undefined;
  allowTestClock: boolean;
  // --- Encryption keys (docs/decisions.md, "Encryption keys and rotation") ---
  /** AES-256 keys for sensitive columns, with their ids; the first encrypts, every one decrypts. */
  dataEncryptionKeys: { id: string; key: Buffer }[];
  /** Keys the idempotency fingerprint (an HMAC of the request); independent of the data keys. */
  idempotencyHmacKey: Buffer;
  /** Fingerprints stored by releases that derived the HMAC key from a data key still match. */
  idempotencyLegacyHmacKeys: Buffer[];
  // --- end of encryption keys ---
  dataDir: string;
  deadlineSweepIntervalMs: number;
  requestTimeoutMs: number;
  bodyLimitBytes: number;
  databasePoolSize: number;
  /** Requests per minute per API key (per client address for calls without a key). */
  rateLimitPerMinute: number;
  /**
   * Where rate-limit windows are counted: `database` (shared by every instance, leased a few requests
   * at a time) or `memory` (per process). Docs/decisions.md, "Several instances".
   */
  rateLimitStore: 'database' | 'memory';
  /** Failed authentications per minute per client address before 429. */
  authFailuresPerMinute: number;
  /**
   * Proxies whose X-Forwarded-For is believed when finding the client address: false (none, the
   * default), the proxies' addresses/CIDRs (or proxy-addr's names loopback, linklocal, uniquelocal),
   * or a hop count.
   */
  trustProxy: false | number | string[];
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
  // --- Several instances (docs/decisions.md, "Several instances") ---
  /** A direct connection (a session) for the API-key cache's LISTEN: not a transaction-mode pooler. */
  databaseListenUrl: string | undefined;
  /** A streaming replica for the reads that may be a little stale (the overdue-confirmations report). */
  databaseReplicaUrl: string | undefined;
  /** Connections of the replica pool, per process. */
  databaseReplicaPoolSize: number;
  // --- end of several instances ---
  /** R35: who sends ACH files and to whom (docs/decisions.md, "ACH files"). */
  ach: AchConfig;
}

/** R35: the Nacha file header and batch identifiers (ACH_* variables). */
export interface AchConfig {
  /** The ODFI's 9-digit routing number (valid ABA check digit); its first 8 digits start every trace number. */
  immediateDestination: string;
  immediateDestinationName: string;
  /** 10 characters (a 9-digit routing number is given a leading space). */
  immediateOrigin: string;
  immediateOriginName: string;
  companyId: string;
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

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** TRUST_PROXY: unset/false, a hop count, or comma-separated addresses, CIDRs and proxy-addr names. */
function trustProxy(env: NodeJS.ProcessEnv): false | number | string[] {
  const raw = env.TRUST_PROXY?.trim();
  if (raw === undefined || raw === '' || raw === 'false' || raw === '0') return false;
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops > 32) throw new ConfigError('TRUST_PROXY', `hop count must be between 0 and 32, got ${hops}`);
    return hops;
  }
  const entries = raw.split(',').map((e) => e.trim());
  for (const entry of entries) {
    if (PROXY_NAMES.includes(entry)) continue;
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || !prefixOk || rest.length > 0) {
      throw new ConfigError(
        'TRUST_PROXY',
        `must be false, a hop count, or comma-separated proxy addresses/CIDRs (or ${PROXY_NAMES.join(', ')}); got "${entry}"`,
      );
    }
  }
  return entries;
}

// --- Encryption keys (docs/decisions.md, "Encryption keys and rotation") ---
type DataKey = { id: string; key: Buffer };

/** `<keyId>:<base64 of 32 bytes>[,<keyId>:<base64>...]`; a bare base64 key is id "k1" (the old single form). */
function parseDataKeys(variable: string, raw: string): DataKey[] {
  const keys = raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const [id, b64] = part.includes(':') ? (part.split(':', 2) as [string, string]) : ['k1', part];
      const key = Buffer.from(b64, 'base64');
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id) || key.length !== 32) {
        throw new ConfigError(variable, 'must be "<keyId>:<base64 of 32 bytes>", comma-separated, current key first');
      }
      return { id, key };
    });
  if (keys.length === 0) throw new ConfigError(variable, 'names no key');
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new ConfigError(variable, 'repeats a key id');
  return keys;
}

/** A secret kept in a file under the data directory, made on first use (local runs only). */
function localSecret(dataDir: string, file: string, make: () => string): string {
  const full = path.join(dataDir, file);
  if (existsSync(full)) return readFileSync(full, 'utf8').trim();
  const value = make();
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(full, `${value}\n`, { mode: 0o600 });
  return value;
}

/**
 * DATA_ENCRYPTION_KEYS (a list, current first) or DATA_ENCRYPTION_KEY (one key, as before). Outside
 * production a missing key is generated once and kept under the data directory (that file may hold
 * a list too).
 */
function dataEncryptionKeys(env: NodeJS.ProcessEnv, nodeEnv: string, dataDir: string): DataKey[] {
  const list = env.DATA_ENCRYPTION_KEYS || undefined;
  const single = env.DATA_ENCRYPTION_KEY || undefined;
  if (list && single) throw new ConfigError('DATA_ENCRYPTION_KEYS', 'and DATA_ENCRYPTION_KEY: set one, not both');
  if (list) return parseDataKeys('DATA_ENCRYPTION_KEYS', list);
  if (single) return parseDataKeys('DATA_ENCRYPTION_KEY', single);
  if (nodeEnv === 'production') {
    throw new ConfigError('DATA_ENCRYPTION_KEYS', '(or DATA_ENCRYPTION_KEY) is required when NODE_ENV=production');
  }
  const raw = localSecret(dataDir, 'data-encryption.key', () => `local1:${randomBytes(32).toString('base64')}`);
  return parseDataKeys('DATA_ENCRYPTION_KEYS', raw);
}

/** IDEMPOTENCY_HMAC_KEY: base64 of at least 32 random bytes; generated locally like the data key. */
function idempotencyHmacKey(env: NodeJS.ProcessEnv, nodeEnv: string, dataDir: string): Buffer {
  let raw = env.IDEMPOTENCY_HMAC_KEY || undefined;
  if (!raw) {
    if (nodeEnv === 'production') throw new ConfigError('IDEMPOTENCY_HMAC_KEY', 'is required when NODE_ENV=production');
    raw = localSecret(dataDir, 'idempotency-hmac.key', () => randomBytes(32).toString('base64'));
  }
  const key = Buffer.from(raw, 'base64');
  if (key.length < 32) throw new ConfigError('IDEMPOTENCY_HMAC_KEY', 'must be base64 of at least 32 bytes');
  return key;
}

/** How releases before issue 11 keyed the fingerprint: from the data key. Kept only to compare. */
function legacyHmacKeys(keys: DataKey[]): Buffer[] {
  return keys.map((k) => createHmac('sha256', k.key).update('idempotency-fingerprint').digest());
}
// --- end of encryption keys ---

// --- Database time limits (docs/decisions.md, "Database time limits") ---
/**
 * Defaults fit the 30 s request timeout: a lock wait gives up at 5 s, a statement at 15 s (each at
 * most half a shorter request timeout).
 */
function databaseLimits(env: NodeJS.ProcessEnv, requestTimeoutMs: number): DatabaseLimits {
  const half = Math.floor(requestTimeoutMs / 2);
  const statementTimeoutMs = int(env, 'DATABASE_STATEMENT_TIMEOUT_MS', Math.min(15_000, half), 0, 3_600_000);
  const lockTimeoutMs = int(env, 'DATABASE_LOCK_TIMEOUT_MS', Math.min(5_000, half), 0, 3_600_000);
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

// --- ACH files (docs/decisions.md, "ACH files") ---
const abaValid = (r: string) =>
  /^\d{9}$/.test(r) && [...r].reduce((sum, d, i) => sum + Number(d) * ([3, 7, 1][i % 3] as number), 0) % 10 === 0;

/** Development and test defaults: a test ODFI; production must name its own (refused without them). */
const ACH_DEFAULTS = {
  ACH_IMMEDIATE_DESTINATION: '011000015',
  ACH_IMMEDIATE_DESTINATION_NAME: 'TEST ODFI',
  ACH_IMMEDIATE_ORIGIN: '1000000000',
  ACH_IMMEDIATE_ORIGIN_NAME: 'HEALTH CONNECTOR',
  ACH_COMPANY_ID: '1000000000',
} as const;

function achConfig(env: NodeJS.ProcessEnv, nodeEnv: string): AchConfig {
  const value = (name: keyof typeof ACH_DEFAULTS) => {
    const raw = env[name]?.trim();
    if (raw) return raw;
    if (nodeEnv === 'production') throw new ConfigError(name, 'is required when NODE_ENV=production');
    return ACH_DEFAULTS[name];
  };
  const destination = value('ACH_IMMEDIATE_DESTINATION');
  if (!abaValid(destination)) {
    throw new ConfigError('ACH_IMMEDIATE_DESTINATION', 'must be a 9-digit routing number with a valid check digit');
  }
  const origin = value('ACH_IMMEDIATE_ORIGIN');
  if (!/^\d{9,10}$/.test(origin)) throw new ConfigError('ACH_IMMEDIATE_ORIGIN', 'must be 9 or 10 digits');
  const companyId = value('ACH_COMPANY_ID');
  if (!/^[A-Z0-9]{10}$/.test(companyId)) {
    throw new ConfigError('ACH_COMPANY_ID', 'must be 10 upper-case letters or digits');
  }
  const name = (variable: 'ACH_IMMEDIATE_DESTINATION_NAME' | 'ACH_IMMEDIATE_ORIGIN_NAME') => {
    const text = value(variable);
    if (!/^[A-Za-z0-9 .,'&/-]{1,23}$/.test(text)) {
      throw new ConfigError(variable, "must be 1 to 23 letters, digits, spaces or .,'&/-");
    }
    return text;
  };
  return {
    immediateDestination: destination,
    immediateDestinationName: name('ACH_IMMEDIATE_DESTINATION_NAME'),
    immediateOrigin: origin.padStart(10, ' '),
    immediateOriginName: name('ACH_IMMEDIATE_ORIGIN_NAME'),
    companyId,
  };
}
// --- end of ACH files ---

// --- Migrations (docs/decisions.md, "Migrations during a deploy") ---
function migrationDatabaseUrl(env: NodeJS.ProcessEnv, databaseUrl: string | undefined): string | undefined {
  return extraDatabaseUrl(env, 'MIGRATION_DATABASE_URL', databaseUrl);
}
// --- end of migrations ---

/** Another postgres:// URL beside DATABASE_URL (listener, replica). */
function extraDatabaseUrl(env: NodeJS.ProcessEnv, name: string, databaseUrl: string | undefined): string | undefined {
  const url = env[name] || undefined;
  if (url && !/^postgres(ql)?:\/\//.test(url))
    throw new ConfigError(name, 'must be a postgres:// or postgresql:// URL');
  if (url && !databaseUrl) throw new ConfigError(name, 'needs DATABASE_URL as well');
  return url;
}

function rateLimitStore(env: NodeJS.ProcessEnv): 'database' | 'memory' {
  const raw = env.RATE_LIMIT_STORE || 'database';
  if (raw !== 'database' && raw !== 'memory') {
    throw new ConfigError('RATE_LIMIT_STORE', `must be database or memory, got "${raw}"`);
  }
  return raw;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const nodeEnv = env.NODE_ENV ?? 'development';
  const dataDir = path.resolve(env.DATA_DIR ?? '.data');
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const logFormat = env.LOG_FORMAT || 'auto';
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    throw new ConfigError('LOG_FORMAT', `must be one of ${LOG_FORMATS.join(', ')}, got "${logFormat}"`);
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
  const dataKeys = dataEncryptionKeys(env, nodeEnv, dataDir);
  return {
    nodeEnv,
    databaseUrl,
    port: int(env, 'PORT', 3000, 0, 65535),
    host: env.HOST || '127.0.0.1',
    logLevel: logLevel as Config['logLevel'],
    logFormat: logFormat as LogFormat,
    bootstrapOpsKey,
    allowTestClock,
    // --- Encryption keys ---
    dataEncryptionKeys: dataKeys,
    idempotencyHmacKey: idempotencyHmacKey(env, nodeEnv, dataDir),
    idempotencyLegacyHmacKeys: legacyHmacKeys(dataKeys),
    dataDir,
    deadlineSweepIntervalMs: int(env, 'DEADLINE_SWEEP_INTERVAL_MS', 60_000, 0, 86_400_000),
    requestTimeoutMs,
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 65_536, 1_024, 10_485_760),
    databasePoolSize: int(env, 'DATABASE_POOL_SIZE', 10, 1, 200),
    rateLimitPerMinute: int(env, 'RATE_LIMIT_PER_MINUTE', 6000, 1, 10_000_000),
    rateLimitStore: rateLimitStore(env),
    authFailuresPerMinute: int(env, 'AUTH_FAILURES_PER_MINUTE', 30, 1, 1_000_000),
    trustProxy: trustProxy(env),
    apiKeyCache: onOff(env, 'API_KEY_CACHE', true),
    databaseLimits: databaseLimits(env, requestTimeoutMs),
    // --- Migrations ---
    migrationDatabaseUrl: migrationDatabaseUrl(env, databaseUrl),
    migrationLockTimeoutMs: int(env, 'MIGRATION_LOCK_TIMEOUT_MS', 3_000, 100, 60_000),
    // --- Several instances ---
    databaseListenUrl: extraDatabaseUrl(env, 'DATABASE_LISTEN_URL', databaseUrl),
    databaseReplicaUrl: extraDatabaseUrl(env, 'DATABASE_REPLICA_URL', databaseUrl),
    databaseReplicaPoolSize: int(env, 'DATABASE_REPLICA_POOL_SIZE', 5, 1, 200),
    ach: achConfig(env, nodeEnv),
  };
}
