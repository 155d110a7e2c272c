import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';

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
  /**
   * Proxies whose X-Forwarded-For is believed when finding the client address: false (none, the
   * default), the proxies' addresses/CIDRs (or proxy-addr's names loopback, linklocal, uniquelocal),
   * or a hop count.
   */
  trustProxy: false | number | string[];
  /** Cache API-key lookups in memory, invalidated by LISTEN/NOTIFY (docs/decisions.md, "API-key cache"). */
  apiKeyCache: boolean;
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
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 30_000, 1_000, 600_000),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 65_536, 1_024, 10_485_760),
    databasePoolSize: int(env, 'DATABASE_POOL_SIZE', 10, 1, 200),
    rateLimitPerMinute: int(env, 'RATE_LIMIT_PER_MINUTE', 6000, 1, 10_000_000),
    authFailuresPerMinute: int(env, 'AUTH_FAILURES_PER_MINUTE', 30, 1, 1_000_000),
    trustProxy: trustProxy(env),
    apiKeyCache: onOff(env, 'API_KEY_CACHE', true),
  };
}
